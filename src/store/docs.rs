//! The documented layout: `<run>/<realm>/realm.yaml`, spaces one directory
//! below with `space.yaml`, and `<run>/run/` reserved.

use super::atomic::{lock_exclusive, write_atomic, LockGuard};
use crate::model::names::is_listable_realm_dir;
use crate::model::RealmDoc;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub const RECORD_FILE: &str = "realm.yaml";
const LOCK_FILE: &str = "realm.yaml.lock";
/// The record is mode 0600: only root reads it.
pub const PERMISSION_DENIED: &str = "permission denied; run kuke-tui as root (sudo)";
/// Records are small; anything larger is refused rather than parsed.
const MAX_RECORD_BYTES: u64 = 1 << 20;

/// mtime, size and inode of a record file.
pub type RecordStamp = (SystemTime, u64, u64);

/// Why a realm directory has no usable record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// One directory under the run path, with its record or why it has none.
#[derive(Debug, Clone)]
pub struct RealmEntry {
    pub name: String,
    pub dir: PathBuf,
    pub record: Result<RealmDoc, RecordError>,
    /// Directory mtime: the age of a realm whose record has no createdAt.
    pub modified: Option<SystemTime>,
}

#[derive(Debug, Clone)]
pub struct DocsStore {
    run_path: PathBuf,
}

impl DocsStore {
    pub fn new(run_path: impl Into<PathBuf>) -> Self {
        DocsStore {
            run_path: run_path.into(),
        }
    }

    pub fn run_path(&self) -> &Path {
        &self.run_path
    }

    pub fn realm_dir(&self, name: &str) -> PathBuf {
        self.run_path.join(name)
    }

    pub fn record_path(&self, name: &str) -> PathBuf {
        self.realm_dir(name).join(RECORD_FILE)
    }

    /// Every realm directory, sorted by name. A missing run path is an empty
    /// host, not an error; a bad record is reported on its own entry.
    pub fn list(&self) -> io::Result<Vec<RealmEntry>> {
        Ok(self
            .realm_dirs()?
            .into_iter()
            .map(|name| {
                let dir = self.realm_dir(&name);
                RealmEntry {
                    record: self.read_record(&name),
                    modified: dir.symlink_metadata().and_then(|m| m.modified()).ok(),
                    dir,
                    name,
                }
            })
            .collect())
    }

    /// Realm directory names, sorted, without reading any record: what a
    /// sampler needs each tick. The entry type comes from the directory
    /// listing itself (no stat per entry) and symlinks are not followed, so
    /// a linked directory cannot lead out of the run path.
    pub fn realm_dirs(&self) -> io::Result<Vec<String>> {
        let read = match std::fs::read_dir(&self.run_path) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut dirs = Vec::new();
        for item in read {
            let item = item?;
            let Ok(name) = item.file_name().into_string() else {
                continue;
            };
            if item.file_type().is_ok_and(|t| t.is_dir()) && is_listable_realm_dir(&name) {
                dirs.push(name);
            }
        }
        dirs.sort();
        Ok(dirs)
    }

    /// Identity of the record's current bytes (mtime and size), to tell
    /// whether a cached parse is still good. Records are replaced by rename,
    /// so any write changes it.
    pub fn record_stamp(&self, name: &str) -> Option<RecordStamp> {
        use std::os::unix::fs::MetadataExt;
        let meta = self.record_path(name).symlink_metadata().ok()?;
        Some((meta.modified().ok()?, meta.len(), meta.ino()))
    }

    /// `None` when the realm directory does not exist at all.
    pub fn entry(&self, name: &str) -> Option<RealmEntry> {
        let dir = self.realm_dir(name);
        let meta = dir.symlink_metadata().ok()?;
        if !meta.is_dir() {
            return None;
        }
        Some(RealmEntry {
            name: name.to_string(),
            record: self.read_record(name),
            modified: meta.modified().ok(),
            dir,
        })
    }

