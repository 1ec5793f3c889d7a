//! Creating and removing cgroup subtrees.
//!
//! A group name such as `/kukeon/main` is joined under each mount, so it is
//! validated first: `.`/`..` would let a name escape the cgroup mount.
//! Creation reports exactly what it made so callers can roll back only that;
//! removal is bottom-up `rmdir`, the only way cgroupfs allows.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use super::mounts::{CgroupMounts, CgroupVersion};

/// What `create` did, so a failed operation can undo exactly its own work.
#[derive(Debug, Clone, Default)]
pub struct CreateReport {
    /// Directories made by this call, parents before children.
    pub created: Vec<PathBuf>,
    /// Directories (the group and its ancestors) that were already there.
    pub existed: Vec<PathBuf>,
    /// Controllers now available to the group: v2 its `cgroup.controllers`;
    /// v1 the resource controllers (not `name=*`) of hierarchies holding it.
    pub controllers: Vec<String>,
}

/// Controllers kukeon accounts on v2; enabled top-down when present.
const V2_CONTROLLERS: &[&str] = &["cpu", "memory", "io", "pids"];

/// Sleep between `rmdir` retries while a group still drains (EBUSY).
const RETRY_SLEEP: Duration = Duration::from_millis(50);

/// How long `remove_dirs` (rollback) waits for a busy dir.
const ROLLBACK_RETRY: Duration = Duration::from_secs(1);

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Attaches the path to an error; io errors otherwise do not say which file.
fn at(what: &str, path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

/// The components of a group name. Empty components (leading, doubled or
/// trailing `/`) are ignored; `.`, `..` and NUL are rejected so the result
/// always stays below the mount it is joined to.
pub fn group_components(group: &str) -> io::Result<Vec<&str>> {
    let mut out = Vec::new();
    for c in group.split('/') {
        match c {
            "" => {}
            "." | ".." => {
                return Err(invalid(format!(
                    "invalid cgroup name {group:?}: contains {c:?}"
                )))
            }
            c if c.contains('\0') => {
                return Err(invalid(format!(
                    "invalid cgroup name {group:?}: contains NUL"
                )))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The group as a relative path (empty for the root group).
pub fn group_relpath(group: &str) -> io::Result<PathBuf> {
    Ok(group_components(group)?.iter().collect())
}

/// Like `group_components`, but refuses the root group: creating or removing
/// "/" would act on the whole host hierarchy.
fn nonroot_components(group: &str) -> io::Result<Vec<&str>> {
    let comps = group_components(group)?;
    if comps.is_empty() {
        return Err(invalid(format!(
            "refusing to act on the root cgroup ({group:?})"
        )));
    }
    Ok(comps)
}

/// See `Cgroups::dirs`.
pub fn dirs(mounts: &CgroupMounts, group: &str) -> Vec<PathBuf> {
    let Ok(rel) = group_relpath(group) else {
        return Vec::new();
    };
    let bases: Vec<&Path> = match mounts.version {
        CgroupVersion::V2 => mounts.v2.iter().map(PathBuf::as_path).collect(),
        CgroupVersion::V1 => mounts.all_mounts(),
    };
    let mut seen = BTreeSet::new();
    bases
        .into_iter()
        .map(|b| b.join(&rel))
        .filter(|p| seen.insert(p.clone()))
        .collect()
}

/// See `Cgroups::exists`.
pub fn exists(mounts: &CgroupMounts, group: &str) -> bool {
    let Ok(rel) = group_relpath(group) else {
        return false;
    };
    match mounts.version {
        CgroupVersion::V2 => mounts.v2.as_ref().is_some_and(|m| m.join(&rel).is_dir()),
        CgroupVersion::V1 => ["memory", "cpuacct", "pids"]
            .iter()
            .filter_map(|c| mounts.v1_with(c))
            .any(|h| h.mount.join(&rel).is_dir()),
    }
}

/// Whitespace-separated words of a cgroup file; empty when unreadable.
fn read_words(path: &Path) -> Vec<String> {
    fs::read(path)
        .map(|b| {
            String::from_utf8_lossy(&b)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Mode of every cgroup folder kuke-tui makes, whatever the umask: with a
/// umask of 0 (seen in a VM's init) plain `mkdir` gave 0777, letting anyone
/// create groups or write limits below a realm.
const DIR_MODE: u32 = 0o755;

/// `mkdir` that tells "made it" from "was there" (a concurrent creator wins the race fine).
/// A made folder gets `DIR_MODE` exactly: created with it, and set again when
/// a restrictive umask took bits away.
fn mkdir(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    match fs::DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => {
            let mode = fs::metadata(path)
                .map_err(|e| at("stat", path, e))?
                .permissions()
                .mode()
                & 0o7777;
            if mode != DIR_MODE {
                fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))
                    .map_err(|e| at("chmod", path, e))?;
            }
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(false),
        Err(e) => Err(at("mkdir", path, e)),
    }
}

/// Enables on `dir` (for its children) each wanted controller it has. One
/// write per controller: a single combined write fails as a whole, and a
/// controller may legitimately be unavailable (e.g. `cpu` with RT tasks, or
/// a parent with processes), which must not block creating the group.
fn enable_subtree_controllers(dir: &Path) {
    let available = read_words(&dir.join("cgroup.controllers"));
    let enabled = read_words(&dir.join("cgroup.subtree_control"));
    for c in V2_CONTROLLERS {
        if available.iter().any(|a| a == c) && !enabled.iter().any(|e| e == c) {
            let _ = fs::write(dir.join("cgroup.subtree_control"), format!("+{c}"));
        }
    }
}

/// v1 cpuset children start with empty `cpus`/`mems` unless
/// `clone_children` is set, and then no task can join them; copy the parent's.
fn copy_cpuset_from_parent(dir: &Path) -> io::Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mine = dir.join(file);
        let current = fs::read_to_string(&mine).map_err(|e| at("read", &mine, e))?;
        if !current.trim().is_empty() {
            continue;
        }
        let from = parent.join(file);
        let value = fs::read_to_string(&from).map_err(|e| at("read", &from, e))?;
        if value.trim().is_empty() {
            continue;
        }
        fs::write(&mine, value.trim()).map_err(|e| at("write", &mine, e))?;
    }
    Ok(())
}

/// Walks `comps` below `mount`, creating what is missing. `before_child`
/// runs on each parent before its child is made (v2 controller delegation);
/// `after_create` runs on each directory this call made.
fn create_path(
    mount: &Path,
    comps: &[&str],
    report: &mut CreateReport,
    before_child: &dyn Fn(&Path),
    after_create: &dyn Fn(&Path) -> io::Result<()>,
) -> io::Result<()> {
    if !mount.is_dir() {
        return Err(at(
            "cgroup mount",
            mount,
            io::Error::new(io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut dir = mount.to_path_buf();
    for c in comps {
        before_child(&dir);
        dir.push(c);
        if mkdir(&dir)? {
            report.created.push(dir.clone());
            after_create(&dir)?;
        } else {
            report.existed.push(dir.clone());
        }
    }
    Ok(())
}

/// See `Cgroups::create`. On failure everything this call created is removed
/// again before the error is returned.
pub fn create(mounts: &CgroupMounts, group: &str) -> io::Result<CreateReport> {
    let comps = nonroot_components(group)?;
    let rel: PathBuf = comps.iter().collect();
    let mut report = CreateReport::default();
    let result = match mounts.version {
        CgroupVersion::V2 => match &mounts.v2 {
            // Controllers are enabled on every level down to the group
            // itself, so Kukeon's tree below a realm
            // (`<space>/<stack>/<cell>/<container>`) gets them too; a realm
            // holds no processes, so its own subtree_control is writable.
            Some(m) => create_path(m, &comps, &mut report, &enable_subtree_controllers, &|_| {
                Ok(())
            })
            .map(|()| enable_subtree_controllers(&m.join(&rel))),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no cgroup2 mount found",
            )),
        },
        CgroupVersion::V1 => mounts
            .v1
            .iter()
            .filter(|h| h.has_real_controller())
            .try_for_each(|h| {
                let after: &dyn Fn(&Path) -> io::Result<()> = if h.has("cpuset") {
                    &copy_cpuset_from_parent
                } else {
                    &|_| Ok(())
                };
                create_path(&h.mount, &comps, &mut report, &|_| {}, after)
            }),
    };
    if let Err(e) = result {
        let _ = remove_dirs(mounts, &report.created);
        return Err(e);
    }
    report.controllers = match mounts.version {
        CgroupVersion::V2 => mounts
            .v2
            .as_ref()
            .map(|m| read_words(&m.join(&rel).join("cgroup.controllers")))
            .unwrap_or_default(),
        CgroupVersion::V1 => {
            let set: BTreeSet<String> = mounts
                .v1
                .iter()
                .filter(|h| h.mount.join(&rel).is_dir())
                .flat_map(|h| h.controllers.iter())
                .filter(|c| !c.starts_with("name="))
                .cloned()
                .collect();
            set.into_iter().collect()
        }
    };
    Ok(report)
}

/// Number of normal components; deeper paths must go first.
fn depth(p: &Path) -> usize {
    p.components().count()
}

/// See `Cgroups::subtree_dirs`. Symlinks are not followed (cgroupfs has none,
/// so one would be foreign).
pub fn subtree_dirs(mounts: &CgroupMounts, group: &str) -> Vec<PathBuf> {
    if nonroot_components(group).is_err() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for top in dirs(mounts, group) {
        if !fs::symlink_metadata(&top).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        // Pre-order walk; every parent precedes its descendants.
        let mut stack = vec![top];
        while let Some(d) = stack.pop() {
            if let Ok(rd) = fs::read_dir(&d) {
                for e in rd.flatten() {
                    if e.file_type().is_ok_and(|t| t.is_dir()) {
                        stack.push(e.path());
                    }
                }
            }
            out.push(d);
        }
    }
    out.sort_by_key(|p| std::cmp::Reverse(depth(p)));
    out
}

/// `rmdir` that retries EBUSY until `deadline`. `Ok(false)` when already gone.
fn rmdir_retry(path: &Path, deadline: Instant) -> io::Result<bool> {
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                thread::sleep(RETRY_SLEEP);
            }
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                let held = holders(path);
                return Err(io::Error::new(
                    e.kind(),
                    format!("cgroup {} is busy{held}", path.display()),
                ));
            }
            Err(e) => return Err(at("rmdir", path, e)),
        }
    }
}

/// What keeps a cgroup from going: `: pid 123 (sleep), pid 456 (sh) still
/// run in it; stop them`, or empty when its `cgroup.procs` names nobody.
fn holders(dir: &Path) -> String {
    const SHOWN: usize = 5;
    let pids: Vec<String> = fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    if pids.is_empty() {
        return String::new();
    }
    let mut named: Vec<String> = pids
        .iter()
        .take(SHOWN)
        .map(|pid| {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            // comm is the process's own choice: keep it printable.
            let comm: String = comm.trim().chars().filter(|c| !c.is_control()).collect();
            format!("pid {pid} ({comm})")
        })
        .collect();
    if pids.len() > SHOWN {
        named.push(format!("{} more", pids.len() - SHOWN));
    }
    let verb = if pids.len() == 1 { "runs" } else { "run" };
    let them = if pids.len() == 1 { "it" } else { "them" };
    format!(": {} still {verb} in it; stop {them}", named.join(", "))
}

/// See `Cgroups::remove`. The retry budget is shared by the whole subtree.
pub fn remove(mounts: &CgroupMounts, group: &str, retry_for: Duration) -> io::Result<Vec<PathBuf>> {
    nonroot_components(group)?;
    let deadline = Instant::now() + retry_for;
    let mut removed = Vec::new();
    for d in subtree_dirs(mounts, group) {
        if rmdir_retry(&d, deadline)? {
            removed.push(d);
        }
    }
    Ok(removed)
}

/// True when `p` is strictly below one of our mounts with no `.`/`..` parts,
/// so rollback can never rmdir a mount point or something outside cgroupfs.
fn inside_mount(mounts: &CgroupMounts, p: &Path) -> bool {
    let clean = p.components().all(|c| {
        matches!(
            c,
            Component::RootDir | Component::Normal(_) | Component::Prefix(_)
        )
    });
    clean
        && mounts
            .all_mounts()
            .iter()
            .any(|m| p.starts_with(m) && depth(p) > depth(m))
}

/// See `Cgroups::remove_dirs`. Best effort: every dir is tried, the first
/// error is returned. Busy dirs are retried for up to a second in total.
pub fn remove_dirs(mounts: &CgroupMounts, dirs: &[PathBuf]) -> io::Result<()> {
    let mut sorted: Vec<&PathBuf> = dirs.iter().collect();
    sorted.sort_by(|a, b| depth(b).cmp(&depth(a)).then_with(|| a.cmp(b)));
    sorted.dedup();
    let deadline = Instant::now() + ROLLBACK_RETRY;
    let mut first_err = None;
    for d in sorted {
        let r = if inside_mount(mounts, d) {
            rmdir_retry(d, deadline).map(|_| ())
        } else {
            Err(invalid(format!(
                "refusing to rmdir {}: not inside a cgroup mount",
                d.display()
            )))
        };
        if let Err(e) = r {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::super::mounts::V1Hierarchy;
    use super::*;
    use tempfile::TempDir;

    #[test]
    fn group_names() {
        assert_eq!(
            group_components("/kukeon/main").unwrap(),
            vec!["kukeon", "main"]
        );
        assert_eq!(
            group_components("kukeon//main/").unwrap(),
            vec!["kukeon", "main"]
        );
        assert!(group_components("/").unwrap().is_empty());
        for bad in ["/..", "/kukeon/../x", "./a", "/a/.", "/a\0b"] {
            assert_eq!(
                group_components(bad).unwrap_err().kind(),
                io::ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
        assert_eq!(group_relpath("/a/b").unwrap(), PathBuf::from("a/b"));
    }

    /// A fake v1 layout in a temp dir; plain directories behave like cgroupfs
    /// for mkdir/rmdir, except that rmdir needs them empty.
    fn fake_v1(tmp: &TempDir) -> CgroupMounts {
        let h = |name: &str, ctrls: &[&str]| {
            let mount = tmp.path().join(name);
            fs::create_dir_all(&mount).unwrap();
            V1Hierarchy {
                mount,
                controllers: ctrls.iter().map(|s| s.to_string()).collect(),
            }
        };
        let unified = tmp.path().join("unified");
        fs::create_dir_all(&unified).unwrap();
        CgroupMounts {
            version: CgroupVersion::V1,
            v2: Some(unified),
            v1: vec![
                h("cpu", &["cpu"]),
                h("memory", &["memory"]),
                h("systemd", &["name=systemd"]),
            ],
        }
    }

    #[test]
    fn fake_v1_create_and_remove() {
        let tmp = TempDir::new().unwrap();
        let m = fake_v1(&tmp);
        assert_eq!(dirs(&m, "/k/a").len(), 4);
        assert!(!exists(&m, "/k/a"));
        let r = create(&m, "/k/a").unwrap();
        assert_eq!(r.created.len(), 4, "{r:?}");
        assert!(r.existed.is_empty());
        assert_eq!(r.controllers, vec!["cpu", "memory"]);
        assert!(!tmp.path().join("systemd/k").exists());
        assert!(!tmp.path().join("unified/k").exists());
        assert!(exists(&m, "/k/a"));

        let r2 = create(&m, "/k/b").unwrap();
        assert_eq!(r2.existed.len(), 2);
        assert_eq!(r2.created.len(), 2);

        // Something foreign in a named hierarchy is still cleaned up.
        fs::create_dir_all(tmp.path().join("systemd/k/a/x")).unwrap();
        let sub = subtree_dirs(&m, "/k");
        assert_eq!(sub.len(), 9);
        assert!(sub.windows(2).all(|w| depth(&w[0]) >= depth(&w[1])));

        // Rollback only what the second create made.
        remove_dirs(&m, &r2.created).unwrap();
        assert!(!tmp.path().join("cpu/k/b").exists());
        assert!(tmp.path().join("cpu/k/a").exists());

        let removed = remove(&m, "/k", Duration::from_millis(100)).unwrap();
        assert_eq!(removed.len(), 7);
        assert!(subtree_dirs(&m, "/k").is_empty());
        assert!(remove(&m, "/k", Duration::ZERO).unwrap().is_empty());
    }

    #[test]
    fn refuses_root_and_escapes() {
        let tmp = TempDir::new().unwrap();
        let m = fake_v1(&tmp);
        assert!(create(&m, "/").is_err());
        assert!(create(&m, "/../x").is_err());
        assert!(remove(&m, "", Duration::ZERO).is_err());
        assert!(remove(&m, "/a/..", Duration::ZERO).is_err());
        assert!(subtree_dirs(&m, "/").is_empty());
        assert!(dirs(&m, "/..").is_empty());
        assert!(!exists(&m, ".."));
        // remove_dirs never touches a mount point or a path outside.
        let outside = tmp.path().join("elsewhere");
        fs::create_dir(&outside).unwrap();
        let err = remove_dirs(&m, std::slice::from_ref(&outside)).unwrap_err();
        assert!(err.to_string().contains("elsewhere"), "{err}");
        assert!(remove_dirs(&m, &[tmp.path().join("cpu")]).is_err());
        assert!(outside.exists() && tmp.path().join("cpu").exists());
        assert!(remove_dirs(&m, &[tmp.path().join("cpu/x/../..")]).is_err());
    }

    #[test]
    fn failed_create_rolls_back() {
        let tmp = TempDir::new().unwrap();
        let mut m = fake_v1(&tmp);
        m.v1.push(V1Hierarchy {
            mount: tmp.path().join("missing"),
            controllers: vec!["pids".into()],
        });
        let err = create(&m, "/k/a").unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(!tmp.path().join("cpu/k").exists());
        assert!(!tmp.path().join("memory/k").exists());
    }

    #[test]
    fn remove_error_names_path() {
        let tmp = TempDir::new().unwrap();
        let m = fake_v1(&tmp);
        create(&m, "/k").unwrap();
        // A plain file makes rmdir fail with ENOTEMPTY (not retried).
        fs::write(tmp.path().join("cpu/k/file"), b"").unwrap();
        let err = remove(&m, "/k", Duration::from_millis(10)).unwrap_err();
        assert!(err.to_string().contains("cpu/k"), "{err}");
    }

    #[test]
    fn fake_v2_create_without_controller_files() {
        let tmp = TempDir::new().unwrap();
        let m = CgroupMounts {
            version: CgroupVersion::V2,
            v2: Some(tmp.path().to_path_buf()),
            v1: vec![],
        };
        fs::write(
            tmp.path().join("cgroup.controllers"),
            "cpu memory pids hugetlb\n",
        )
        .unwrap();
        fs::write(tmp.path().join("cgroup.subtree_control"), "").unwrap();
        let r = create(&m, "/k/a").unwrap();
        assert_eq!(r.created.len(), 2);
        assert_eq!(dirs(&m, "/k/a"), vec![tmp.path().join("k/a")]);
        // A plain file is rewritten by each `+ctrl` write; the last one wins.
        let sc = fs::read_to_string(tmp.path().join("cgroup.subtree_control")).unwrap();
        assert_eq!(sc, "+pids");
        assert!(exists(&m, "/k/a"));
    }

    /// Kukeon's tree on v2: `/kukeon/<realm>/<space>/<stack>/<cell>/<container>`.
    /// Each level the kernel made holds `cgroup.controllers`; creating (or
    /// repairing) a realm must enable the controllers on the root, on
    /// `/kukeon` and on the realm itself, so the spaces below get them.
    #[test]
    fn fake_v2_delegates_down_to_the_realm() {
        let tmp = TempDir::new().unwrap();
        let m = CgroupMounts {
            version: CgroupVersion::V2,
            v2: Some(tmp.path().to_path_buf()),
            v1: vec![],
        };
        let levels = ["", "kukeon", "kukeon/r", "kukeon/r/s", "kukeon/r/s/st"];
        for l in levels {
            let d = tmp.path().join(l);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("cgroup.controllers"), "cpu io memory pids\n").unwrap();
            fs::write(d.join("cgroup.subtree_control"), "").unwrap();
        }
        let r = create(&m, "/kukeon/r").unwrap();
        assert_eq!(r.existed.len(), 2, "{r:?}");
        assert_eq!(r.controllers, vec!["cpu", "io", "memory", "pids"]);
        // A plain file keeps only the last `+ctrl` write.
        for l in ["", "kukeon", "kukeon/r"] {
            let sc = fs::read_to_string(tmp.path().join(l).join("cgroup.subtree_control")).unwrap();
            assert_eq!(sc, "+pids", "subtree_control of {l:?}");
        }
        // Below the realm is Kukeon's (and runc's) to delegate.
        let below = fs::read_to_string(tmp.path().join("kukeon/r/s/cgroup.subtree_control"));
        assert_eq!(below.unwrap(), "");

        // A fresh realm under the same tree: its parents get delegated too.
        let r2 = create(&m, "/kukeon/r2").unwrap();
        assert_eq!(r2.created, vec![tmp.path().join("kukeon/r2")]);
    }

    #[test]
    fn made_folders_have_mode_0755() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = TempDir::new().unwrap();
        let m = fake_v1(&tmp);
        let r = create(&m, "/k/a").unwrap();
        for d in &r.created {
            let mode = fs::metadata(d).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o755, "{}", d.display());
        }
    }
}
