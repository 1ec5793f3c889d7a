//! The operations module driven directly, as the console will drive it:
//! create with step reports, listing, credentials, plan and cascade, and a
//! create that fails half-way and rolls back exactly what it made.

mod common;

use common::Harness;
use kuke_tui::ops::create::{create_realm, CreateRequest, Outcome};
use kuke_tui::ops::credentials::{list_credentials, upsert_credential, CredentialChange};
use kuke_tui::ops::delete::{execute_delete, plan_delete, DeleteOptions};
use kuke_tui::ops::realms::list_realms;
use kuke_tui::ops::{ErrorKind, Host};
use kuke_tui::runtime::Runtime;
use kuke_tui::settings::HostSettings;
use std::collections::BTreeMap;
use std::time::Duration;

fn host(h: &Harness, cgroup_root: &str) -> Host {
    Host::new(HostSettings {
        run_path: h.run_path.clone(),
        containerd_socket: h.socket.clone(),
        cgroup_root: Some(cgroup_root.to_string()),
        layout: None,
        timeout: Duration::from_secs(5),
        network: Default::default(),
    })
    .unwrap()
}

/// A realm made by `create_realm`, with the test image in its namespace;
/// returns the namespace.
async fn realm_with_image(h: &Harness, host: &Host, rt: &Runtime, name: &str) -> String {
    let req = CreateRequest {
        name: name.into(),
        namespace: None,
        labels: BTreeMap::new(),
    };
    create_realm(host, rt, &req, &mut |_| {}).await.unwrap();
    let ns = format!("kukeon-{name}");
    h.import_image(&ns);
    ns
}

/// Plans and runs a cascade delete; returns each step as (step, removed, detail).
async fn cascade(
    host: &Host,
    rt: &Runtime,
    name: &str,
    grace: Duration,
) -> Vec<(&'static str, usize, String)> {
    let plan = plan_delete(host, rt, name).await.unwrap();
    let opts = DeleteOptions {
        cascade: true,
        force: false,
        grace,
    };
    let mut steps = Vec::new();
    execute_delete(host, rt, &plan, &opts, &mut |s| {
        steps.push((s.step, s.removed, s.detail.clone()))
    })
    .await
    .unwrap_or_else(|e| panic!("cascade failed: {e}; steps so far: {steps:?}"));
    steps
}

