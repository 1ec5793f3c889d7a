//! The console in a private tmux server (its own socket in the harness
//! dir): start it, send keys, capture the screen, wait for text.

use super::Harness;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub const COLS: u16 = 120;
pub const ROWS: u16 = 40;
/// How often `wait_until` reads the screen.
pub const POLL: Duration = Duration::from_millis(100);
const SESSION: &str = "kuke";

/// The console running in a private tmux server; every screen read is kept.
/// Dropping it kills the tmux server (and with it the console), also when
/// the test failed.
pub struct Pane {
    socket: PathBuf,
    /// Every screen captured, for after-the-fact checks (secrets, escapes).
    pub screens: RefCell<Vec<String>>,
}

impl Pane {
    /// Starts `kuke-tui <args>` in a 120x40 tmux session with the harness'
    /// settings; `containerd_socket` overrides the harness' socket.
    pub fn start(h: &Harness, containerd_socket: Option<&Path>, args: &[&str]) -> Pane {
        let have_tmux = Command::new("tmux")
            .arg("-V")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(have_tmux, "tmux not found: run scripts/setup.sh as root");
        let socket = h.dir.join("tmux.sock");
        let containerd = containerd_socket.unwrap_or(&h.socket);
        let mut cmd = vec![
            "exec env".to_string(),
            format!(
                "KUKEON_RUN_PATH={}",
                sh_quote(&h.run_path.to_string_lossy())
            ),
            format!(
                "KUKEON_CONTAINERD_SOCKET={}",
                sh_quote(&containerd.to_string_lossy())
            ),
            format!("KUKEON_CGROUP_ROOT={}", sh_quote(&h.cgroup_root)),
            format!("KUKEON_HOST={}", sh_quote(&h.daemon_host())),
            "TERM=xterm-256color".to_string(),
            "sh -c".to_string(),
            sh_quote(r#""$0" "$@"; echo EXITED:$?; sleep 60"#),
            sh_quote(env!("CARGO_BIN_EXE_kuke-tui")),
        ];
        cmd.extend(args.iter().map(|a| sh_quote(a)));
        let pane = Pane {
            socket,
            screens: RefCell::new(Vec::new()),
        };
        // From here on Drop kills the server.
        pane.tmux_ok(&[
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &COLS.to_string(),
            "-y",
            &ROWS.to_string(),
            &cmd.join(" "),
        ]);
        let size = pane.tmux_ok(&[
            "display-message",
            "-p",
            "-t",
            SESSION,
            "#{pane_width}x#{pane_height}",
        ]);
        assert_eq!(size.trim(), format!("{COLS}x{ROWS}"), "tmux pane size");
        pane
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-f")
            .arg("/dev/null")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run tmux: {e}"))
    }

    pub fn tmux_ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Named keys (`Enter`, `Tab`, `Escape`, `c`, ...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux_ok(&args);
    }

    /// Literal text.
    pub fn type_text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// The visible screen as text; kept for the secret check.
    pub fn capture(&self) -> String {
        let screen = self.tmux_ok(&["capture-pane", "-p", "-t", SESSION]);
        self.screens.borrow_mut().push(screen.clone());
        screen
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// Polls the screen every 100 ms until `pred` holds; panics with the last
/// screen after `timeout`. Returns the screen that matched.
pub fn wait_until(
    pane: &Pane,
    what: &str,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let screen = pane.capture();
        if pred(&screen) {
            return screen;
        }
        if start.elapsed() > timeout {
            panic!("waited {timeout:?} for {what}; last screen:\n{screen}");
        }
        sleep(POLL);
    }
}

pub fn wait_for(pane: &Pane, needle: &str, timeout: Duration) -> String {
    wait_until(pane, &format!("{needle:?}"), timeout, |s| {
        s.contains(needle)
    })
}

pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
