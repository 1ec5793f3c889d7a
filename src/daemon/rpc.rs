//! Go's `net/rpc` with the `net/rpc/jsonrpc` codec (JSON-RPC 1.0) on a unix
//! socket: a request is `{"method":"KukeonV1.X","params":[args],"id":N}`, a
//! reply `{"id":N,"result":...,"error":null|"text"}`, each a JSON value on
//! the stream (Go's json.Encoder ends each with a newline; we parse values,
//! not lines). One call at a time per connection; every call is bounded,
//! and a connection that failed in any way is dropped, never reused.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// A reply larger than this is refused rather than buffered.
const MAX_REPLY: usize = 16 << 20;

#[derive(Debug)]
pub enum CallError {
    /// Nothing listens: the socket file is missing or refuses connections.
    Absent(std::io::Error),
    /// No complete reply within the bound.
    Timeout(Duration),
    /// The daemon closed the connection before replying.
    Closed,
    /// Another failure reading or writing the socket.
    Io(std::io::Error),
    /// Something that is not a JSON-RPC 1.0 reply.
    Protocol(String),
    /// The reply's `error` field (net/rpc's own errors, e.g. an unknown method).
    Remote(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Absent(e) => write!(f, "nothing listens ({e})"),
            CallError::Timeout(d) => {
                write!(f, "no answer within {}", humantime::format_duration(*d))
            }
            CallError::Closed => f.write_str("the daemon closed the connection before answering"),
            CallError::Io(e) => write!(f, "{e}"),
            CallError::Protocol(e) => write!(f, "not a kukeonv1 reply ({e})"),
            CallError::Remote(e) => write!(f, "{e}"),
        }
    }
}

/// A connection to kukeond, made on the first call.
#[derive(Debug)]
pub struct Client {
    socket: PathBuf,
    stream: Option<UnixStream>,
    buf: Vec<u8>,
    next_id: u64,
    /// Calls sent over this client's life (for the closing figures).
    pub calls: u64,
}

impl Client {
    pub fn new(socket: impl Into<PathBuf>) -> Client {
        Client {
            socket: socket.into(),
            stream: None,
            buf: Vec::new(),
            next_id: 0,
            calls: 0,
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Calls `method` (e.g. `KukeonV1.Ping`) with `args`, connect included,
    /// within `bound`. On any failure the connection is discarded.
    pub async fn call<A: Serialize, R: DeserializeOwned>(
        &mut self,
        method: &str,
        args: &A,
        bound: Duration,
    ) -> Result<R, CallError> {
        let result = match tokio::time::timeout(bound, self.exchange(method, args)).await {
            Ok(result) => result,
            Err(_) => Err(CallError::Timeout(bound)),
        };
        if result.is_err() {
            self.stream = None;
            self.buf.clear();
        }
        let value = result?;
        serde_json::from_value(value)
            .map_err(|e| CallError::Protocol(format!("{method} reply: {e}")))
    }

    async fn exchange<A: Serialize>(&mut self, method: &str, args: &A) -> Result<Value, CallError> {
        // Taken out for the call and put back only after a good reply: a
        // failure, or a timeout dropping this future, discards it.
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            None => UnixStream::connect(&self.socket)
                .await
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                        CallError::Absent(e)
                    }
                    _ => CallError::Io(e),
                })?,
        };
        let id = self.next_id;
        self.next_id += 1;
        let mut request = serde_json::to_vec(&serde_json::json!({
            "method": method,
            "params": [args],
            "id": id,
        }))
        .map_err(|e| CallError::Protocol(e.to_string()))?;
        request.push(b'\n');
        self.calls += 1;
        stream.write_all(&request).await.map_err(closed_or_io)?;
        loop {
            if let Some(reply) = take_value(&mut self.buf)? {
                let value = check_reply(reply, id)?;
                self.stream = Some(stream);
                return Ok(value);
            }
            if self.buf.len() > MAX_REPLY {
                return Err(CallError::Protocol(format!(
                    "reply larger than {} MiB",
                    MAX_REPLY >> 20
                )));
            }
            let n = stream.read_buf(&mut self.buf).await.map_err(closed_or_io)?;
            if n == 0 {
                return Err(CallError::Closed);
            }
        }
    }
}

fn closed_or_io(e: std::io::Error) -> CallError {
    match e.kind() {
        std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::UnexpectedEof => CallError::Closed,
        _ => CallError::Io(e),
    }
}

/// The first complete JSON value in `buf`, removed from it; None when more
/// bytes are needed.
fn take_value(buf: &mut Vec<u8>) -> Result<Option<Value>, CallError> {
    let mut values = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
    match values.next() {
        None => {
            // Only whitespace so far.
            if buf.iter().all(u8::is_ascii_whitespace) {
                buf.clear();
            }
            Ok(None)
        }
        Some(Err(e)) if e.is_eof() => Ok(None),
        Some(Err(e)) => Err(CallError::Protocol(e.to_string())),
        Some(Ok(value)) => {
            let used = values.byte_offset();
            buf.drain(..used);
            Ok(Some(value))
        }
    }
}

/// `{"id":N,"result":R,"error":E}` → R, or the error text.
fn check_reply(reply: Value, id: u64) -> Result<Value, CallError> {
    let Value::Object(mut obj) = reply else {
        return Err(CallError::Protocol("the reply is not an object".into()));
    };
    if obj.get("id").and_then(Value::as_u64) != Some(id) {
        return Err(CallError::Protocol(format!(
            "reply id {} does not match request id {id}",
            obj.get("id").unwrap_or(&Value::Null)
        )));
    }
    match obj.remove("error") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => return Err(CallError::Remote(text)),
        Some(other) => return Err(CallError::Remote(other.to_string())),
    }
    Ok(obj.remove("result").unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_taken_from_a_stream_in_pieces() {
        let mut buf = br#"{"id":0,"result":{"OK":tr"#.to_vec();
        assert!(take_value(&mut buf).unwrap().is_none());
        buf.extend_from_slice(b"ue},\"error\":null}\n{\"id\":1");
        let v = take_value(&mut buf).unwrap().unwrap();
        assert_eq!(check_reply(v, 0).unwrap()["OK"], true);
        assert!(take_value(&mut buf).unwrap().is_none());
        assert!(take_value(&mut b"garbage".to_vec()).is_err());
    }

    #[test]
    fn error_field_and_mismatched_id() {
        let v: Value = serde_json::from_str(
            r#"{"id":3,"result":null,"error":"rpc: can't find method KukeonV1.Nope"}"#,
        )
        .unwrap();
        assert!(
            matches!(check_reply(v.clone(), 3), Err(CallError::Remote(t)) if t.contains("can't find"))
        );
        assert!(matches!(check_reply(v, 4), Err(CallError::Protocol(_))));
    }

    #[tokio::test]
    async fn missing_socket_is_absent_and_silence_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Client::new(dir.path().join("none.sock"));
        let r: Result<Value, _> = c
            .call(
                "KukeonV1.Ping",
                &serde_json::json!({}),
                Duration::from_secs(1),
            )
            .await;
        assert!(matches!(r, Err(CallError::Absent(_))), "{r:?}");
        // A listener that accepts and never answers.
        let path = dir.path().join("mute.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let mut c = Client::new(&path);
        let r: Result<Value, _> = c
            .call(
                "KukeonV1.Ping",
                &serde_json::json!({}),
                Duration::from_millis(200),
            )
            .await;
        assert!(matches!(r, Err(CallError::Timeout(_))), "{r:?}");
        assert!(c.stream.is_none(), "a failed connection is dropped");
    }
}
