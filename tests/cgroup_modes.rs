//! cgroup folders kuke-tui makes have mode 0755 whatever the umask: in a
//! VM whose init left the umask at 0 they came out 0777 (anyone could make
//! groups or write limits below a realm).
//!
//! Needs root and containerd (scripts/setup.sh), like the other suites.

mod common;

use common::{ok_stdout, Harness};
use std::os::unix::fs::PermissionsExt;

#[test]
fn realm_cgroup_folders_are_0755_under_umask_0() {
    let h = Harness::start();
    // The CLI runs with umask 0 (set by the shell that execs it).
    let out = h
        .kuke_via(&["sh", "-c", "umask 0 && exec \"$0\" \"$@\""])
        .args(["create", "realm", "umask"])
        .output()
        .expect("run kuke-tui");
    ok_stdout(&out, "create realm under umask 0");

    let realm = format!("{}/umask", h.cgroup_root);
    let realm_dirs = h.cgroup_dirs(&realm);
    assert!(!realm_dirs.is_empty(), "no cgroup folder for {realm}");
    // The harness' prefix (made by this create too) and the realm's own.
    let prefix_dirs = h.cgroup_dirs(&h.cgroup_root);
    for d in realm_dirs.iter().chain(&prefix_dirs) {
        let mode = std::fs::metadata(d).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o755, "{} has mode {mode:o}", d.display());
    }
    ok_stdout(
        &h.kuke()
            .args(["delete", "realm", "umask", "--yes"])
            .output()
            .unwrap(),
        "delete realm",
    );
    eprintln!(
        "cgroup_modes: {} realm folders and {} prefix folders are 0755 under umask 0",
        realm_dirs.len(),
        prefix_dirs.len()
    );
}
