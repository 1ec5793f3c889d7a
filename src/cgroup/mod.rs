//! cgroup adapter: finds the hierarchies, creates and removes realm
//! subtrees, and reads usage, on both v2 and v1/hybrid hosts.
//!
//! Kukeon itself needs v2, but the console must still work on v1 machines
//! (CI, older hosts), so every operation branches on the detected layout
//! rather than assuming `/sys/fs/cgroup/<group>`.

mod mounts;
mod psi;
mod signal;
mod tree;
mod usage;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

pub use mounts::{CgroupMounts, CgroupVersion, V1Hierarchy};
pub use psi::{parse_pressure, Pressure, PsiAvg10};
pub use signal::{signal_in_cgroup, Signalled};
pub use tree::{group_components, group_relpath, CreateReport};
pub use usage::{
    parse_blkio_v1, parse_cpu_stat_usage, parse_cpuacct_usage_usec, parse_io_stat_v2, parse_keyed,
    parse_limit, parse_limit_v1, parse_u64, CachedReader, Limit, Usage,
};

/// The facade the ops layer uses; holds the mounts detected once at start.
#[derive(Debug, Clone)]
pub struct Cgroups {
    mounts: CgroupMounts,
}

impl Cgroups {
    pub fn new(mounts: CgroupMounts) -> Self {
        Cgroups { mounts }
    }

    /// Detects the mounts of this process's mount namespace.
    pub fn detect() -> io::Result<Self> {
        CgroupMounts::detect().map(Self::new)
    }

    pub fn mounts(&self) -> &CgroupMounts {
        &self.mounts
    }

    pub fn version(&self) -> CgroupVersion {
        self.mounts.version
    }

    /// Every directory where `group` (e.g. "/kukeon/main") lives or would
    /// live: v2 one; v1 one per hierarchy (named ones included) plus the
    /// unified mount if present. Empty for an invalid group name.
    pub fn dirs(&self, group: &str) -> Vec<PathBuf> {
        tree::dirs(&self.mounts, group)
    }

    /// True when the group exists where usage is read (v2 mount, or any of
    /// the v1 memory/cpuacct/pids hierarchies).
    pub fn exists(&self, group: &str) -> bool {
        tree::exists(&self.mounts, group)
    }

    /// Creates the group and missing ancestors. v2 delegates cpu, memory,
    /// io and pids down each ancestor's `cgroup.subtree_control` (each one
    /// tolerated if it cannot be enabled); v1 creates it in every hierarchy
    /// with a real controller and seeds cpuset `cpus`/`mems` from the parent.
    /// On error, whatever this call created is removed again.
    pub fn create(&self, group: &str) -> io::Result<CreateReport> {
        tree::create(&self.mounts, group)
    }

    /// Every existing directory of the subtree rooted at `group`, across all
    /// hierarchies, deepest first (safe `rmdir` order).
    pub fn subtree_dirs(&self, group: &str) -> Vec<PathBuf> {
        tree::subtree_dirs(&self.mounts, group)
    }

    /// `rmdir`s the whole subtree deepest first, retrying EBUSY every 50 ms
    /// until `retry_for` (a budget for the whole call) elapses. Missing dirs
    /// are fine. Returns what was removed; errors name the path.
    pub fn remove(&self, group: &str, retry_for: Duration) -> io::Result<Vec<PathBuf>> {
        tree::remove(&self.mounts, group, retry_for)
    }

    /// Removes exactly these dirs deepest first (rollback of `create`).
    /// Refuses paths that are not strictly inside a cgroup mount.
    pub fn remove_dirs(&self, dirs: &[PathBuf]) -> io::Result<()> {
        tree::remove_dirs(&self.mounts, dirs)
    }

    /// One reading of the group's usage; unknown values are `None`, never 0.
    pub fn read_usage(&self, group: &str) -> Usage {
        usage::read_usage(&self.mounts, group)
    }

    /// The same reading through `reader`, which keeps the files open for the
    /// next one (see `CachedReader`).
    pub fn read_usage_cached(&self, reader: &mut CachedReader, group: &str) -> Usage {
        reader.read_usage(&self.mounts, group)
    }
}

