//! Daemon faults (issue 5, point 3): containerd stopped and restarted, its
//! socket replaced by a regular file, and a socket that accepts connections
//! but never answers. Every subcommand that talks to containerd fails within
//! its `--timeout` with one line naming the socket and the fix, and changes
//! nothing; the commands that need no containerd (credentials, top) keep
//! working; the console stays responsive, says "disconnected", and
//! reconnects by itself once the daemon is back.
//!
//! Real parts only: the harness' private containerd (stopped with SIGTERM and
//! started again on the same state), a real runc task that must survive the
//! restart, the real binary, the console in a private tmux server.

mod common;

use common::pane::{wait_for, wait_until, Pane};
use common::{credential_args, Harness};
use std::io::ErrorKind;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{sleep, JoinHandle};
use std::time::{Duration, Instant};

/// `--timeout` given to every command under a fault.
const TIMEOUT: Duration = Duration::from_secs(1);
/// What a loaded 2-core machine may add to the timeout (process start,
/// record reads, a slow scheduler).
const SLACK: Duration = Duration::from_secs(2);
const WAIT: Duration = Duration::from_secs(15);
const SESSION: &str = "kuke";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `kill -TERM` of the daemon, as `systemctl stop containerd` does;
    /// restored by starting it again on the same state (a restart).
    Stopped,
    /// The daemon stopped and a regular file where its socket was.
    RegularFile,
    /// The daemon stopped and, on its path, a socket that accepts
    /// connections and never writes a byte.
    Silent,
}

const FAULTS: [Fault; 3] = [Fault::Stopped, Fault::RegularFile, Fault::Silent];

/// A fault in place; `restore` undoes it.
struct Injected {
    fault: Fault,
    silent: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

fn inject(h: &mut Harness, fault: Fault) -> Injected {
    h.stop_daemon();
    let mut silent = None;
    // SIGTERM makes containerd remove its socket; be sure either way.
    let _ = std::fs::remove_file(&h.socket);
    match fault {
        Fault::Stopped => {}
        Fault::RegularFile => {
            std::fs::write(&h.socket, "not a socket\n").expect("write the regular file");
        }
        Fault::Silent => {
            let listener = UnixListener::bind(&h.socket).expect("bind the silent socket");
            listener.set_nonblocking(true).unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let stopping = stop.clone();
            let thread = std::thread::spawn(move || {
                // Accept everything, hold it open, never answer.
                let mut held = Vec::new();
                while !stopping.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((conn, _)) => held.push(conn),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            sleep(Duration::from_millis(5))
                        }
                        Err(e) => panic!("silent socket accept: {e}"),
                    }
                }
            });
            silent = Some((stop, thread));
        }
    }
    Injected { fault, silent }
}

fn restore(h: &mut Harness, injected: Injected) {
    if let Some((stop, thread)) = injected.silent {
        stop.store(true, Ordering::Relaxed);
        thread.join().expect("silent socket thread");
    }
    if injected.fault != Fault::Stopped {
        std::fs::remove_file(&h.socket).expect("remove the fault");
    }
    h.start_daemon();
}

