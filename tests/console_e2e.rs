//! The interactive console end to end: the real binary in a detached tmux
//! session (120x40, private tmux socket), driven with `send-keys` and read
//! with `capture-pane`, against a private containerd with real runc tasks in
//! real cgroups. Needs root, containerd (scripts/setup.sh) and tmux.

mod common;

use common::pane::{wait_for, wait_until, Pane};
use common::Harness;
use std::path::PathBuf;
use std::process::Stdio;
use std::thread::sleep;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
const PASSWORD: &str = "pw-e2e-S3cret";

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
