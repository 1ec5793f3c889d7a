//! Filesystem faults (issue 5, point 4) against a private containerd and real
//! cgroups: a read-only run path, a full disk, records that are truncated,
//! garbage, 10 MiB, FIFOs or symlinks out of the run path, a realm directory
//! that is a symlink out of it, and a realm cgroup that is missing or busy.
//!
//! Every fault must give one clear error line (exit 1, the path and the
//! problem named), never a panic, no partial write, nothing half-created in
//! containerd or the cgroup tree, and nothing written outside the run path.
//! Both record layouts are driven where the code paths differ: the
//! documented `<run>/<realm>/realm.yaml` and Kukeon's
//! `<run>/data/<realm>/metadata.json` (`--layout kukeon`).
//!
//! Mounts (a read-only bind, small tmpfs) live inside the harness dir and are
//! unmounted by a guard (and again by the harness on drop); a process parked
//! in a realm's cgroup is our own child, killed by its pid.

mod common;

use common::{
    credential_args, json_of, ok_stdout, one_line_error, realm_item, run_cmd, stderr_of, Harness,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

const READ_ONLY: &str = "Read-only file system";
const NO_SPACE: &str = "No space left on device";
const SECRET: &str = "fs-Fault-Pa55";

// ---------------------------------------------------------------------------
// running the binary

// ---------------------------------------------------------------------------
// a run path in one of the two layouts

#[derive(Clone, Copy, Debug, PartialEq)]
enum Layout {
    Docs,
    Kukeon,
}

/// A run path inside the harness dir, read in one layout. Realm names carry
/// the layout (`keep-d`, `keep-k`) so two sites never share a cgroup.
struct Site<'a> {
    h: &'a Harness,
    run: PathBuf,
    layout: Layout,
}

impl<'a> Site<'a> {
    fn new(h: &'a Harness, layout: Layout) -> Self {
        let run = match layout {
            Layout::Docs => h.run_path.clone(),
            Layout::Kukeon => h.dir.join("run-kukeon"),
        };
        fs::create_dir_all(&run).unwrap();
        Site { h, run, layout }
    }

    /// `base` with the layout's suffix.
    fn realm(&self, base: &str) -> String {
        match self.layout {
            Layout::Docs => format!("{base}-d"),
            Layout::Kukeon => format!("{base}-k"),
        }
    }

    fn realms_root(&self) -> PathBuf {
        match self.layout {
            Layout::Docs => self.run.clone(),
            Layout::Kukeon => self.run.join("data"),
        }
    }

    fn realm_dir(&self, realm: &str) -> PathBuf {
        self.realms_root().join(realm)
    }

    fn record(&self, realm: &str) -> PathBuf {
        self.realm_dir(realm).join(match self.layout {
            Layout::Docs => "realm.yaml",
            Layout::Kukeon => "metadata.json",
        })
    }

    fn namespace(&self, realm: &str) -> String {
        match self.layout {
            Layout::Docs => format!("kukeon-{realm}"),
            Layout::Kukeon => format!("{realm}.kukeon.io"),
        }
    }

    fn cgroup(&self, realm: &str) -> String {
        format!("{}/{realm}", self.h.cgroup_root)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.h.kuke();
        c.env("KUKEON_RUN_PATH", &self.run).args(args);
        if self.layout == Layout::Kukeon {
            c.args(["--layout", "kukeon"]);
        }
        c
    }

    fn kuke(&self, args: &[&str]) -> Output {
        run_cmd(self.cmd(args), None)
    }

    fn kuke_ok(&self, args: &[&str]) -> String {
        ok_stdout(&self.kuke(args), &format!("{:?} {args:?}", self.layout))
    }

    fn list(&self) -> Value {
        let text = self.kuke_ok(&["get", "realms", "-o", "json"]);
        json_of(&text, "get realms")
    }

    fn create(&self, realm: &str) {
        self.kuke_ok(&["create", "realm", realm]);
    }

    fn add_credential(&self, realm: &str, server: &str) -> Output {
        let secret = self.h.dir.join("secret");
        fs::write(&secret, format!("{SECRET}\n")).unwrap();
        self.kuke(&credential_args(
            realm,
            server,
            "robot",
            &["--from-file", secret.to_str().unwrap()],
        ))
    }