/// Tests against the machine's real hierarchy (CI runs them as root).
#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Removes the test's top group on drop, so a failed assertion leaves no litter.
    struct Cleanup<'a> {
        cg: &'a Cgroups,
        top: String,
    }

    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _ = self.cg.remove(&self.top, Duration::from_secs(2));
        }
    }

    pub(super) fn unique_top(tag: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        format!(
            "/kuke-tui-unit-{}-{nanos}-{}-{tag}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// `None` (test skipped) unless root on a host with cgroups mounted.
    pub(super) fn real() -> Option<Cgroups> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipping real cgroup test: not root");
            return None;
        }
        let cg = Cgroups::detect().expect("read /proc/self/mountinfo");
        if cg.mounts().v2.is_none() && cg.mounts().v1.is_empty() {
            eprintln!("skipping real cgroup test: no cgroup mounts");
            return None;
        }
        Some(cg)
    }

    #[test]
    fn real_create_usage_remove() {
        let Some(cg) = real() else { return };
        eprintln!("cgroups: {}", cg.mounts().describe());
        let top = unique_top("cur");
        let guard = Cleanup {
            cg: &cg,
            top: top.clone(),
        };
        let group = format!("{top}/realm-a");
        assert!(!cg.exists(&group));

        let report = cg.create(&group).expect("create");
        assert!(report.existed.is_empty(), "{report:?}");
        assert!(cg.exists(&group));
        match cg.version() {
            CgroupVersion::V1 => {
                for h in cg.mounts().v1.iter().filter(|h| h.has_real_controller()) {
                    let d = h.mount.join(group_relpath(&group).unwrap());
                    assert!(d.is_dir(), "missing {}", d.display());
                    assert!(report.created.contains(&d));
                    for c in h.controllers.iter() {
                        assert!(report.controllers.contains(c), "{c} not in {report:?}");
                    }
                }
                let cpuset = cg.mounts().v1_with("cpuset").expect("cpuset hierarchy");
                let d = cpuset.mount.join(group_relpath(&group).unwrap());
                let cpus = std::fs::read_to_string(d.join("cpuset.cpus")).unwrap();
                let mems = std::fs::read_to_string(d.join("cpuset.mems")).unwrap();
                assert!(!cpus.trim().is_empty() && !mems.trim().is_empty());
                // Named and unified hierarchies are not created in.
                for h in cg.mounts().v1.iter().filter(|h| !h.has_real_controller()) {
                    assert!(!h.mount.join(group_relpath(&top).unwrap()).exists());
                }
            }
            CgroupVersion::V2 => {
                let m = cg.mounts().v2.clone().unwrap();
                assert!(m.join(group_relpath(&group).unwrap()).is_dir());
            }
        }

        let u = cg.read_usage(&group);
        eprintln!("usage: {u:?}");
        if cg.version() == CgroupVersion::V1 || report.controllers.iter().any(|c| c == "pids") {
            assert_eq!(u.pids_current, Some(0));
        }
        if cg.version() == CgroupVersion::V1 || report.controllers.iter().any(|c| c == "memory") {
            assert!(u.memory_current.is_some());
        }
        assert!(u.cpu_usage_usec.is_some());

        let sub = cg.subtree_dirs(&top);
        assert_eq!(sub.len(), report.created.len());
        let removed = cg.remove(&top, Duration::from_secs(2)).expect("remove");
        assert_eq!(removed.len(), report.created.len());
        for d in cg.dirs(&top) {
            assert!(!d.exists(), "left behind {}", d.display());
        }
        assert!(!cg.exists(&group));
        assert_eq!(cg.read_usage(&group), Usage::default());
        drop(guard);
    }

    #[test]
    fn real_create_existing_and_rollback() {
        let Some(cg) = real() else { return };
        let top = unique_top("exist");
        let _guard = Cleanup {
            cg: &cg,
            top: top.clone(),
        };
        let first = cg.create(&format!("{top}/realm-a")).expect("create a");
        let again = cg
            .create(&format!("{top}/realm-a"))
            .expect("create a again");
        assert!(again.created.is_empty(), "{again:?}");
        assert_eq!(again.existed.len(), first.created.len());
        assert!(!again.controllers.is_empty());

        let b = cg.create(&format!("{top}/realm-b")).expect("create b");
        assert_eq!(b.created.len(), b.existed.len(), "{b:?}");
        cg.remove_dirs(&b.created).expect("rollback b");
        assert!(!cg.exists(&format!("{top}/realm-b")));
        assert!(cg.exists(&format!("{top}/realm-a")));
        // Rollback refuses anything that is not inside a cgroup mount.
        assert!(cg.remove_dirs(&[Path::new("/tmp").to_path_buf()]).is_err());
        let removed = cg.remove(&top, Duration::from_secs(2)).unwrap();
        assert_eq!(removed.len(), first.created.len());
    }

    /// The cached reader keeps files open between readings: that must not
    /// stop the group being removed, a removed group must read as unknown,
    /// and a re-created one (new files) must read its own live values.
    #[test]
    fn real_cached_reader_follows_remove_and_recreate() {
        let Some(cg) = real() else { return };
        let top = unique_top("cached");
        let _guard = Cleanup {
            cg: &cg,
            top: top.clone(),
        };
        let group = format!("{top}/realm-a");
        let report = cg.create(&group).expect("create");
        let mut reader = CachedReader::new(64);
        let first = cg.read_usage_cached(&mut reader, &group);
        assert_eq!(first, cg.read_usage(&group));
        assert!(first.cpu_usage_usec.is_some(), "{first:?}");
        let open = reader.open_files();
        assert!(open >= 3, "files kept open: {open}");
        // A second reading goes through the open files and opens no more.
        assert_eq!(cg.read_usage_cached(&mut reader, &group), first);
        assert_eq!(reader.open_files(), open);

        cg.remove(&top, Duration::from_secs(2))
            .expect("rmdir with the reader's files open");
        assert!(!cg.exists(&group));
        assert_eq!(cg.read_usage_cached(&mut reader, &group), Usage::default());
        assert_eq!(reader.open_files(), 0, "stale files closed");

        cg.create(&group).expect("re-create");
        let pids_group_dir = cg
            .dirs(&group)
            .into_iter()
            .find(|d| d.join("cgroup.procs").exists() && d.join("pids.current").exists());
        let again = cg.read_usage_cached(&mut reader, &group);
        assert_eq!(again, cg.read_usage(&group));
        assert!(again.cpu_usage_usec.is_some());
        assert_eq!(reader.open_files(), open);
        // A process joining the new group shows in the cached reading.
        if let Some(dir) = pids_group_dir {
            let mut child = std::process::Command::new("sleep")
                .arg("30")
                .spawn()
                .expect("spawn sleep");
            std::fs::write(dir.join("cgroup.procs"), child.id().to_string()).expect("join");
            let pids = cg.read_usage_cached(&mut reader, &group).pids_current;
            let _ = child.kill();
            let _ = child.wait();
            assert_eq!(pids, Some(1));
        }
        reader.retain(|_| false);
        assert_eq!(reader.open_files(), 0);
        drop(report);
    }

    /// A live process makes rmdir fail with EBUSY; once it is gone the retry succeeds.
    #[test]
    fn real_remove_busy_then_retry() {
        let Some(cg) = real() else { return };
        let top = unique_top("busy");
        let _guard = Cleanup {
            cg: &cg,
            top: top.clone(),
        };
        let group = format!("{top}/realm-a");
        let report = cg.create(&group).expect("create");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id().to_string();
        for d in &report.created {
            if d.ends_with("realm-a") {
                std::fs::write(d.join("cgroup.procs"), &pid).expect("join cgroup");
            }
        }
        assert_eq!(cg.read_usage(&group).pids_current, Some(1));
        let err = cg.remove(&top, Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("realm-a"), "{err}");
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let _ = child.kill();
            let _ = child.wait();
        });
        let removed = cg
            .remove(&top, Duration::from_secs(5))
            .expect("remove after kill");
        killer.join().unwrap();
        assert!(!removed.is_empty());
        assert!(cg.subtree_dirs(&top).is_empty());
    }
}
