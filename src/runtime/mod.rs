//! containerd adapter: one cheap, cloneable handle over a gRPC channel to the
//! daemon's unix socket.
//!
//! containerd-client sets no timeouts and its `with_namespace!` macro panics on
//! bad header values, so this module owns both concerns: every unary call is
//! bounded by the handle's timeout, streaming lists are bounded as a whole,
//! and the namespace header is validated and turned into an error.
//!
//! One file per concern: namespaces, images, containers (and tasks),
//! snapshots, leases, content, events.

mod containers;
mod content;
pub mod daemon_config;
mod events;
mod images;
mod leases;
mod namespaces;
mod snapshots;

#[cfg(test)]
mod tests;

pub use containers::{ContainerInfo, TaskInfo, TaskStatus};
pub use content::ContentInfo;
pub use events::EventEnvelope;
pub use images::ImageInfo;
pub use namespaces::NamespaceInfo;
pub use snapshots::SnapshotInfo;

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use containerd_client::services::v1::version_client::VersionClient;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Channel, Endpoint, Uri};

/// Header containerd reads the namespace from (pkg/namespaces/grpc.go).
const NAMESPACE_HEADER: &str = "containerd-namespace";

/// containerd's own default send limit (16 MiB); tonic's 4 MiB default would
/// reject large list answers that containerd is willing to send.
const MAX_MESSAGE: usize = 16 << 20;

/// Hint appended to every "cannot reach" message so the user knows the fix.
const REACH_FIX: &str = "start containerd or pass --containerd-socket / KUKEON_CONTAINERD_SOCKET";

/// What went wrong, coarse enough for callers to decide (retry, skip, report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeErrorKind {
    /// Socket missing, connection refused, or the transport broke.
    Unavailable,
    /// The daemon did not answer within the configured timeout.
    Timeout,
    /// EACCES on the socket (not root).
    PermissionDenied,
    NotFound,
    AlreadyExists,
    /// e.g. deleting a namespace that still holds resources.
    FailedPrecondition,
    Other,
}

/// One error type for the whole adapter; `message` is a single line that is
/// fit to show the user as is.
#[derive(Debug, Clone)]
pub struct RuntimeError {
    pub kind: RuntimeErrorKind,
    pub message: String,
}