/// Every file under the run path with its bytes: a fault must change none.
fn run_path_state(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                out.push((p.clone(), Vec::new()));
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// A realm with a running task, so every command has something to read.
fn seed(h: &Harness) -> String {
    h.run_ok(&["create", "realm", "alpha"]);
    h.import_image("kukeon-alpha");
    let group = format!("{}/alpha/sleeper", h.cgroup_root);
    h.run_task("kukeon-alpha", "sleeper", &group, &["/bin/sleep", "600"]);
    group
}

/// Every subcommand that talks to containerd.
const CONTAINERD_COMMANDS: &[&[&str]] = &[
    &["get", "realms"],
    &["get", "realms", "-o", "json"],
    &["get", "realm", "alpha"],
    &["get", "images", "--realm", "alpha"],
    &["get", "containers", "--realm", "alpha"],
    &["get", "tasks", "--realm", "alpha"],
    &["create", "realm", "beta"],
    &["create", "realm", "alpha"],
    &["delete", "realm", "alpha", "--dry-run"],
    &["delete", "realm", "alpha", "--yes"],
    &[
        "delete",
        "realm",
        "alpha",
        "--cascade",
        "--yes",
        "--grace",
        "1s",
    ],
];

#[test]
fn every_subcommand_fails_within_its_timeout_and_recovers() {
    let mut h = Harness::start();
    seed(&h);
    let socket = h.socket.to_string_lossy().into_owned();
    let timeout = format!("{}s", TIMEOUT.as_secs());

    for fault in FAULTS {
        let before = run_path_state(&h.run_path);
        let injected = inject(&mut h, fault);
        let mut worst = (Duration::ZERO, String::new());
        for args in CONTAINERD_COMMANDS {
            let mut full = args.to_vec();
            full.extend(["--timeout", &timeout]);
            let started = Instant::now();
            let out = h.run(&full);
            let took = started.elapsed();
            let err = String::from_utf8_lossy(&out.stderr);
            let what = format!("{fault:?}: kuke-tui {}", full.join(" "));
            assert_eq!(out.status.code(), Some(1), "{what}: {err}");
            assert_eq!(err.lines().count(), 1, "{what}: one line: {err:?}");
            assert!(err.contains(&socket), "{what}: socket not named: {err}");
            assert!(
                err.contains("start containerd") || err.contains("raise --timeout"),
                "{what}: no fix named: {err}"
            );
            assert!(
                out.stdout.is_empty(),
                "{what}: printed progress: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            assert!(
                took < TIMEOUT + SLACK,
                "{what}: took {took:?} (timeout {TIMEOUT:?}): {err}"
            );
            if took > worst.0 {
                worst = (took, args.join(" "));
            }
            if fault == Fault::Silent && args == &["get", "realms"] {
                eprintln!("fault: {fault:?} error line: {}", err.trim());
            }
            if fault == Fault::Stopped && args == &["get", "realms"] {
                eprintln!("fault: {fault:?} error line: {}", err.trim());
            }
        }
        eprintln!(
            "fault: {fault:?}: {} containerd commands failed with --timeout {timeout}, worst {:?} ({})",
            CONTAINERD_COMMANDS.len(),
            worst.0,
            worst.1
        );

        // The failed commands changed nothing.
        let after = run_path_state(&h.run_path);
        let names = |s: &[(PathBuf, Vec<u8>)]| s.iter().map(|e| e.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&before), names(&after), "{fault:?}: files changed");
        for ((path, a), (_, b)) in before.iter().zip(&after) {
            assert_eq!(
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b),
                "{fault:?}: {} changed",
                path.display()
            );
        }

        // Records and cgroups need no containerd: credentials and top work.
        let pw = h.dir.join("pw");
        std::fs::write(&pw, "fault-Pa55\n").unwrap();
        let server = format!("{fault:?}.example.io").to_lowercase();
        h.run_ok(&credential_args(
            "alpha",
            &server,
            "u",
            &["--from-file", pw.to_str().unwrap()],
        ));
        let listed = h.run_ok(&["get", "registry-credentials", "alpha"]);
        assert!(listed.contains(&server), "{fault:?}: {listed}");
        h.run_ok(&[
            "delete",
            "registry-credential",
            "alpha",
            "--server",
            &server,
        ]);
        let top = h.run_ok(&["top", "--count", "1", "--interval", "200ms"]);
        assert!(top.lines().any(|l| l.starts_with("alpha")), "{top}");

        // Back to normal: the same commands work and the task survived.
        restore(&mut h, injected);
        let started = Instant::now();
        let list = h.run_json(&["get", "realms", "-o", "json"]);
        let alpha = common::realm_item(&list, "alpha");
        assert_eq!(alpha["state"], "Ready", "{fault:?}: {alpha}");
        assert_eq!(alpha["counts"]["runningTasks"], 1, "{fault:?}: {alpha}");
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        eprintln!(
            "fault: {fault:?} restored: get realms answered in {:?}",
            started.elapsed()
        );
        assert_eq!(
            h.task_status("kukeon-alpha", "sleeper").as_deref(),
            Some("RUNNING")
        );
    }
}