    pub fn read_record(&self, name: &str) -> Result<RealmDoc, RecordError> {
        let file = self.record_path(name);
        let err = |line: Option<usize>, message: String| RecordError {
            file: file.clone(),
            line,
            message,
        };
        let mut handle = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&file)
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => err(None, "record is missing".into()),
                io::ErrorKind::PermissionDenied => err(None, PERMISSION_DENIED.into()),
                _ if e.raw_os_error() == Some(libc::ELOOP) => {
                    err(None, "record is a symlink; refusing to follow it".into())
                }
                _ => err(None, e.to_string()),
            })?;
        let len = handle.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_RECORD_BYTES {
            return Err(err(
                None,
                format!("record is {len} bytes, larger than the 1 MiB limit"),
            ));
        }
        let mut text = String::new();
        handle
            .read_to_string(&mut text)
            .map_err(|e| err(None, format!("cannot read record: {e}")))?;
        let doc: RealmDoc = serde_yaml_ng::from_str(&text).map_err(|e| {
            let line = e.location().map(|l| l.line());
            // The location is carried in `line`; keep the message itself short.
            let message = e.to_string();
            let message = match message.find(" at line ") {
                Some(at) => message[..at].to_string(),
                None => message,
            };
            err(line, message)
        })?;
        if doc.metadata.name != name {
            return Err(err(
                None,
                format!(
                    "metadata.name {:?} does not match the directory name {name:?}",
                    doc.metadata.name
                ),
            ));
        }
        Ok(doc)
    }

    /// Takes the realm's writer lock, creating its directory if needed.
    pub fn lock(&self, name: &str) -> io::Result<LockGuard> {
        let dir = self.realm_dir(name);
        std::fs::create_dir_all(&dir)?;
        lock_exclusive(&dir.join(LOCK_FILE))
    }

    /// Writes the record (mode 0600). Call with the realm's lock held.
    pub fn write_record(&self, doc: &RealmDoc, _lock: &LockGuard) -> io::Result<()> {
        let text = serde_yaml_ng::to_string(doc).map_err(io::Error::other)?;
        write_atomic(
            &self.record_path(&doc.metadata.name),
            text.as_bytes(),
            0o600,
        )
    }

    /// Spaces of a realm: subdirectories holding `space.yaml`.
    pub fn spaces(&self, name: &str) -> Vec<String> {
        let Ok(read) = std::fs::read_dir(self.realm_dir(name)) else {
            return Vec::new();
        };
        let mut spaces: Vec<String> = read
            .flatten()
            .filter(|e| e.path().join("space.yaml").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        spaces.sort();
        spaces
    }

    /// Every file and directory under the realm directory, deepest first,
    /// the realm directory itself last. Symlinks are listed, never followed.
    pub fn subtree(&self, name: &str) -> Vec<PathBuf> {
        let root = self.realm_dir(name);
        if root.symlink_metadata().map(|m| !m.is_dir()).unwrap_or(true) {
            return Vec::new();
        }
        let mut out = Vec::new();
        collect_bottom_up(&root, &mut out);
        out
    }

    /// Removes the realm directory and everything in it.
    pub fn remove_realm_dir(&self, name: &str) -> io::Result<Vec<PathBuf>> {
        let paths = self.subtree(name);
        match std::fs::remove_dir_all(self.realm_dir(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        let _ = super::atomic::sync_dir(&self.run_path);
        Ok(paths)
    }
}

fn collect_bottom_up(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(read) = std::fs::read_dir(dir) {
        let mut children: Vec<_> = read.flatten().map(|e| e.path()).collect();
        children.sort();
        for child in children {
            match child.symlink_metadata() {
                Ok(meta) if meta.is_dir() => collect_bottom_up(&child, out),
                _ => out.push(child),
            }
        }
    }
    out.push(dir.to_path_buf());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, DocsStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = DocsStore::new(dir.path());
        (dir, store)
    }

    #[test]
    fn missing_run_path_is_empty() {
        let store = DocsStore::new("/nonexistent/kuke-tui-test");
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn lists_good_and_bad_records_side_by_side() {
        let (_d, store) = store();
        let doc = RealmDoc::new("good", "kukeon-good", Default::default());
        let lock = store.lock("good").unwrap();
        store.write_record(&doc, &lock).unwrap();
        drop(lock);
        std::fs::create_dir_all(store.realm_dir("broken")).unwrap();
        std::fs::write(
            store.record_path("broken"),
            "metadata:\n  name: broken\nspec: [\n",
        )
        .unwrap();
        std::fs::create_dir_all(store.realm_dir("empty")).unwrap();
        std::fs::create_dir_all(store.realm_dir("run")).unwrap();
        std::fs::write(store.run_path().join("stray.txt"), "x").unwrap();
        let list = store.list().unwrap();
        let names: Vec<_> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["broken", "empty", "good"]);
        let broken = list[0].record.as_ref().unwrap_err();
        assert!(broken.line.is_some(), "{broken}");
        assert!(broken.to_string().contains("realm.yaml:"), "{broken}");
        assert_eq!(
            list[1].record.as_ref().unwrap_err().message,
            "record is missing"
        );
        assert_eq!(list[2].record.as_ref().unwrap().namespace(), "kukeon-good");
    }

    #[test]
    fn record_is_private_and_subtree_is_bottom_up() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, store) = store();
        let lock = store.lock("r").unwrap();
        store
            .write_record(&RealmDoc::new("r", "kukeon-r", Default::default()), &lock)
            .unwrap();
        drop(lock);
        let mode = std::fs::metadata(store.record_path("r"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::create_dir_all(store.realm_dir("r").join("space1")).unwrap();
        std::fs::write(
            store.realm_dir("r").join("space1/space.yaml"),
            "kind: Space\n",
        )
        .unwrap();
        assert_eq!(store.spaces("r"), ["space1"]);
        let tree = store.subtree("r");
        assert_eq!(tree.last().unwrap(), &store.realm_dir("r"));
        let file_pos = tree
            .iter()
            .position(|p| p.ends_with("space1/space.yaml"))
            .unwrap();
        let dir_pos = tree.iter().position(|p| p.ends_with("space1")).unwrap();
        assert!(file_pos < dir_pos);
        assert_eq!(store.remove_realm_dir("r").unwrap(), tree);
        assert!(!store.realm_dir("r").exists());
        assert!(store.remove_realm_dir("r").unwrap().is_empty());
    }

    #[test]
    fn symlinked_record_is_refused() {
        let (_d, store) = store();
        std::fs::create_dir_all(store.realm_dir("s")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", store.record_path("s")).unwrap();
        let err = store.read_record("s").unwrap_err();
        assert!(err.message.contains("symlink"), "{err}");
    }

    #[test]
    fn name_mismatch_is_invalid() {
        let (_d, store) = store();
        std::fs::create_dir_all(store.realm_dir("a")).unwrap();
        std::fs::write(store.record_path("a"), "metadata:\n  name: b\n").unwrap();
        assert!(store
            .read_record("a")
            .unwrap_err()
            .message
            .contains("does not match"));
    }
}
