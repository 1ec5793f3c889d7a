//! Whether a change goes through kukeond or is made directly, decided the
//! same way for both faces.
//!
//! kukeond owns Kukeon's layout (`<run>/data/...`, v0.6 and later): its
//! reconcile loop re-ensures what it knows each tick, so changing that state
//! behind it races it. So on Kukeon's layout, while the daemon answers
//! `Ping`, every mutation goes to it; `--direct` is refused there unless
//! `--force`. With no daemon (no socket, or nothing listening on it) the
//! change is made directly, as Kukeon's own in-process mode does. A socket
//! that accepts but does not answer refuses mutations (like a hung
//! containerd) until the daemon is restarted or `--direct` is given. The
//! documented layout (`<run>/<realm>/realm.yaml`) is not the daemon's: it is
//! always changed directly. Reads are always direct.

use super::{Host, OpError, OpResult};
use crate::daemon::wire::{PingArgs, PingReply};
use crate::daemon::{parse_address, CallError, Client, DEFAULT_HOST};
use crate::store::realms::Layout;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

/// `--host` / `KUKEON_HOST` and `--direct`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    pub host: String,
    pub direct: bool,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        DaemonSettings {
            host: DEFAULT_HOST.to_string(),
            direct: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DaemonState {
    /// Ping answered OK.
    Answering,
    /// No socket file, or nothing listening on it.
    Absent,
    /// The socket accepts but Ping failed: a hang, an error, a dropped connection.
    NotAnswering,
    /// The address is not one kuke-tui can use (e.g. `ssh://`).
    Unsupported,
}

/// Where mutations go right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutations {
    Daemon,
    Direct,
    /// Refused until the daemon answers (or `--direct`, `--force` as the error says).
    Refused,
}

/// What `get realms -o json|wide` and the console's header say about kukeond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    pub state: DaemonState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub mutations: Mutations,
}

impl DaemonStatus {
    /// `kukeond v0.6.1`, `no daemon`, `kukeond not answering`, ...
    pub fn label(&self) -> String {
        match self.state {
            DaemonState::Answering => format!(
                "kukeond {}",
                self.version
                    .as_deref()
                    .filter(|v| !v.is_empty())
                    .unwrap_or("(no version)")
            ),
            DaemonState::Absent => "no daemon".into(),
            DaemonState::NotAnswering => "kukeond not answering".into(),
            DaemonState::Unsupported => "kukeond address unsupported".into(),
        }
    }
}

/// An answering kukeond and the connection Ping used.
pub struct Kukeond {
    client: tokio::sync::Mutex<Client>,
    pub socket: PathBuf,
    pub version: String,
    /// `--timeout`: the bound of every call but a cascading delete's.
    pub timeout: Duration,
}

impl std::fmt::Debug for Kukeond {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kukeond({}, {})", self.socket.display(), self.version)
    }
}

impl Kukeond {
    /// Calls sent over this connection's life (Ping included).
    pub async fn calls(&self) -> u64 {
        self.client.lock().await.calls
    }

    /// One call, bounded by `bound`; every failure is one line naming the
    /// socket and the fix.
    pub(crate) async fn call<A: Serialize, R: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        args: &A,
        bound: Duration,
        what: &str,
    ) -> OpResult<R> {
        let mut client = self.client.lock().await;
        client
            .call(method, args, bound)
            .await
            .map_err(|e| call_error(&self.socket, what, e))
    }
}

/// The one line for a call that failed on the way (not an APIError).
fn call_error(socket: &std::path::Path, what: &str, err: CallError) -> OpError {
    let sock = socket.display();
    OpError::failed(match err {
        CallError::Timeout(d) => format!(
            "kukeond at {sock} did not answer {what} within {}; kuke-tui changed nothing itself, but the daemon may still finish it: check with `kuke-tui get realms`, restart a hung kukeond (systemctl restart kukeond) or raise --timeout",
            humantime::format_duration(d)
        ),
        CallError::Closed => format!(
            "kukeond at {sock} closed the connection during {what} (did it crash or restart?); kuke-tui changed nothing itself: check the daemon (journalctl -u kukeond) and run the command again"
        ),
        CallError::Absent(e) => format!(
            "kukeond at {sock} went away before {what} ({e}); kuke-tui changed nothing: run the command again (without a daemon it acts directly)"
        ),
        CallError::Io(e) => format!(
            "cannot talk to kukeond at {sock} during {what}: {e}; check the socket's permissions (run kuke-tui as root)"
        ),
        CallError::Protocol(e) => format!(
            "kukeond at {sock} sent {e} during {what}; check that --host names a kukeond socket"
        ),
        CallError::Remote(e) => format!("kukeond at {sock} refused {what}: {e}"),
    })
}