/// The screen in a tight loop (about every 10 ms) from just before the keys
/// are sent until `pred` holds: the time the console took to answer.
fn answer_time(pane: &Pane, keys: &[&str], what: &str, pred: impl Fn(&str) -> bool) -> Duration {
    let started = Instant::now();
    pane.keys(keys);
    loop {
        let screen = pane.tmux_ok(&["capture-pane", "-p", "-e", "-t", SESSION]);
        if pred(&screen) {
            return started.elapsed();
        }
        if started.elapsed() > Duration::from_secs(5) {
            panic!("{what}: no answer in 5 s; screen:\n{screen}");
        }
        sleep(Duration::from_millis(10));
    }
}

/// The escape-coded start of the row of `realm` up to its name: it changes
/// when the row is selected or not, and not with the usage figures.
fn row_style(screen: &str, realm: &str) -> Option<String> {
    screen.lines().find_map(|l| {
        let i = l.find(&format!("{realm} "))?;
        let prefix = &l[..i];
        // Only escapes before the name: the name is the row's first cell.
        strip_escapes(prefix).is_empty().then(|| prefix.to_string())
    })
}

/// `s` without CSI escape sequences.
fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ params final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Key presses measured against the 100 ms target; returns the worst.
fn measure_keys(pane: &Pane, fault: Fault) -> Duration {
    let mut figures = Vec::new();
    let mut note = |name: &str, d: Duration| figures.push((name.to_string(), d));

    note(
        "? help",
        answer_time(pane, &["?"], "help", |s| s.contains("any key closes")),
    );
    note(
        "Esc close help",
        answer_time(pane, &["Escape"], "help closed", |s| {
            !s.contains("any key closes")
        }),
    );
    let base = pane.tmux_ok(&["capture-pane", "-p", "-e", "-t", SESSION]);
    let beta_before = row_style(&base, "beta").unwrap_or_else(|| panic!("no beta row:\n{base:?}"));
    note(
        "j select next",
        answer_time(pane, &["j"], "selection moved", |s| {
            row_style(s, "beta").is_some_and(|b| b != beta_before)
        }),
    );
    note(
        "k select previous",
        answer_time(pane, &["k"], "selection back", |s| {
            row_style(s, "beta").as_deref() == Some(beta_before.as_str())
        }),
    );
    note(
        "c create popup",
        answer_time(pane, &["c"], "create popup", |s| s.contains("Create realm")),
    );
    note(
        "Esc close popup",
        answer_time(pane, &["Escape"], "popup closed", |s| {
            !s.contains("Create realm")
        }),
    );
    note(
        "Enter detail",
        answer_time(pane, &["Enter"], "detail", |s| s.contains("Esc back")),
    );
    note(
        "Esc back",
        answer_time(pane, &["Escape"], "realms", |s| !s.contains("Esc back")),
    );
    let worst = figures.iter().map(|f| f.1).max().unwrap();
    let list: Vec<String> = figures
        .iter()
        .map(|(k, d)| format!("{k} {:.0?}", d))
        .collect();
    eprintln!(
        "fault: {fault:?}: console key answers (send-keys to screen, target 100ms): {}; worst {worst:.0?}",
        list.join(", ")
    );
    for (k, d) in &figures {
        assert!(*d < Duration::from_secs(1), "{fault:?}: key {k} took {d:?}");
    }
    worst
}

