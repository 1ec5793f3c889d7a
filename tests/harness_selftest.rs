//! Self test of tests/common: a private containerd runs real runc tasks in
//! cgroups under the harness's cgroup root, and dropping the harness leaves
//! nothing behind. Needs root and scripts/setup.sh.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Harness;

const MIB: u64 = 1024 * 1024;

#[test]
fn harness_runs_tasks_and_cleans_up() {
    let t0 = Instant::now();
    let h = Harness::start();
    eprintln!(
        "harness up in {:?} (includes the one-time image build)",
        t0.elapsed()
    );

    let ns = "kuke-tui-selftest";
    h.ctr_ok(&["namespaces", "create", ns]);
    assert!(h
        .ctr_ok(&["namespaces", "ls", "-q"])
        .lines()
        .any(|l| l == ns));
    h.import_image(ns);

    let sleeper_cg = format!("{}/realm-x/space-a/sleeper", h.cgroup_root);
    let hog_cg = format!("{}/realm-x/space-a/hog", h.cgroup_root);
    h.run_task(ns, "sleeper", &sleeper_cg, &["/bin/sleep", "600"]);
    h.run_task(ns, "hog", &hog_cg, &["/bin/memhog", "64"]);

    let tasks = h.ctr_ok(&["-n", ns, "tasks", "ls"]);
    for id in ["sleeper", "hog"] {
        assert!(
            tasks
                .lines()
                .any(|l| l.split_whitespace().next() == Some(id) && l.contains("RUNNING")),
            "{id} not RUNNING:\n{tasks}"
        );
    }
    assert_eq!(h.task_status(ns, "hog").as_deref(), Some("RUNNING"));

    // memhog says so once every page is touched.
    let log = h.wait_task_log(ns, "hog", "holding 64 MiB", Duration::from_secs(10));
    assert!(log.contains("holding 64 MiB"), "{log}");

    // The cgroups exist in every hierarchy, and memory is charged to the hog.
    let hog_dirs = h.cgroup_dirs(&hog_cg);
    assert!(!hog_dirs.is_empty(), "no cgroup dir for {hog_cg}");
    assert!(!h.cgroup_dirs(&sleeper_cg).is_empty());
    let realm_cg = format!("{}/realm-x", h.cgroup_root);
    let usage = h
        .memory_usage(&hog_cg)
        .expect("memory usage of the hog cgroup");
    assert!(usage >= 64 * MIB, "hog cgroup uses {usage} bytes < 64 MiB");
    // A realm group counts its descendants (v1 with use_hierarchy, v2 always).
    let realm_usage = h
        .memory_usage(&realm_cg)
        .expect("memory usage of the realm cgroup");
    assert!(
        realm_usage >= 64 * MIB,
        "realm cgroup uses {realm_usage} bytes < 64 MiB"
    );
    let hog_pid = h.task_pid(ns, "hog").expect("hog pid");
    let sleeper_pid = h.task_pid(ns, "sleeper").expect("sleeper pid");
    assert!(common::cgroup_procs(&hog_cg).contains(&hog_pid));

    // Capture what must disappear, then drop.
    let daemon_pid = h.daemon_pid;
    let socket = h.socket.clone();
    let dir = h.dir.clone();
    let cgroup_root = h.cgroup_root.clone();
    assert!(
        !h.leftover_shims().is_empty(),
        "expected live shims before drop"
    );
    let t1 = Instant::now();
    drop(h);
    eprintln!("harness dropped in {:?}", t1.elapsed());

    assert!(
        common::pid_gone(daemon_pid),
        "containerd {daemon_pid} still running"
    );
    assert!(common::pid_gone(hog_pid), "hog {hog_pid} still running");
    assert!(
        common::pid_gone(sleeper_pid),
        "sleeper {sleeper_pid} still running"
    );
    let shims = common::shims_of(&socket);
    assert!(shims.is_empty(), "shims left: {shims:?}");
    let left = common::cgroup_dirs(&cgroup_root);
    assert!(left.is_empty(), "cgroup dirs left: {left:?}");
    assert!(!Path::new(&dir).exists(), "temp dir {} left", dir.display());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&*dir.to_string_lossy()),
        "mounts left under {}",
        dir.display()
    );
}

/// A test that fails after its daemon died (shims orphaned, tasks still
/// running) must still leave nothing behind.
#[test]
fn harness_cleans_up_after_panic_and_dead_daemon() {
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};
    /// daemon pid, socket, temp dir, cgroup root, task pids
    type Seen = (u32, PathBuf, PathBuf, String, Vec<u32>);
    let seen: Arc<Mutex<Option<Seen>>> = Arc::new(Mutex::new(None));
    let seen2 = seen.clone();
    let res = std::panic::catch_unwind(move || {
        let h = Harness::start();
        let ns = "kuke-tui-selftest-panic";
        h.import_image(ns);
        let cg = format!("{}/realm-y/c", h.cgroup_root);
        h.run_task(ns, "hog", &cg, &["/bin/memhog", "8"]);
        h.run_task(
            ns,
            "sh",
            &format!("{cg}2"),
            &["/bin/sh", "-c", "sleep 600 & sleep 600"],
        );
        let pids = common::cgroup_procs(&h.cgroup_root);
        assert!(pids.len() >= 3, "expected hog, sh and two sleeps: {pids:?}");
        *seen2.lock().unwrap() = Some((
            h.daemon_pid,
            h.socket.clone(),
            h.dir.clone(),
            h.cgroup_root.clone(),
            pids,
        ));
        // The daemon dies under the test's feet; the shims live on.
        let _ = std::process::Command::new("sh")
            .args(["-c", &format!("kill -9 {}", h.daemon_pid)])
            .status();
        panic!("deliberate failure to exercise Drop");
    });
    assert!(res.is_err());
    let (daemon_pid, socket, dir, cgroup_root, pids) =
        seen.lock().unwrap().take().expect("state captured");
    assert!(common::pid_gone(daemon_pid));
    for p in pids {
        assert!(common::pid_gone(p), "task process {p} survived");
    }
    assert!(common::shims_of(&socket).is_empty(), "shims left");
    assert!(common::cgroup_dirs(&cgroup_root).is_empty(), "cgroups left");
    assert!(!dir.exists(), "temp dir left");
}