    fn delete_credential(&self, realm: &str, server: &str) -> Output {
        self.kuke(&["delete", "registry-credential", realm, "--server", server])
    }

    fn has_namespace(&self, realm: &str) -> bool {
        self.h.namespaces().contains(&self.namespace(realm))
    }

    fn has_cgroup(&self, realm: &str) -> bool {
        !self.h.cgroup_dirs(&self.cgroup(realm)).is_empty()
    }
}

// ---------------------------------------------------------------------------
// mounts, trees and processes

/// Something mounted at `at`, unmounted on drop (lazily if busy).
struct Mounted {
    at: PathBuf,
}

impl Mounted {
    /// `at` bind-mounted onto itself, then made read-only.
    fn read_only(at: &Path) -> Mounted {
        sh_ok("mount", &["--bind", path_str(at), path_str(at)]);
        let m = Mounted { at: at.into() };
        sh_ok("mount", &["-o", "remount,bind,ro", path_str(at)]);
        m
    }

    /// A fresh tmpfs of `size` at `at`.
    fn tmpfs(at: &Path, size: &str) -> Mounted {
        fs::create_dir_all(at).unwrap();
        let opts = format!("size={size},mode=0755");
        sh_ok(
            "mount",
            &["-t", "tmpfs", "-o", &opts, "tmpfs", path_str(at)],
        );
        Mounted { at: at.into() }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.at).status();
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn sh_ok(prog: &str, args: &[&str]) {
    let out = Command::new(prog).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{prog} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every entry below `dir` (symlinks not followed) with what identifies its
/// state: kind, mode, size, mtime, inode and, for files, the bytes' hash;
/// for symlinks their target.
fn tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(read) = fs::read_dir(dir) else {
            return;
        };
        for e in read.flatten() {
            let path = e.path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            let ft = meta.file_type();
            let what = if ft.is_symlink() {
                format!("link -> {}", fs::read_link(&path).unwrap().display())
            } else if ft.is_dir() {
                walk(root, &path, out);
                format!("dir {:o}", meta.mode())
            } else if ft.is_file() {
                use std::hash::{Hash, Hasher};
                let mut hasher = std::collections::hash_map::DefaultHasher::new();
                fs::read(&path).unwrap().hash(&mut hasher);
                format!(
                    "file {:o} {} bytes ino {} mtime {}.{} hash {:x}",
                    meta.mode(),
                    meta.len(),
                    meta.ino(),
                    meta.mtime(),
                    meta.mtime_nsec(),
                    hasher.finish()
                )
            } else {
                format!("special {:?} {:o}", ft.is_fifo(), meta.mode())
            };
            out.insert(rel, what);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn assert_same_tree(before: &BTreeMap<PathBuf, String>, dir: &Path, what: &str) {
    let after = tree(dir);
    if &after != before {
        let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
        let new: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
        let changed: Vec<_> = before
            .iter()
            .filter(|(k, v)| after.get(*k).is_some_and(|a| a != *v))
            .map(|(k, _)| k)
            .collect();
        panic!(
            "{what}: {} changed: new {new:?}, gone {gone:?}, changed {changed:?}",
            dir.display()
        );
    }
}

/// Names directly in the harness dir: a write that escaped the run path
/// would land next to it.
fn top_level(h: &Harness) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(&h.dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Temp files (`.realm.yaml.tmp-*`, `.metadata.json.tmp-*`) anywhere below.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    tree(dir)
        .into_keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".tmp-"))
        })
        .collect()
}

/// Writes until the file system says ENOSPC; returns how much went in.
fn fill(dir: &Path) -> u64 {
    let mut f = fs::File::create(dir.join("filler")).unwrap();
    let chunk = [0xa5u8; 512];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling {}: {e}", dir.display()),
        }
    }
    written
}

/// A `sleep` of our own, killed (by its pid) and reaped on drop.
struct Sleeper(Child);

impl Sleeper {
    fn start() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .spawn()
                .expect("spawn sleep"),
        )
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------
// tests