/// The "! error" note under the realms table (two wrapped lines), joined.
fn note_text(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(i) = lines.iter().position(|l| l.starts_with(" ! ")) else {
        return String::new();
    };
    lines[i..(i + 2).min(lines.len())]
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The row of `realm` as whitespace-separated cells.
fn realm_row(screen: &str, realm: &str) -> Option<Vec<String>> {
    screen.lines().find_map(|l| {
        let cells: Vec<String> = l.split_whitespace().map(String::from).collect();
        (cells.first().map(String::as_str) == Some(realm)).then_some(cells)
    })
}

#[test]
fn console_stays_responsive_and_reconnects_by_itself() {
    let mut h = Harness::start();
    seed(&h);
    h.run_ok(&["create", "realm", "beta"]);
    let pane = Pane::start(&h, None, &["--interval", "1s", "--timeout", "1s"]);
    let connected = |s: &str| {
        s.contains("● connected")
            && realm_row(s, "alpha").is_some_and(|r| r.iter().any(|c| c == "1/1"))
            && realm_row(s, "beta").is_some()
    };
    wait_until(&pane, "connected with alpha's task", WAIT, connected);

    for fault in FAULTS {
        let injected = inject(&mut h, fault);
        let started = Instant::now();
        let screen = wait_for(&pane, "✗ disconnected", WAIT);
        let shown = started.elapsed();
        let socket = h.socket.to_string_lossy().into_owned();
        assert!(
            screen.contains("retrying every"),
            "{fault:?}: no retry note:\n{screen}"
        );
        // The rows stay, from records and cgroups.
        assert!(realm_row(&screen, "alpha").is_some(), "{screen}");
        // The note under the table names the socket and the fix.
        let note = note_text(&screen);
        assert!(
            note.contains(&socket),
            "{fault:?}: socket not named:\n{screen}"
        );
        assert!(
            note.contains("start containerd") || note.contains("raise --timeout"),
            "{fault:?}: no fix named:\n{screen}"
        );
        eprintln!("fault: {fault:?}: console showed disconnected after {shown:?}");
        measure_keys(&pane, fault);

        restore(&mut h, injected);
        let started = Instant::now();
        let screen = wait_until(&pane, "reconnected by itself", WAIT + WAIT, connected);
        eprintln!(
            "fault: {fault:?}: console reconnected by itself {:?} after the daemon was back",
            started.elapsed()
        );
        assert!(!screen.contains("disconnected"), "{screen}");
    }
    pane.keys(&["q"]);
    wait_for(&pane, "EXITED:0", WAIT);
}

/// Continues a SIGSTOPped daemon when dropped, so a failing test never
/// leaves it frozen (its own drop could then not stop it gracefully).
struct Frozen(u32);

impl Frozen {
    fn freeze(pid: u32) -> Frozen {
        // SAFETY: kill(2) on the pid of the daemon this harness started.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGSTOP) }, 0);
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0 as i32, libc::SIGCONT) };
    }
}

/// A daemon that hangs while the console is connected (SIGSTOP: no stream
/// breaks, no event comes) is noticed by the console's liveness probe, the
/// CLI fails within its timeout, and both recover when it continues.
#[test]
fn a_hung_daemon_is_noticed_and_survived() {
    let h = Harness::start();
    seed(&h);
    let pane = Pane::start(&h, None, &["--interval", "1s", "--timeout", "1s"]);
    let connected = |s: &str| {
        s.contains("● connected")
            && realm_row(s, "alpha").is_some_and(|r| r.iter().any(|c| c == "1/1"))
    };
    wait_until(&pane, "connected with alpha's task", WAIT, connected);

    let frozen = Frozen::freeze(h.daemon_pid);
    let started = Instant::now();
    let out = h.run(&["get", "realms", "--timeout", "1s"]);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(h.socket.to_str().unwrap()), "{err}");
    assert!(took < TIMEOUT + SLACK, "get realms took {took:?}");
    eprintln!("fault: hung daemon: get realms failed in {took:?}");

    let screen = wait_for(&pane, "✗ disconnected", WAIT);
    let shown = started.elapsed();
    assert!(realm_row(&screen, "alpha").is_some(), "{screen}");
    eprintln!("fault: hung daemon: console showed disconnected after {shown:?}");
    let help = answer_time(&pane, &["?"], "help while hung", |s| {
        s.contains("any key closes")
    });
    let closed = answer_time(&pane, &["Escape"], "close help while hung", |s| {
        !s.contains("any key closes")
    });
    eprintln!("fault: hung daemon: keys answered in {help:?} and {closed:?}");
    assert!(help < Duration::from_secs(1) && closed < Duration::from_secs(1));

    drop(frozen);
    let started = Instant::now();
    wait_until(&pane, "reconnected after the hang", WAIT + WAIT, connected);
    eprintln!(
        "fault: hung daemon: console reconnected {:?} after it continued",
        started.elapsed()
    );
    h.run_ok(&["get", "realms"]);
    pane.keys(&["q"]);
    wait_for(&pane, "EXITED:0", WAIT);
}