/// A cascade must not fail because containerd is slow: here every call gets
/// a per-call timeout far below what deleting 8 tasks at once takes
/// (`KUKE_TEST_SLOW_TIMEOUT_MS`, default 20 ms), as a busy or emulated host
/// sees with the 5 s default. Teardown calls that time out are retried with
/// a doubled timeout (src/ops/patient.rs), so the cascade still finishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_outlasts_a_slow_containerd() {
    let h = Harness::start();
    let host = host(&h, &h.cgroup_root);
    let rt = host.runtime().await.unwrap();
    let ns = &realm_with_image(&h, &host, &rt, "slow").await;
    let ids: Vec<String> = (1..=8).map(|i| format!("slow{i}")).collect();
    for id in &ids {
        let group = format!("{}/slow/{id}", h.cgroup_root);
        h.run_task(ns, id, &group, &["sleep", "3600"]);
    }
    let plan = plan_delete(&host, &rt, "slow").await.unwrap();

    let tiny = Duration::from_millis(
        std::env::var("KUKE_TEST_SLOW_TIMEOUT_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20),
    );
    let hurried = Host::new(HostSettings {
        run_path: h.run_path.clone(),
        containerd_socket: h.socket.clone(),
        cgroup_root: Some(h.cgroup_root.clone()),
        layout: None,
        timeout: tiny,
        network: Default::default(),
    })
    .unwrap();
    let hurried_rt = hurried.runtime().await.unwrap();
    let opts = DeleteOptions {
        cascade: true,
        force: false,
        grace: Duration::ZERO,
    };
    let started = std::time::Instant::now();
    let mut steps = Vec::new();
    let result = execute_delete(&hurried, &hurried_rt, &plan, &opts, &mut |s| {
        steps.push((s.step, s.removed))
    })
    .await;
    let took = started.elapsed();
    if let Err(e) = &result {
        // Leave nothing behind for the harness to trip over.
        let _ = execute_delete(
            &host,
            &rt,
            &plan_delete(&host, &rt, "slow").await.unwrap(),
            &opts,
            &mut |_| {},
        )
        .await;
        panic!("cascade with a {tiny:?} per-call timeout failed: {e}; steps: {steps:?}");
    }
    assert!(steps.contains(&("tasks", 8)), "{steps:?}");
    assert!(!h.namespaces().contains(&ns.to_string()));
    assert!(plan_delete(&host, &rt, "slow").await.unwrap().is_gone());
    eprintln!("ops_api: cascade of 8 tasks with a {tiny:?} per-call timeout took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_round_trip() {
    let h = Harness::start();
    let host = host(&h, &h.cgroup_root);
    let rt = host.runtime().await.unwrap();
    let req = CreateRequest {
        name: "ops".into(),
        namespace: Some("tenant-ops".into()),
        labels: BTreeMap::from([("team".into(), "core".into())]),
    };
    let mut seen = Vec::new();
    let report = create_realm(&host, &rt, &req, &mut |s| seen.push((s.step, s.outcome)))
        .await
        .unwrap();
    assert_eq!(
        seen,
        [
            ("record", Outcome::Created),
            ("namespace", Outcome::Created),
            ("cgroup", Outcome::Created)
        ]
    );
    assert_eq!(report.namespace, "tenant-ops");
    assert!(h.namespaces().contains(&"tenant-ops".to_string()));

    let list = list_realms(&host, &rt).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].namespace, "tenant-ops");
    assert!(list[0].observed.namespace_exists && list[0].observed.cgroup_exists);
    assert_eq!(list[0].labels["team"], "core");

    assert_eq!(
        upsert_credential(&host, "ops", "r.io", "u", "p1").unwrap(),
        CredentialChange::Added
    );
    assert_eq!(
        upsert_credential(&host, "ops", "r.io", "u", "p2").unwrap(),
        CredentialChange::Updated
    );
    let creds = list_credentials(&host, "ops", false).unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].password, "********");
    assert_eq!(
        list_credentials(&host, "ops", true).unwrap()[0].password,
        "p2"
    );

    // Unknown keys written by another tool survive the console's writes.
    let record = h.run_path.join("ops/realm.yaml");
    let text = std::fs::read_to_string(&record).unwrap();
    std::fs::write(&record, text.replace("spec:\n", "spec:\n  futureKnob: 7\n")).unwrap();
    upsert_credential(&host, "ops", "other.io", "u", "p3").unwrap();
    assert!(std::fs::read_to_string(&record)
        .unwrap()
        .contains("futureKnob: 7"));

    let plan = plan_delete(&host, &rt, "ops").await.unwrap();
    assert_eq!(plan.namespace, "tenant-ops");
    assert!(plan.files.iter().any(|f| f.ends_with("realm.yaml")));
    assert!(!plan.cgroup_dirs.is_empty());
    let opts = DeleteOptions {
        cascade: true,
        force: false,
        grace: Duration::from_secs(1),
    };
    let mut steps = Vec::new();
    execute_delete(&host, &rt, &plan, &opts, &mut |s| steps.push(s.step))
        .await
        .unwrap();
    assert_eq!(steps.last(), Some(&"files"));
    assert!(!h.namespaces().contains(&"tenant-ops".to_string()));
    assert!(h.cgroup_dirs(&format!("{}/ops", h.cgroup_root)).is_empty());
    assert!(plan_delete(&host, &rt, "ops").await.unwrap().is_gone());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_create_rolls_back_exactly_what_it_made() {
    let h = Harness::start();
    // `cgroup.procs` is a file in every cgroup directory: making a group
    // below it fails for real, after the record and namespace exist.
    let bad_root = format!("{}/cgroup.procs", h.cgroup_root);
    let host = host(&h, &bad_root);
    let rt = host.runtime().await.unwrap();
    let req = CreateRequest {
        name: "doomed".into(),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let err = create_realm(&host, &rt, &req, &mut |s| seen.push(s.step))
        .await
        .unwrap_err();
    assert_eq!(seen, ["record", "namespace"]);
    assert_eq!(err.kind, ErrorKind::Failed);
    assert!(
        err.message.contains("failed at step cgroup"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("rolled back: namespace, record"),
        "{}",
        err.message
    );
    assert!(!h.namespaces().contains(&"kukeon-doomed".to_string()));
    assert!(!h.run_path.join("doomed").exists());
    assert!(h.cgroup_dirs(&format!("{bad_root}/doomed")).is_empty());

    // An existing namespace is not this call's to remove.
    h.ctr_ok(&["namespaces", "create", "kukeon-kept"]);
    let req = CreateRequest {
        name: "kept".into(),
        ..Default::default()
    };
    let err = create_realm(&host, &rt, &req, &mut |_| {})
        .await
        .unwrap_err();
    assert!(
        err.message.contains("rolled back: record"),
        "{}",
        err.message
    );
    assert!(h.namespaces().contains(&"kukeon-kept".to_string()));
}

/// containerd's garbage collector removes an orphaned container snapshot
/// without unlinking it from its parent layer, which then refuses every
/// remove ("cannot remove snapshot with child") until the collector takes it
/// after its image. A cascade must still finish, first time. (This once failed
/// a CI run: the collector ran between a container's delete and ours.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_finishes_past_a_stale_child_snapshot_record() {
    let h = Harness::start();
    let host = host(&h, &h.cgroup_root);
    let rt = host.runtime().await.unwrap();
    let ns = &realm_with_image(&h, &host, &rt, "stale").await;
    h.ctr_ok(&["-n", ns, "containers", "create", &h.image_ref, "orphan"]);
    h.ctr_ok(&["-n", ns, "containers", "rm", "--keep-snapshot", "orphan"]);
    rt.collect_garbage(ns).await.unwrap();

    // The precondition: the orphan is gone and its parent layer refuses.
    let snaps = h.ctr_ok(&["-n", ns, "snapshots", "ls"]);
    assert!(
        !snaps.contains("orphan"),
        "collector kept the orphan:\n{snaps}"
    );
    let layer = snaps
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
        .find(|k| k.starts_with("sha256:"))
        .expect("the image's layer snapshot");
    let out = h.ctr(&["-n", ns, "snapshots", "rm", &layer]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("with child"),
        "the layer should refuse: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let steps = cascade(&host, &rt, "stale", Duration::from_secs(1)).await;
    let snapshot_steps: Vec<_> = steps.iter().filter(|s| s.0 == "snapshots").collect();
    assert_eq!(snapshot_steps.len(), 2, "{steps:?}");
    assert!(
        snapshot_steps[0]
            .2
            .contains("1 held by a stale child record"),
        "{steps:?}"
    );
    assert_eq!(snapshot_steps[1].1, 1, "{steps:?}");
    assert!(!h.namespaces().contains(&ns.to_string()));
    assert!(plan_delete(&host, &rt, "stale").await.unwrap().is_gone());
}

/// Every live task gets SIGTERM at the start of the cascade, so all of them
/// share one grace period: with more tasks that ignore SIGTERM than are torn
/// down at once (8), the delete still waits out the grace once, not once per
/// batch. Tasks that trap SIGTERM see it and exit on their own, a paused one
/// included (it is resumed first); the rest are killed when the grace ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cascade_shares_one_grace_period_across_every_task() {
    let h = Harness::start();
    let host = host(&h, &h.cgroup_root);
    let rt = host.runtime().await.unwrap();
    let ns = &realm_with_image(&h, &host, &rt, "grace").await;
    let group = |id: &str| format!("{}/grace/{id}", h.cgroup_root);
    // PID 1 of a pid namespace ignores SIGTERM unless it handles it: `sleep`.
    let stubborn: Vec<String> = (1..=10).map(|i| format!("stubborn{i}")).collect();
    for id in &stubborn {
        h.run_task(ns, id, &group(id), &["sleep", "3600"]);
    }
    let trapping = ["polite1", "polite2", "paused"];
    for id in trapping {
        h.run_task(
            ns,
            id,
            &group(id),
            &[
                "sh",
                "-c",
                "trap 'echo got-TERM; exit 0' TERM; while :; do sleep 1 & wait; done",
            ],
        );
    }
    h.ctr_ok(&["-n", ns, "tasks", "pause", "paused"]);
    h.wait_task_status(ns, "paused", "PAUSED", Duration::from_secs(10));

    let grace = Duration::from_secs(3);
    let started = std::time::Instant::now();
    let steps = cascade(&host, &rt, "grace", grace).await;
    let took = started.elapsed();

    let tasks = steps.iter().find(|s| s.0 == "tasks").expect("a tasks step");
    assert_eq!(tasks.1, 13, "{steps:?}");
    assert!(
        tasks.2.contains("10 got SIGKILL after the 3s grace period"),
        "{steps:?}"
    );
    for id in trapping {
        assert!(
            h.task_log(ns, id).contains("got-TERM"),
            "{id} did not see SIGTERM; log: {:?}",
            h.task_log(ns, id)
        );
    }
    // Ten stubborn tasks need two batches of 8: one grace period per batch
    // would take at least 6 s.
    assert!(
        took >= grace,
        "the grace period was not waited out: {took:?}"
    );
    assert!(
        took < grace * 2,
        "the grace period was not shared: {took:?} for two batches of stubborn tasks"
    );
    assert!(!h.namespaces().contains(&ns.to_string()));
    assert!(plan_delete(&host, &rt, "grace").await.unwrap().is_gone());
    assert!(
        h.leftover_shims().is_empty(),
        "shims left: {:?}",
        h.leftover_shims()
    );
}