/// A read-only run path: every mutating command fails with one line naming
/// the path and the problem, and changes nothing on disk, in containerd or in
/// the cgroup tree; every read still works.
#[test]
fn read_only_run_path_refuses_writes_and_still_reads() {
    let h = Harness::start();
    for layout in [Layout::Docs, Layout::Kukeon] {
        let site = Site::new(&h, layout);
        let keep = site.realm("keep");
        let fresh = site.realm("fresh");
        site.create(&keep);
        ok_stdout(&site.add_credential(&keep, "r.io"), "add credential");
        // A realm whose namespace went missing: a create would repair it.
        let bare = site.realm("bare");
        site.create(&bare);
        h.ctr_ok(&["namespaces", "rm", &site.namespace(&bare)]);

        let ro = Mounted::read_only(&site.run);
        let before = tree(&site.run);
        let namespaces = h.namespaces();
        let record = site.record(&keep);
        let record_s = record.display().to_string();

        // create of a new realm: nothing in containerd, no cgroup.
        let out = site.kuke(&["create", "realm", &fresh]);
        let err = one_line_error(&out, 1, &[READ_ONLY, "read-write"]);
        assert!(
            err.contains(path_str(&site.realm_dir(&fresh))),
            "names the path: {err}"
        );
        assert!(!site.has_namespace(&fresh) && !site.has_cgroup(&fresh));

        // create as a repair: the missing namespace stays missing.
        let out = site.kuke(&["create", "realm", &bare]);
        one_line_error(&out, 1, &[READ_ONLY, path_str(&site.realm_dir(&bare))]);
        assert!(!site.has_namespace(&bare), "repair must not half-happen");

        // credentials: add, update and remove.
        for out in [
            site.add_credential(&keep, "new.io"),
            site.add_credential(&keep, "r.io"),
            site.delete_credential(&keep, "r.io"),
        ] {
            one_line_error(&out, 1, &[READ_ONLY, &record_s]);
        }

        // delete: refused before anything in containerd or cgroups goes.
        let out = site.kuke(&["delete", "realm", &keep, "--yes"]);
        one_line_error(&out, 1, &[READ_ONLY, path_str(&site.realm_dir(&keep))]);
        assert!(site.has_namespace(&keep), "namespace kept");
        assert!(site.has_cgroup(&keep), "cgroup kept");

        assert_same_tree(&before, &site.run, "read-only run path");
        assert_eq!(h.namespaces(), namespaces, "containerd unchanged");

        // Reads work.
        let list = site.list();
        assert_eq!(realm_item(&list, &keep)["state"], "Ready", "{list}");
        assert_eq!(realm_item(&list, &keep)["counts"]["registryCredentials"], 1);
        let detail: Value =
            serde_json::from_str(&site.kuke_ok(&["get", "realm", &keep, "-o", "json"])).unwrap();
        assert_eq!(detail["metadata"]["name"], keep.as_str());
        let creds = site.kuke_ok(&["get", "registry-credentials", &keep, "-o", "json"]);
        assert!(creds.contains("r.io") && !creds.contains(SECRET), "{creds}");
        site.kuke_ok(&["top", "--count", "1", "--interval", "100ms", "-o", "json"]);
        assert_same_tree(&before, &site.run, "reads on a read-only run path");

        drop(ro);
        for realm in [&keep, &bare] {
            site.kuke_ok(&["delete", "realm", realm, "--yes"]);
            assert!(!site.realm_dir(realm).exists() && !site.has_cgroup(realm));
        }
    }
}

