//! `list_realms_cached`, which the console's refresh uses: containerd
//! figures are kept per namespace between reads and re-listed only for
//! namespaces that are new, invalidated (an event named them) or cleared,
//! while records, cgroups and the namespace list are always read afresh.
//! Against the harness' private containerd with a real task.

mod common;

use common::Harness;
use kuke_tui::ops::realms::{list_realms, list_realms_cached, RealmSummary, RemoteCache};
use kuke_tui::ops::Host;
use kuke_tui::settings::HostSettings;
use std::time::Duration;

fn host(h: &Harness) -> Host {
    Host::new(HostSettings {
        run_path: h.run_path.clone(),
        containerd_socket: h.socket.clone(),
        cgroup_root: Some(h.cgroup_root.clone()),
        layout: None,
        timeout: Duration::from_secs(5),
        network: Default::default(),
    })
    .unwrap()
}

fn row<'a>(list: &'a [RealmSummary], name: &str) -> &'a RealmSummary {
    list.iter().find(|r| r.name == name).expect(name)
}

/// (running tasks, tasks, images) of a realm.
fn figures(list: &[RealmSummary], name: &str) -> (usize, usize, usize) {
    let c = &row(list, name).counts;
    (c.running_tasks, c.tasks, c.images)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_figures_are_reread_only_where_invalidated() {
    let h = Harness::start();
    for name in ["a", "b"] {
        let out = h.kuke().args(["create", "realm", name]).output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let host = host(&h);
    let rt = host.runtime().await.unwrap();
    let mut cache = RemoteCache::default();
    let first = list_realms_cached(&host, &rt, &mut cache).await.unwrap();
    assert_eq!(figures(&first, "a"), (0, 0, 0));
    assert_eq!(figures(&first, "b"), (0, 0, 0));
    assert_eq!(cache.len(), 2, "both namespaces kept");

    // Changes behind the cache's back: kept figures stand until invalidated.
    h.import_image("kukeon-a");
    h.import_image("kukeon-b");
    h.run_task(
        "kukeon-b",
        "sleeper",
        &format!("{}/b/sleeper", h.cgroup_root),
        &["/bin/sleep", "600"],
    );
    let kept = list_realms_cached(&host, &rt, &mut cache).await.unwrap();
    assert_eq!(figures(&kept, "a"), (0, 0, 0));
    assert_eq!(figures(&kept, "b"), (0, 0, 0));
    // Cgroups are always read afresh: the task's pids already show.
    assert!(
        row(&kept, "b").usage.pids_current.unwrap_or(0) >= 1,
        "{:?}",
        row(&kept, "b").usage
    );

    cache.invalidate("kukeon-b");
    let one = list_realms_cached(&host, &rt, &mut cache).await.unwrap();
    assert_eq!(figures(&one, "a"), (0, 0, 0), "a was not invalidated");
    assert_eq!(figures(&one, "b"), (1, 1, 1));

    cache.clear();
    let all = list_realms_cached(&host, &rt, &mut cache).await.unwrap();
    assert_eq!(figures(&all, "a"), (0, 0, 1));
    assert_eq!(figures(&all, "b"), (1, 1, 1));
    // The uncached listing agrees with a fully re-read cache.
    let fresh = list_realms(&host, &rt).await.unwrap();
    for name in ["a", "b"] {
        assert_eq!(figures(&fresh, name), figures(&all, name), "{name}");
    }

    // A namespace that disappears is forgotten: when it comes back it is
    // listed afresh, not shown with the old figures.
    let out = h.kuke().args(["create", "realm", "c"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    h.import_image("kukeon-c");
    let with_c = list_realms_cached(&host, &rt, &mut cache).await.unwrap();
    assert_eq!(
        figures(&with_c, "c"),
        (0, 0, 1),
        "a new namespace is listed"
    );
    let image = h.ctr_ok(&["-n", "kukeon-c", "images", "ls", "-q"]);
    h.ctr_ok(&["-n", "kukeon-c", "images", "rm", "--sync", image.trim()]);
    h.ctr_ok(&["namespaces", "rm", "kukeon-c"]);
    let gone = list_realms_cached(&host, &rt, &mut cache).await.unwrap();
    assert!(!row(&gone, "c").observed.namespace_exists);
    assert_eq!(cache.len(), 2, "the gone namespace is forgotten");
    h.ctr_ok(&["namespaces", "create", "kukeon-c"]);
    let back = list_realms_cached(&host, &rt, &mut cache).await.unwrap();
    assert_eq!(
        figures(&back, "c"),
        (0, 0, 0),
        "re-listed, not the old 1 image"
    );
}
