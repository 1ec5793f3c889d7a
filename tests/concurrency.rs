//! Concurrency (issue 5, point 2): four processes adding 50 credentials each
//! to one realm leave all 200; eight concurrent creates of one realm give one
//! "created" and seven "already exists" and one realm; a change made with the
//! CLI while the console is open shows on its screen within one interval.
//!
//! Real processes of the built binary against the harness' private
//! containerd, on the default (documented) layout.

mod common;

use common::pane::{wait_until, Pane};
use common::{credential_args, Harness};
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::sync::Barrier;
use std::thread::sleep;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(15);

fn dir_names(dir: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn four_writers_adding_fifty_credentials_each_leave_two_hundred() {
    const WRITERS: usize = 4;
    const EACH: usize = 50;
    let h = Harness::start();
    h.run_ok(&["create", "realm", "shared"]);
    let pw = h.dir.join("pw");
    std::fs::write(&pw, "concurrent-Pa55\n").unwrap();
    let pw = pw.to_str().unwrap();

    let started = Instant::now();
    std::thread::scope(|scope| {
        for w in 0..WRITERS {
            let h = &h;
            scope.spawn(move || {
                for i in 0..EACH {
                    let server = format!("w{w}-{i}.example.io");
                    let user = format!("user{w}");
                    let out = h.run(&credential_args(
                        "shared",
                        &server,
                        &user,
                        &["--from-file", pw],
                    ));
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    assert!(
                        out.status.success() && stdout.contains(" added in realm"),
                        "{server}: {} {stdout} {} (a writer lost the race instead of waiting)",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            });
        }
    });
    let took = started.elapsed();
    eprintln!(
        "concurrency: {WRITERS} writers x {EACH} credentials ({} processes) in {took:?}, {:?} per write",
        WRITERS * EACH,
        took / (WRITERS * EACH) as u32
    );

    // The record parses, holds every credential once, and stays private.
    let record = h.run_path.join("shared/realm.yaml");
    let text = std::fs::read_to_string(&record).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("the record parses");
    let creds = doc["spec"]["registryCredentials"]
        .as_sequence()
        .unwrap_or_else(|| panic!("no credentials:\n{text}"));
    let mut seen = BTreeSet::new();
    for c in creds {
        let server = c["serverAddress"].as_str().expect("serverAddress");
        assert_eq!(c["password"].as_str(), Some("concurrent-Pa55"), "{server}");
        assert!(seen.insert(server.to_string()), "{server} written twice");
    }
    let expected: BTreeSet<String> = (0..WRITERS)
        .flat_map(|w| (0..EACH).map(move |i| format!("w{w}-{i}.example.io")))
        .collect();
    assert_eq!(seen, expected, "credentials lost or invented");
    assert_eq!(
        std::fs::metadata(&record).unwrap().permissions().mode() & 0o777,
        0o600,
        "record mode"
    );
    // Atomic writes leave no temp files behind.
    assert_eq!(
        dir_names(&h.run_path.join("shared")),
        BTreeSet::from(["realm.yaml".to_string(), "realm.yaml.lock".to_string()])
    );
    // And the CLI reads back the same 200.
    let listed: serde_json::Value =
        h.run_json(&["get", "registry-credentials", "shared", "-o", "json"]);
    assert_eq!(listed.as_array().unwrap().len(), WRITERS * EACH);
}

#[test]
fn concurrent_creates_of_one_realm_give_one_created() {
    const CREATORS: usize = 8;
    let h = Harness::start();
    let barrier = Barrier::new(CREATORS);
    let started = Instant::now();
    let outs: Vec<Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CREATORS)
            .map(|_| {
                let (h, barrier) = (&h, &barrier);
                scope.spawn(move || {
                    let mut cmd = h.kuke();
                    cmd.args(["create", "realm", "solo"]);
                    barrier.wait();
                    common::run_cmd(cmd, None)
                })
            })
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    eprintln!(
        "concurrency: {CREATORS} concurrent creates of one realm done in {:?}",
        started.elapsed()
    );

    let mut created = 0;
    let mut existed = 0;
    for out in &outs {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Create is idempotent: an existing, whole realm is success.
        assert!(out.status.success(), "{}: {stdout}{stderr}", out.status);
        assert!(stderr.is_empty(), "{stderr}");
        let last = stdout.lines().last().unwrap_or_default();
        if last.starts_with("realm \"solo\" is Ready") {
            created += 1;
            for step in ["record", "namespace", "cgroup"] {
                assert!(
                    stdout
                        .lines()
                        .any(|l| l.starts_with(step) && l.contains(" created ")),
                    "the winner did not create {step}:\n{stdout}"
                );
            }
        } else if last.starts_with("realm \"solo\" already exists and is Ready") {
            existed += 1;
            assert_eq!(
                stdout.matches("already existed").count(),
                3,
                "a loser changed something:\n{stdout}"
            );
        } else {
            panic!("unexpected output:\n{stdout}");
        }
    }
    assert_eq!((created, existed), (1, CREATORS - 1), "created/existed");

    // One record, one namespace, one cgroup.
    assert_eq!(dir_names(&h.run_path), BTreeSet::from(["solo".to_string()]));
    assert_eq!(
        dir_names(&h.run_path.join("solo")),
        BTreeSet::from(["realm.yaml".to_string(), "realm.yaml.lock".to_string()])
    );
    let ours: Vec<String> = h
        .namespaces()
        .into_iter()
        .filter(|n| n.starts_with("kukeon-"))
        .collect();
    assert_eq!(ours, vec!["kukeon-solo".to_string()]);
    let root_dirs = h.cgroup_dirs(&h.cgroup_root);
    assert!(!root_dirs.is_empty(), "no cgroup root");
    for d in &root_dirs {
        let groups: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(groups, vec!["solo".to_string()], "{}", d.display());
    }
    let list: serde_json::Value = h.run_json(&["get", "realms", "-o", "json"]);
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(common::realm_item(&list, "solo")["state"], "Ready");
}

/// The row of `realm` as whitespace-separated cells.
fn realm_row(screen: &str, realm: &str) -> Option<Vec<String>> {
    screen.lines().find_map(|l| {
        let cells: Vec<String> = l.split_whitespace().map(String::from).collect();
        (cells.first().map(String::as_str) == Some(realm)).then_some(cells)
    })
}

/// Time from `since` until the screen satisfies `pred`, polled about every
/// 10 ms (so the figure is the console's, not the poll's).
fn shown_after(pane: &Pane, since: Instant, what: &str, pred: impl Fn(&str) -> bool) -> Duration {
    loop {
        let screen = pane.tmux_ok(&["capture-pane", "-p", "-t", "kuke"]);
        if pred(&screen) {
            return since.elapsed();
        }
        if since.elapsed() > WAIT {
            panic!("{what} not shown in {WAIT:?}; screen:\n{screen}");
        }
        sleep(Duration::from_millis(10));
    }
}

#[test]
fn cli_changes_show_in_the_open_console_within_one_interval() {
    const INTERVAL: Duration = Duration::from_secs(1);
    // Slack for the 10 ms screen poll, tmux and a loaded 2-core machine.
    const SLACK: Duration = Duration::from_millis(500);
    let h = Harness::start();
    h.run_ok(&["create", "realm", "watch"]);
    let pane = Pane::start(&h, None, &["--interval", "1s"]);
    wait_until(&pane, "watch listed, connected", WAIT, |s| {
        s.contains("● connected") && realm_row(s, "watch").is_some()
    });
    // Let the console settle into its steady rhythm.
    sleep(Duration::from_millis(1500));

    let mut figures = Vec::new();
    h.run_ok(&["create", "realm", "fresh"]);
    let done = Instant::now();
    figures.push((
        "create realm",
        shown_after(&pane, done, "fresh", |s| {
            realm_row(s, "fresh").is_some_and(|r| r.get(1).map(String::as_str) == Some("Ready"))
        }),
    ));

    h.run_ok(&["delete", "realm", "fresh", "--yes"]);
    let done = Instant::now();
    figures.push((
        "delete realm",
        shown_after(&pane, done, "fresh gone", |s| {
            realm_row(s, "fresh").is_none() && realm_row(s, "watch").is_some()
        }),
    ));

    // The credentials tab of watch's detail view.
    pane.keys(&["Enter"]);
    wait_until(&pane, "detail of watch", WAIT, |s| s.contains("Esc back"));
    pane.keys(&["3"]);
    sleep(Duration::from_millis(1500));
    let before = pane.capture();
    assert!(!before.contains("seen.example.io"), "{before}");
    let pw = h.dir.join("pw");
    std::fs::write(&pw, "watch-Pa55\n").unwrap();
    h.run_ok(&credential_args(
        "watch",
        "seen.example.io",
        "eve",
        &["--from-file", pw.to_str().unwrap()],
    ));
    let done = Instant::now();
    figures.push((
        "add credential",
        shown_after(&pane, done, "the credential", |s| {
            s.contains("seen.example.io") && s.contains("eve")
        }),
    ));
    assert!(
        pane.screens
            .borrow()
            .iter()
            .all(|s| !s.contains("watch-Pa55")),
        "the password was shown"
    );

    let list: Vec<String> = figures
        .iter()
        .map(|(what, d)| format!("{what} {d:.0?}"))
        .collect();
    eprintln!(
        "concurrency: CLI change to console screen (interval {INTERVAL:?}): {}",
        list.join(", ")
    );
    for (what, d) in &figures {
        assert!(
            *d <= INTERVAL + SLACK,
            "{what} took {d:?} to show (interval {INTERVAL:?})"
        );
    }
    pane.keys(&["q"]);
}
