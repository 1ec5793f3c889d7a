//! Event subscription for the live console.
//!
//! containerd's `Subscribe` does not even return its response headers until
//! the first event arrives, so it cannot sit under the per-call timeout:
//! the stream is unbounded and meant to be polled in its own task.

use chrono::{DateTime, Utc};
use containerd_client::services::v1::events_client::EventsClient;
use containerd_client::services::v1::SubscribeRequest;
use containerd_client::types::Envelope;
use futures::Stream;
use serde::Serialize;

use super::{timestamp, Runtime, RuntimeError, MAX_MESSAGE};

/// One event. `event` is the raw payload: match `type_url` (no leading `/`,
/// e.g. `containerd.events.TaskExit`) and decode `value` with prost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventEnvelope {
    pub namespace: String,
    pub topic: String,
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub event: Option<prost_types::Any>,
}

impl From<Envelope> for EventEnvelope {
    fn from(e: Envelope) -> Self {
        EventEnvelope {
            timestamp: timestamp(e.timestamp.as_ref()),
            namespace: e.namespace,
            topic: e.topic,
            event: e.event,
        }
    }
}

enum State {
    Start(Runtime, Vec<String>),
    Streaming(Runtime, Box<tonic::Streaming<Envelope>>),
    Done,
}

impl Runtime {
    /// Events from all namespaces matching containerd `filters` (e.g.
    /// `topic~="/tasks/"`; empty = everything). Lazy: nothing is sent until
    /// the stream is polled. Ends after the first error.
    pub fn subscribe_events(
        &self,
        filters: Vec<String>,
    ) -> impl Stream<Item = Result<EventEnvelope, RuntimeError>> + Send + 'static {
        futures::stream::unfold(State::Start(self.clone(), filters), |state| async move {
            let (rt, mut stream) = match state {
                State::Done => return None,
                State::Streaming(rt, stream) => (rt, stream),
                State::Start(rt, filters) => {
                    let mut client = EventsClient::new(rt.channel.clone())
                        .max_decoding_message_size(MAX_MESSAGE);
                    match client.subscribe(SubscribeRequest { filters }).await {
                        Ok(resp) => (rt, Box::new(resp.into_inner())),
                        Err(s) => {
                            let err = rt.status_error("subscribe to events", &s);
                            return Some((Err(err), State::Done));
                        }
                    }
                }
            };
            match stream.message().await {
                Ok(Some(env)) => Some((Ok(env.into()), State::Streaming(rt, stream))),
                Ok(None) => None,
                Err(s) => Some((Err(rt.status_error("event stream", &s)), State::Done)),
            }
        })
    }
}
