//! The interactive console end to end: the real binary in a detached tmux
//! session (120x40, private tmux socket), driven with `send-keys` and read
//! with `capture-pane`, against a private containerd with real runc tasks in
//! real cgroups. Needs root, containerd (scripts/setup.sh) and tmux.

mod common;

use common::Harness;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

const COLS: u16 = 120;
const ROWS: u16 = 40;
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);
const SESSION: &str = "kuke";
const PASSWORD: &str = "pw-e2e-S3cret";

/// The console running in a private tmux server; every screen read is kept.
/// Dropping it kills the tmux server (and with it the console), also when
/// the test failed.
struct Pane {
    socket: PathBuf,
    screens: RefCell<Vec<String>>,
}

impl Pane {
    /// Starts `kuke-tui <args>` in a 120x40 tmux session with the harness'
    /// settings; `containerd_socket` overrides the harness' socket.
    fn start(h: &Harness, containerd_socket: Option<&Path>, args: &[&str]) -> Pane {
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

    fn tmux(&self, args: &[&str]) -> Output {
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

    fn tmux_ok(&self, args: &[&str]) -> String {
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
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        self.tmux_ok(&args);
    }

    /// Literal text.
    fn type_text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-t", SESSION, "-l", text]);
    }

    /// The visible screen as text; kept for the secret check.
    fn capture(&self) -> String {
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
fn wait_until(pane: &Pane, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
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

fn wait_for(pane: &Pane, needle: &str, timeout: Duration) -> String {
    wait_until(pane, &format!("{needle:?}"), timeout, |s| {
        s.contains(needle)
    })
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The cells of the realms-table row of `realm` (whitespace separated).
fn realm_row(screen: &str, realm: &str) -> Option<Vec<String>> {
    screen.lines().find_map(|l| {
        let cells: Vec<String> = l.split_whitespace().map(String::from).collect();
        (cells.first().map(String::as_str) == Some(realm)).then_some(cells)
    })
}

/// /^3[2-4](\.\d)?Mi$/: memhog's 32 MiB plus a little.
fn about_32_mib(cell: &str) -> bool {
    let Some(num) = cell.strip_suffix("Mi") else {
        return false;
    };
    let b = num.as_bytes();
    let int_ok = b.len() >= 2 && b[0] == b'3' && (b'2'..=b'4').contains(&b[1]);
    let frac_ok = match b.len() {
        2 => true,
        4 => b[2] == b'.' && b[3].is_ascii_digit(),
        _ => false,
    };
    int_ok && frac_ok
}

#[test]
fn console_creates_watches_credentials_and_deletes_a_realm() {
    let started = Instant::now();
    let h = Harness::start();
    let pane = Pane::start(&h, None, &[]);
    let realm_group = format!("{}/e2e", h.cgroup_root);

    // Empty host.
    let screen = wait_for(&pane, "No realms found", WAIT);
    assert!(screen.contains("Press c to create one"), "{screen}");

    // Create with the form; the namespace follows the name.
    pane.keys(&["c"]);
    wait_for(&pane, "Create realm", WAIT);
    pane.type_text("e2e");
    let screen = wait_for(&pane, "[kukeon-e2e", WAIT);
    assert!(screen.contains("[e2e"), "name field: {screen}");
    pane.keys(&["Tab", "Tab"]);
    pane.type_text("team=qa");
    wait_for(&pane, "[team=qa", WAIT);
    pane.keys(&["Enter"]);
    let screen = wait_for(&pane, "is Ready", WAIT);
    assert!(screen.contains("realm \"e2e\" is Ready"), "{screen}");
    for step in ["record", "namespace", "cgroup"] {
        assert!(
            screen
                .lines()
                .any(|l| l.contains(&format!("✓ {step}")) && l.contains("created")),
            "step {step} not shown as created:\n{screen}"
        );
    }
    pane.keys(&["Enter"]);
    wait_until(&pane, "realm row e2e Ready", WAIT, |s| {
        !s.contains("Create realm")
            && realm_row(s, "e2e").is_some_and(|r| r.get(1).map(String::as_str) == Some("Ready"))
    });
    let record = std::fs::read_to_string(h.run_path.join("e2e/realm.yaml")).unwrap();
    assert!(
        record.contains("team: qa"),
        "labels not recorded:\n{record}"
    );

    // A 32 MiB task in the realm's cgroup shows up as live usage.
    h.import_image("kukeon-e2e");
    h.run_task(
        "kukeon-e2e",
        "hog",
        &format!("{realm_group}/hog"),
        &["/bin/memhog", "32"],
    );
    h.wait_task_log("kukeon-e2e", "hog", "holding 32 MiB", WAIT);
    let screen = wait_until(&pane, "e2e row with 1/1 tasks and ~32Mi", WAIT, |s| {
        realm_row(s, "e2e")
            .is_some_and(|r| r.iter().any(|c| c == "1/1") && r.iter().any(|c| about_32_mib(c)))
    });
    let row = realm_row(&screen, "e2e").unwrap();
    assert!(row.iter().any(|c| c == "kukeon-e2e"), "{row:?}");

    // Detail, Credentials tab, add one; the password is only ever masked.
    pane.keys(&["Enter"]);
    wait_until(&pane, "detail with the hog task", WAIT, |s| {
        s.contains("1 Tasks (1)") && s.lines().any(|l| l.trim_start().starts_with("hog "))
    });
    pane.keys(&["3"]);
    wait_for(&pane, "Press a to add one", WAIT);
    pane.keys(&["a"]);
    wait_for(&pane, "Add credential in e2e", WAIT);
    pane.type_text("registry.example.com");
    pane.keys(&["Tab"]);
    pane.type_text("robot");
    pane.keys(&["Tab"]);
    pane.type_text(PASSWORD);
    let mask = "•".repeat(PASSWORD.chars().count());
    wait_for(&pane, &format!("[{mask}"), WAIT);
    pane.keys(&["Enter"]);
    let screen = wait_until(&pane, "robot listed with a masked password", WAIT, |s| {
        !s.contains("Add credential")
            && s.lines()
                .any(|l| l.contains("registry.example.com") && l.contains("robot"))
            && s.contains("********")
    });
    assert!(screen.contains("3 Credentials (1)"), "{screen}");
    assert!(
        screen.contains("credential for registry.example.com (robot) added"),
        "{screen}"
    );
    let record = std::fs::read_to_string(h.run_path.join("e2e/realm.yaml")).unwrap();
    assert!(
        record.contains(PASSWORD) && record.contains("registry.example.com"),
        "the credential is not stored:\n{record}"
    );
    pane.keys(&["Escape"]);
    wait_for(&pane, "c create", WAIT);

    // Cascade delete: the realm holds a task, so its name must be typed.
    pane.keys(&["d"]);
    let screen = wait_until(&pane, "the prompt to type the realm name", WAIT, |s| {
        s.to_lowercase().contains("type the realm name")
    });
    assert!(screen.contains("This realm is not empty"), "{screen}");
    assert!(
        screen
            .lines()
            .any(|l| l.trim_matches([' ', '│']).starts_with("1  tasks")),
        "plan lacks the task:\n{screen}"
    );
    pane.type_text("e2e");
    wait_for(&pane, "[e2e", WAIT);
    pane.keys(&["Enter"]);
    // SIGTERM ends memhog at once; allow for the 10 s grace anyway.
    let screen = wait_for(&pane, "realm e2e deleted", Duration::from_secs(30));
    assert!(screen.contains("✓ tasks"), "{screen}");
    pane.keys(&["Enter"]);
    let screen = wait_until(&pane, "home without e2e", WAIT, |s| {
        s.contains("No realms found") && !s.contains("Delete realm")
    });
    assert!(screen.contains("realm \"e2e\" deleted"), "{screen}");

    // Quit: the process ends with status 0 and the terminal is given back.
    pane.keys(&["q"]);
    wait_for(&pane, "EXITED:0", WAIT);

    // The secret never reached the screen, in any capture.
    let screens = pane.screens.borrow();
    for (i, s) in screens.iter().enumerate() {
        assert!(
            !s.contains(PASSWORD) && !s.contains("S3cret"),
            "capture {i} shows the password:\n{s}"
        );
    }
    let n_screens = screens.len();
    drop(screens);
    drop(pane);

    // Nothing of the realm is left.
    let namespaces = h.ctr_ok(&["namespaces", "ls", "-q"]);
    assert!(
        !namespaces.lines().any(|l| l.trim() == "kukeon-e2e"),
        "{namespaces}"
    );
    assert_eq!(h.cgroup_dirs(&realm_group), Vec::<PathBuf>::new());
    assert!(!h.run_path.join("e2e").exists());
    eprintln!(
        "console e2e: {n_screens} screens checked in {:?}",
        started.elapsed()
    );
}

#[test]
fn readonly_console_offers_no_changes() {
    let h = Harness::start();
    let out = h
        .kuke()
        .args(["create", "realm", "ro"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let pane = Pane::start(&h, None, &["--readonly"]);
    let screen = wait_until(&pane, "realm ro listed", WAIT, |s| {
        realm_row(s, "ro").is_some_and(|r| r.get(1).map(String::as_str) == Some("Ready"))
    });
    assert!(screen.contains("READ-ONLY"), "{screen}");
    let footer = screen.lines().rfind(|l| !l.trim().is_empty()).unwrap();
    assert!(footer.contains("q quit"), "not the footer: {footer:?}");
    assert!(!footer.contains("c create"), "{footer:?}");
    assert!(!footer.contains("d delete"), "{footer:?}");

    pane.keys(&["c"]);
    let screen = wait_for(&pane, "read-only", WAIT);
    assert!(!screen.contains("Create realm"), "{screen}");
    pane.keys(&["d"]);
    sleep(Duration::from_millis(300));
    let screen = pane.capture();
    assert!(
        !screen.contains("Delete realm") && !screen.contains("Type the realm name"),
        "{screen}"
    );
    pane.keys(&["q"]);
    wait_for(&pane, "EXITED:0", WAIT);
    drop(pane);
    assert!(h.run_path.join("ro/realm.yaml").exists(), "ro was changed");
}

#[test]
fn console_without_containerd_stays_responsive() {
    let h = Harness::start();
    let missing = h.dir.join("no-such-containerd.sock");
    let pane = Pane::start(&h, Some(&missing), &[]);
    wait_for(&pane, "disconnected", WAIT);

    let asked = Instant::now();
    pane.keys(&["?"]);
    let screen = wait_for(&pane, "any key closes", Duration::from_secs(1));
    let took = asked.elapsed();
    assert!(screen.contains("Keys"), "{screen}");
    assert!(took < Duration::from_secs(1), "help took {took:?}");

    let asked = Instant::now();
    pane.keys(&["q"]);
    wait_for(&pane, "EXITED:0", Duration::from_secs(2));
    eprintln!(
        "disconnected console: help and quit in {took:?} and {:?}",
        asked.elapsed()
    );
}