/// A full file system: creates and credential writes fail with "no space",
/// the existing record is byte-for-byte unchanged, no temp file is left, and
/// nothing is half-created in containerd or cgroups. Delete still works.
#[test]
fn full_disk_fails_cleanly_without_partial_writes() {
    let h = Harness::start();
    for layout in [Layout::Docs, Layout::Kukeon] {
        let mut site = Site::new(&h, layout);
        site.run = h.dir.join(format!("full-{layout:?}"));
        let _tmpfs = Mounted::tmpfs(&site.run, "64k");
        let keep = site.realm("keep");
        let fresh = site.realm("fresh");
        site.create(&keep);
        ok_stdout(&site.add_credential(&keep, "r.io"), "add credential");
        let filled = fill(&site.run);
        eprintln!("fs_faults: {layout:?} tmpfs of 64k full after {filled} filler bytes");

        let before = tree(&site.run);
        let namespaces = h.namespaces();
        let record = site.record(&keep);
        let record_s = record.display().to_string();

        let out = site.kuke(&["create", "realm", &fresh]);
        let err = one_line_error(&out, 1, &[NO_SPACE, "free space"]);
        assert!(err.contains(path_str(&site.realm_dir(&fresh))), "{err}");
        assert!(!site.realm_dir(&fresh).exists(), "rolled back");
        assert!(!site.has_namespace(&fresh) && !site.has_cgroup(&fresh));

        for out in [
            site.add_credential(&keep, "new.io"),
            site.add_credential(&keep, "r.io"),
            site.delete_credential(&keep, "r.io"),
        ] {
            one_line_error(&out, 1, &[NO_SPACE, &record_s]);
        }
        assert_eq!(temp_files(&site.run), Vec::<PathBuf>::new());
        assert_same_tree(&before, &site.run, "full disk");
        assert_eq!(h.namespaces(), namespaces, "containerd unchanged");
        let list = site.list();
        let item = realm_item(&list, &keep);
        assert_eq!(item["state"], "Ready", "{list}");
        assert_eq!(item["counts"]["registryCredentials"], 1, "{item}");

        // Deleting frees space and needs none.
        site.kuke_ok(&["delete", "realm", &keep, "--yes"]);
        assert!(!site.realm_dir(&keep).exists());
        assert!(!site.has_namespace(&keep) && !site.has_cgroup(&keep));
    }
}