impl RuntimeError {
    /// Builds an error; newlines are folded so Display stays one line.
    pub fn new(kind: RuntimeErrorKind, message: impl Into<String>) -> Self {
        let message: String = message.into();
        let message = if message.contains(['\n', '\r']) {
            message
                .split(['\n', '\r'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            message
        };
        RuntimeError { kind, message }
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == RuntimeErrorKind::NotFound
    }

    fn unreachable(socket: &Path, detail: &str) -> Self {
        Self::new(
            RuntimeErrorKind::Unavailable,
            format!(
                "cannot reach containerd at {}: {detail}; {REACH_FIX}",
                socket.display()
            ),
        )
    }

    fn permission(socket: &Path) -> Self {
        Self::new(
            RuntimeErrorKind::PermissionDenied,
            format!(
                "permission denied on {}: run kuke-tui as root (sudo)",
                socket.display()
            ),
        )
    }

    fn timeout(socket: &Path, timeout: Duration, what: &str) -> Self {
        Self::new(
            RuntimeErrorKind::Timeout,
            format!(
                "containerd at {} did not answer within {} ({what}); check that the daemon is healthy or raise --timeout",
                socket.display(),
                humantime::format_duration(timeout)
            ),
        )
    }

    /// Maps an io error met while opening the socket.
    fn from_io(socket: &Path, err: &io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::PermissionDenied => Self::permission(socket),
            _ => Self::unreachable(socket, &io_detail(err)),
        }
    }

    /// Maps a tonic transport error (from connect) by looking for the io error
    /// underneath, which is what tells "missing" from "not allowed".
    fn from_transport(socket: &Path, err: &tonic::transport::Error) -> Self {
        match find_io(err) {
            Some(io) => Self::from_io(socket, io),
            None => Self::unreachable(socket, &error_chain(err)),
        }
    }

    /// Maps a gRPC status; `what` names the call for the message.
    fn from_status(socket: &Path, what: &str, status: &tonic::Status) -> Self {
        use tonic::Code;
        // A broken connection surfaces as a status whose source is the io or
        // transport error; treat it like a connect failure.
        if let Some(io) = find_io(status) {
            return Self::from_io(socket, io);
        }
        let msg = status.message();
        let kind = match status.code() {
            Code::Unavailable => {
                let detail = if msg.is_empty() { "unavailable" } else { msg };
                return Self::unreachable(socket, detail);
            }
            Code::DeadlineExceeded => RuntimeErrorKind::Timeout,
            Code::NotFound => RuntimeErrorKind::NotFound,
            Code::AlreadyExists => RuntimeErrorKind::AlreadyExists,
            Code::FailedPrecondition => RuntimeErrorKind::FailedPrecondition,
            Code::PermissionDenied | Code::Unauthenticated => RuntimeErrorKind::PermissionDenied,
            _ => RuntimeErrorKind::Other,
        };
        let msg = if msg.is_empty() {
            status.code().description()
        } else {
            msg
        };
        Self::new(kind, format!("{what}: {msg}"))
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuntimeError {}

/// "No such file or directory" rather than "... (os error 2)".
fn io_detail(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

fn find_io<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cur = e.source();
    }
    None
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Builds a request carrying the namespace header. Unlike containerd-client's
/// `with_namespace!`, a value that cannot be a header is an error, not a panic.
fn request<T>(msg: T, ns: &str) -> Result<tonic::Request<T>, RuntimeError> {
    if ns.is_empty() {
        return Err(RuntimeError::new(
            RuntimeErrorKind::Other,
            "empty containerd namespace name",
        ));
    }
    // Printable ASCII only: stricter than a header value (which allows tab
    // and high bytes) and still wider than containerd's own name rules.
    let printable = ns.bytes().all(|b| b.is_ascii_graphic());
    let parsed = ns.parse::<AsciiMetadataValue>().ok().filter(|_| printable);
    let value = parsed.ok_or_else(|| {
        RuntimeError::new(
            RuntimeErrorKind::Other,
            format!("invalid containerd namespace name {ns:?}: must be printable ASCII"),
        )
    })?;
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert(NAMESPACE_HEADER, value);
    Ok(req)
}

/// prost Timestamp to chrono; unset and Go's zero time (negative seconds)
/// both mean "no time".
fn timestamp(ts: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    let ts = ts?;
    if ts.seconds <= 0 {
        return None;
    }
    DateTime::from_timestamp(ts.seconds, ts.nanos.clamp(0, 999_999_999) as u32)
}

/// Turns "not found" into `Ok(false)` for idempotent deletes.
fn found<T>(res: Result<T, RuntimeError>) -> Result<bool, RuntimeError> {
    match res {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Handle to one containerd daemon. Clone is cheap (the channel is shared),
/// and it is Send + Sync so calls can run concurrently across namespaces.
#[derive(Debug, Clone)]
pub struct Runtime {
    channel: Channel,
    socket: Arc<Path>,
    timeout: Duration,
}

impl Runtime {
    /// Connects to the daemon socket. The whole connect is bounded by
    /// `timeout`: a socket that accepts but never answers must not hang.
    pub async fn connect(socket: &Path, timeout: Duration) -> Result<Runtime, RuntimeError> {
        let path = socket.to_path_buf();
        let connector = tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        });
        // The URI is ignored by the connector; tonic only needs a valid one.
        let endpoint = Endpoint::from_static("http://[::]").connect_timeout(timeout);
        let channel =
            match tokio::time::timeout(timeout, endpoint.connect_with_connector(connector)).await {
                Err(_) => return Err(RuntimeError::timeout(socket, timeout, "connect")),
                Ok(Err(e)) => return Err(RuntimeError::from_transport(socket, &e)),
                Ok(Ok(c)) => c,
            };
        Ok(Runtime {
            channel,
            socket: Arc::from(socket),
            timeout,
        })
    }

    /// The socket this handle talks to (for messages and status lines).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The same connection with another per-call timeout (a cheap clone).
    pub fn with_timeout(&self, timeout: Duration) -> Runtime {
        Runtime {
            timeout,
            ..self.clone()
        }
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Daemon version, e.g. "1.6.20" (Debian builds say "1.6.20~ds1").
    pub async fn version(&self) -> Result<String, RuntimeError> {
        let mut client = VersionClient::new(self.channel.clone());
        let resp = self.unary("version", client.version(())).await?;
        Ok(resp.version)
    }

    fn timeout_error(&self, what: &str) -> RuntimeError {
        RuntimeError::timeout(&self.socket, self.timeout, what)
    }

    fn status_error(&self, what: &str, status: &tonic::Status) -> RuntimeError {
        RuntimeError::from_status(&self.socket, what, status)
    }

    /// Runs `fut` under the handle's timeout and maps its status.
    async fn bounded<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, RuntimeError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Err(_) => Err(self.timeout_error(what)),
            Ok(Err(status)) => Err(self.status_error(what, &status)),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Every unary call goes through here (no Endpoint-level timeout, so that
    /// streams and waits can choose their own bounds).
    async fn unary<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, RuntimeError> {
        self.bounded(what, async { fut.await.map(tonic::Response::into_inner) })
            .await
    }

    /// Collects a server stream; the timeout covers the whole collection.
    async fn collect<M>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<tonic::Response<tonic::Streaming<M>>, tonic::Status>>,
    ) -> Result<Vec<M>, RuntimeError> {
        self.bounded(what, async {
            let mut stream = fut.await?.into_inner();
            let mut out = Vec::new();
            while let Some(msg) = stream.message().await? {
                out.push(msg);
            }
            Ok(out)
        })
        .await
    }
}