/// Asks kukeond with Ping (bounded by `--timeout`). Returns its status and,
/// when it answers, the connection for the calls that follow.
pub async fn probe(host: &Host) -> (DaemonStatus, Option<Kukeond>) {
    let settings = &host.daemon;
    let mut status = DaemonStatus {
        host: settings.host.clone(),
        socket: None,
        state: DaemonState::Absent,
        version: None,
        detail: None,
        mutations: Mutations::Direct,
    };
    let address = match parse_address(&settings.host) {
        Ok(a) => a,
        Err(why) => {
            status.state = DaemonState::Unsupported;
            status.detail = Some(why);
            status.mutations = mutations_of(host, &status);
            return (status, None);
        }
    };
    let socket = address.socket().to_path_buf();
    status.socket = Some(socket.display().to_string());
    let mut client = Client::new(&socket);
    let timeout = host.settings.timeout;
    let answer: Result<PingReply, CallError> =
        client.call("KukeonV1.Ping", &PingArgs {}, timeout).await;
    let daemon = match answer {
        Ok(reply) if reply.ok && reply.err.is_none() => {
            status.state = DaemonState::Answering;
            status.version = Some(reply.version.clone());
            Some(Kukeond {
                client: tokio::sync::Mutex::new(client),
                socket,
                version: reply.version,
                timeout,
            })
        }
        Ok(reply) => {
            status.state = DaemonState::NotAnswering;
            status.detail = Some(match reply.err {
                Some(e) => format!("Ping failed: {}", e.message),
                None => "Ping answered not OK".into(),
            });
            None
        }
        Err(CallError::Absent(e)) => {
            status.detail = Some(e.to_string());
            None
        }
        Err(e) => {
            status.state = DaemonState::NotAnswering;
            status.detail = Some(e.to_string());
            None
        }
    };
    status.mutations = mutations_of(host, &status);
    (status, daemon)
}

fn mutations_of(host: &Host, status: &DaemonStatus) -> Mutations {
    match decide(host.store.layout(), status, host.daemon.direct, false) {
        Ok(Decision::Daemon) => Mutations::Daemon,
        Ok(Decision::Direct) => Mutations::Direct,
        Err(_) => Mutations::Refused,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Direct,
    Daemon,
}

/// The routing rule (see the module comment), as a pure function.
pub fn decide(
    layout: Layout,
    status: &DaemonStatus,
    direct: bool,
    force: bool,
) -> OpResult<Decision> {
    if layout == Layout::Docs {
        return Ok(Decision::Direct);
    }
    let socket = status.socket.as_deref().unwrap_or(&status.host);
    match status.state {
        DaemonState::Absent => Ok(Decision::Direct),
        DaemonState::Answering if !direct => Ok(Decision::Daemon),
        DaemonState::Answering if force => Ok(Decision::Direct),
        DaemonState::Answering => Err(OpError::usage(format!(
            "--direct refused: {} answers on {socket} and owns this run path; its reconcile loop would race a direct change or undo it. Drop --direct to go through the daemon, or add --force to change the host directly anyway",
            status.label()
        ))),
        _ if direct => Ok(Decision::Direct),
        DaemonState::NotAnswering => Err(OpError::failed(format!(
            "kukeond at {socket} does not answer ({}); restart it (systemctl restart kukeond), or pass --direct to change the host without it",
            status.detail.as_deref().unwrap_or("no answer")
        ))),
        DaemonState::Unsupported => Err(OpError::usage(
            status.detail.clone().unwrap_or_else(|| "unsupported --host".into()),
        )),
    }
}

/// Where one mutation goes.
#[derive(Debug)]
pub enum Route {
    Direct,
    Daemon(Box<Kukeond>),
}

/// Pings kukeond and decides where a mutation goes; `force` is the
/// command's `--force` (which lets `--direct` through). The documented
/// layout is never the daemon's, so it is not even asked there (a hung
/// socket cannot slow those changes).
pub async fn route(host: &Host, force: bool) -> OpResult<Route> {
    if host.store.layout() == Layout::Docs {
        return Ok(Route::Direct);
    }
    let (status, daemon) = probe(host).await;
    match (
        decide(host.store.layout(), &status, host.daemon.direct, force)?,
        daemon,
    ) {
        (Decision::Daemon, Some(d)) => Ok(Route::Daemon(Box::new(d))),
        // Only an answering daemon is routed to, and it comes with its connection.
        _ => Ok(Route::Direct),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: DaemonState) -> DaemonStatus {
        DaemonStatus {
            host: "unix:///x/kukeond.sock".into(),
            socket: Some("/x/kukeond.sock".into()),
            state,
            version: Some("v0.6.1".into()),
            detail: Some("no answer within 5s".into()),
            mutations: Mutations::Direct,
        }
    }

    #[test]
    fn documented_layout_is_always_direct() {
        for s in [
            DaemonState::Answering,
            DaemonState::Absent,
            DaemonState::NotAnswering,
            DaemonState::Unsupported,
        ] {
            assert_eq!(
                decide(Layout::Docs, &status(s), false, false).unwrap(),
                Decision::Direct
            );
        }
    }

    #[test]
    fn kukeon_layout_routes_by_daemon_state() {
        let k = Layout::Kukeon;
        assert_eq!(
            decide(k, &status(DaemonState::Answering), false, false).unwrap(),
            Decision::Daemon
        );
        assert_eq!(
            decide(k, &status(DaemonState::Absent), false, false).unwrap(),
            Decision::Direct
        );
        let refused = decide(k, &status(DaemonState::Answering), true, false).unwrap_err();
        assert!(
            refused.message.contains("reconcile") && refused.message.contains("--force"),
            "{refused}"
        );
        assert_eq!(
            decide(k, &status(DaemonState::Answering), true, true).unwrap(),
            Decision::Direct
        );
        let hung = decide(k, &status(DaemonState::NotAnswering), false, false).unwrap_err();
        assert!(
            hung.message.contains("/x/kukeond.sock") && hung.message.contains("restart"),
            "{hung}"
        );
        assert_eq!(
            decide(k, &status(DaemonState::NotAnswering), true, false).unwrap(),
            Decision::Direct
        );
        assert!(decide(k, &status(DaemonState::Unsupported), false, false).is_err());
    }

    #[test]
    fn labels() {
        assert_eq!(status(DaemonState::Answering).label(), "kukeond v0.6.1");
        assert_eq!(status(DaemonState::Absent).label(), "no daemon");
    }
}