/// Records that are torn, empty, garbage, 10 MiB, a FIFO, a symlink out of
/// the run path, and a realm directory that is a symlink out of it: each is
/// listed Invalid with its file and problem beside the good realm; describe,
/// credential writes and create refuse it in one line and write nothing;
/// delete removes it (a link itself, never its target); nothing outside the
/// run path is read into a record or written.
#[test]
fn bad_records_are_invalid_beside_good_ones_and_never_followed() {
    let h = Harness::start();
    let outside = h.dir.join("outside");
    fs::create_dir_all(&outside).unwrap();
    let mut figures = Vec::new();
    for layout in [Layout::Docs, Layout::Kukeon] {
        let site = Site::new(&h, layout);
        let good = site.realm("good");
        site.create(&good);
        ok_stdout(&site.add_credential(&good, "r.io"), "add credential");
        let good_text = fs::read_to_string(site.record(&good)).unwrap();
        // A valid record of another name, as the realm's own would be.
        let record_of = |realm: &str| good_text.replace(&good, realm);
        let seed = |realm: &str, bytes: &[u8]| {
            fs::create_dir_all(site.realm_dir(realm)).unwrap();
            fs::write(site.record(realm), bytes).unwrap();
        };

        // Torn mid-key ("names|pace"), as a crash mid-write leaves it.
        let cut = site.realm("cut");
        let text = record_of(&cut);
        let at = text.find("namespace").unwrap() + 5;
        seed(&cut, &text.as_bytes()[..at]);
        let empty = site.realm("empty");
        seed(&empty, b"");
        let junk = site.realm("junk");
        seed(
            &junk,
            b"\x00\x01\xff\xfe garbage \x1b[31m\x1b]0;pwned\x07 {{{\x00",
        );
        let huge = site.realm("huge");
        let mut big = record_of(&huge).into_bytes();
        big.resize(10 << 20, b' ');
        seed(&huge, &big);
        let fifo = site.realm("fifo");
        fs::create_dir_all(site.realm_dir(&fifo)).unwrap();
        let c = std::ffi::CString::new(path_str(&site.record(&fifo))).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        // The record is a symlink to a valid record outside the run path.
        let linkrec = site.realm("linkrec");
        let target = outside.join(format!("{linkrec}.record"));
        fs::write(&target, record_of(&linkrec)).unwrap();
        fs::create_dir_all(site.realm_dir(&linkrec)).unwrap();
        std::os::unix::fs::symlink(&target, site.record(&linkrec)).unwrap();
        // The realm directory is a symlink to a realm directory outside.
        let linkdir = site.realm("linkdir");
        let target_dir = outside.join(&linkdir);
        fs::create_dir_all(target_dir.join("space1")).unwrap();
        fs::write(
            target_dir.join(site.record(&linkdir).file_name().unwrap()),
            record_of(&linkdir),
        )
        .unwrap();
        fs::write(target_dir.join("space1/space.yaml"), "kind: Space\n").unwrap();
        fs::write(target_dir.join("space1/metadata.json"), "{}\n").unwrap();
        std::os::unix::fs::symlink(&target_dir, site.realm_dir(&linkdir)).unwrap();

        let outside_before = tree(&outside);
        let top_before = top_level(&h);
        let good_before = fs::read(site.record(&good)).unwrap();
        let namespaces = h.namespaces();

        // The listing: every bad realm Invalid, with its file and problem.
        let started = Instant::now();
        let list = site.list();
        let took = started.elapsed();
        figures.push(format!(
            "fs_faults: {layout:?} get realms -o json with a 10 MiB record took {took:?}"
        ));
        assert_eq!(realm_item(&list, &good)["state"], "Ready", "{list}");
        let record_name = site.record(&good).file_name().unwrap().to_owned();
        let record_name = record_name.to_str().unwrap();
        let expect: [(&str, &[&str]); 7] = [
            (&cut, &[record_name]),
            (&empty, &[record_name]),
            (&junk, &[record_name]),
            (&huge, &["10485", "1 MiB limit"]),
            (&fifo, &["not a regular file"]),
            (&linkrec, &["symlink", "refusing to follow"]),
            (&linkdir, &["symlink", "refusing to follow"]),
        ];
        for (realm, needles) in expect {
            let item = realm_item(&list, realm);
            assert_eq!(item["state"], "Invalid", "{item}");
            assert_eq!(item["valid"], false, "{item}");
            let err = item["error"].as_str().unwrap_or_default();
            assert!(
                err.contains(path_str(&site.realm_dir(realm))),
                "{realm}: the error names the file: {err}"
            );
            for needle in needles {
                assert!(err.contains(needle), "{realm}: {err:?} lacks {needle:?}");
            }
            assert_eq!(
                item["counts"]["spaces"], 0,
                "nothing read through a link: {item}"
            );
        }
        // The table: rows plus one warning line per bad realm, no raw escapes.
        let out = site.kuke(&["get", "realms"]);
        let table = ok_stdout(&out, "get realms");
        assert!(
            table.contains(&good) && table.contains("Invalid"),
            "{table}"
        );
        let warnings = stderr_of(&out);
        assert_eq!(warnings.lines().count(), 7, "{warnings}");
        assert!(!warnings.contains('\u{1b}') && !table.contains('\u{1b}'));
        // top samples every realm without following links.
        site.kuke_ok(&["top", "--count", "1", "--interval", "100ms", "-o", "json"]);

        for (realm, _) in expect {
            let dir = site.realm_dir(realm);
            let dir_s = path_str(&dir);
            let out = site.kuke(&["get", "realm", realm, "-o", "json"]);
            one_line_error(&out, 1, &[dir_s, "unusable record"]);
            let out = site.kuke(&["get", "registry-credentials", realm]);
            one_line_error(&out, 1, &[dir_s, "unusable record"]);
            let out = site.add_credential(realm, "x.io");
            one_line_error(&out, 1, &[dir_s]);
            let out = site.kuke(&["create", "realm", realm]);
            one_line_error(&out, 1, &[dir_s]);
            assert!(
                !site.has_namespace(realm) && !site.has_cgroup(realm),
                "{realm}"
            );
        }
        assert_same_tree(
            &outside_before,
            &outside,
            "symlink targets after refused writes",
        );
        assert_eq!(h.namespaces(), namespaces, "containerd unchanged");

        // Each bad realm can be deleted; a link goes, its target stays.
        for (realm, _) in expect {
            let started = Instant::now();
            site.kuke_ok(&["delete", "realm", realm, "--yes"]);
            if realm == huge.as_str() {
                figures.push(format!(
                    "fs_faults: {layout:?} delete realm with a 10 MiB record took {:?}",
                    started.elapsed()
                ));
            }
            assert!(
                fs::symlink_metadata(site.realm_dir(realm)).is_err(),
                "{realm} removed"
            );
        }
        assert_same_tree(&outside_before, &outside, "symlink targets after deletes");
        assert_eq!(
            top_level(&h),
            top_before,
            "nothing new next to the run path"
        );
        assert_eq!(fs::read(site.record(&good)).unwrap(), good_before);
        let list = site.list();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        site.kuke_ok(&["delete", "realm", &good, "--yes"]);
    }
    for line in figures {
        eprintln!("{line}");
    }
}

