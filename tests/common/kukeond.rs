//! The kukeonv1 peer (`tests/peer/kukeond/main.go`): Go's own `net/rpc` +
//! `net/rpc/jsonrpc` serving service `KukeonV1` on a private socket in the
//! harness dir. Built once per test process with Debian's `golang-go`
//! (standard library only: no module download, no network), started per
//! test, killed (by its pid) on drop.

use super::Harness;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant};

static PEER_BIN: OnceLock<PathBuf> = OnceLock::new();

/// Builds the peer with `go build` (cache and HOME under cargo's target tmp dir).
pub fn peer_binary() -> &'static Path {
    PEER_BIN.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("kukeond-peer");
        std::fs::create_dir_all(&tmp).expect("create the peer's build dir");
        let bin = tmp.join("kukeond-peer");
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peer/kukeond/main.go");
        let out = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg(src)
            .env("GOCACHE", tmp.join("cache"))
            .env("HOME", &tmp)
            .env("GO111MODULE", "off")
            .env("GOFLAGS", "")
            .env("GOPROXY", "off")
            .env("CGO_ENABLED", "0")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run go build: {e} (scripts/setup.sh installs golang-go)"));
        assert!(
            out.status.success(),
            "go build of the kukeond peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// A running peer. `socket` is where the harness' `KUKEON_HOST` points.
pub struct Peer {
    pub socket: PathBuf,
    pub record: PathBuf,
    pub control: PathBuf,
    pub version: String,
    child: Child,
}

impl Peer {
    /// Starts the peer at the harness' daemon socket; GetRealm reads the
    /// harness' run path.
    pub fn start(h: &Harness) -> Peer {
        Peer::start_at(h, &h.daemon_socket())
    }

    pub fn start_at(h: &Harness, socket: &Path) -> Peer {
        let bin = peer_binary();
        let record = h.dir.join("kukeond-requests.jsonl");
        let control = h.dir.join("kukeond-control.json");
        let _ = std::fs::remove_file(&record);
        std::fs::write(&control, "{}").unwrap();
        let version = "v0.6.1-peer".to_string();
        let child = Command::new(bin)
            .arg("-socket")
            .arg(socket)
            .arg("-record")
            .arg(&record)
            .arg("-control")
            .arg(&control)
            .arg("-run")
            .arg(&h.run_path)
            .arg("-version")
            .arg(&version)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start the kukeond peer: {e}"));
        let peer = Peer {
            socket: socket.to_path_buf(),
            record,
            control,
            version,
            child,
        };
        // From here on Drop kills it. Until it accepts.
        let start = Instant::now();
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the kukeond peer did not listen on {} within 10s",
                socket.display()
            );
            sleep(Duration::from_millis(10));
        }
        peer
    }

    /// How each method answers from now on (see main.go).
    pub fn control(&self, json: &str) {
        std::fs::write(&self.control, json).unwrap();
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("a recorded request is JSON"))
            .collect()
    }

    /// The methods received so far (`KukeonV1.Ping`, ...).
    pub fn methods(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| r["method"].as_str().unwrap_or("").to_string())
            .collect()
    }

    pub fn clear(&self) {
        let _ = std::fs::remove_file(&self.record);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}