/// A realm's cgroup removed behind our back: listed Degraded with the cgroup
/// missing, `top` still samples, `create` repairs it, `delete` completes.
#[test]
fn missing_cgroup_is_shown_repaired_and_deletable() {
    let h = Harness::start();
    let site = Site::new(&h, Layout::Docs);
    let realm = "nocg";
    site.create(realm);
    let remove_cgroup = || {
        let dirs = h.cgroup_dirs(&site.cgroup(realm));
        assert!(!dirs.is_empty());
        for d in dirs {
            fs::remove_dir(&d).unwrap_or_else(|e| panic!("rmdir {}: {e}", d.display()));
        }
        assert!(!site.has_cgroup(realm));
    };
    remove_cgroup();

    let list = site.list();
    let item = realm_item(&list, realm);
    assert_eq!(item["state"], "Degraded", "{item}");
    assert_eq!(item["observed"]["cgroupExists"], false, "{item}");
    assert_eq!(item["observed"]["namespaceExists"], true, "{item}");
    let detail: Value =
        serde_json::from_str(&site.kuke_ok(&["get", "realm", realm, "-o", "json"])).unwrap();
    assert_eq!(detail["observed"]["cgroupExists"], false, "{detail}");
    let top = site.kuke_ok(&["top", "--count", "1", "--interval", "100ms", "-o", "json"]);
    let sample: Value = serde_json::from_str(top.lines().next().unwrap()).unwrap();
    let row = sample["realms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["realm"] == realm)
        .unwrap_or_else(|| panic!("{realm} sampled: {sample}"));
    assert_eq!(row["cgroupExists"], false, "{row}");
    let table = site.kuke_ok(&["top", "--count", "1", "--interval", "100ms"]);
    assert!(table.contains(realm), "{table}");

    let out = site.kuke_ok(&["create", "realm", realm]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("cgroup") && l.contains("repaired")),
        "{out}"
    );
    assert!(site.has_cgroup(realm));
    assert_eq!(realm_item(&site.list(), realm)["state"], "Ready");

    remove_cgroup();
    site.kuke_ok(&["delete", "realm", realm, "--yes"]);
    assert!(!site.realm_dir(realm).exists() && !site.has_namespace(realm));
}

/// A process left in a realm's cgroup: delete fails in one line naming the
/// cgroup and the pid holding it, the realm stays listed (Deleting), and the
/// same command finishes once the process is gone.
#[test]
fn busy_cgroup_fails_delete_clearly_and_a_rerun_finishes() {
    let h = Harness::start();
    let site = Site::new(&h, Layout::Docs);
    let realm = "busy";
    site.create(realm);
    let mut sleeper = Sleeper::start();
    let pid = sleeper.pid();
    let dirs = h.cgroup_dirs(&site.cgroup(realm));
    for d in &dirs {
        fs::write(d.join("cgroup.procs"), pid.to_string())
            .unwrap_or_else(|e| panic!("move {pid} into {}: {e}", d.display()));
    }

    let started = Instant::now();
    let out = site.kuke(&["delete", "realm", realm, "--yes"]);
    eprintln!(
        "fs_faults: delete with a busy cgroup failed after {:?}",
        started.elapsed()
    );
    let err = one_line_error(
        &out,
        1,
        &[
            &site.cgroup(realm),
            &format!("pid {pid} (sleep)"),
            "run the same command again",
        ],
    );
    assert!(err.contains("busy"), "{err}");
    assert!(site.has_cgroup(realm), "the busy cgroup stays");
    assert!(
        site.record(realm).exists(),
        "the record stays until the end"
    );
    let item = realm_item(&site.list(), realm).clone();
    assert_eq!(item["state"], "Deleting", "{item}");

    sleeper.stop();
    let out = site.kuke_ok(&["delete", "realm", realm, "--yes"]);
    assert!(out.contains("deleted"), "{out}");
    assert!(!site.has_cgroup(realm) && !site.has_namespace(realm));
    assert!(!site.realm_dir(realm).exists());
}
