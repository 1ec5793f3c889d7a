//! Crash-safe replacement of a file and the advisory lock that serializes
//! writers. A reader always sees either the old or the new bytes: the new
//! bytes go to a temp file in the same directory, are fsynced, renamed over
//! the target, and the directory is fsynced so the rename itself survives.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` atomically with the given mode (0600 for records
/// that hold passwords).
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("record path has no directory"))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("record");
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        // A public mode (Kukeon's 0644) exactly, whatever the umask, as
        // Kukeon's writer chmods. A private one is never chmod-ed: created
        // 0600, a umask can only make it stricter.
        if mode != 0o600 {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata()?.permissions().mode() & 0o7777 != mode {
                file.set_permissions(std::fs::Permissions::from_mode(mode))?;
            }
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// fsync a directory so a rename or unlink in it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// An exclusive flock on a sidecar file, released on drop. The sidecar (not
/// the record) is locked because the record is replaced by rename.
pub struct LockGuard {
    _file: File,
    pub path: PathBuf,
}

/// An exclusive flock on the sidecar, created with `mode` when missing
/// (0600 in the documented layout, Kukeon's 0644 in its own).
pub fn lock_exclusive(lock_path: &Path, mode: u32) -> io::Result<LockGuard> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(lock_path)?;
    flock(file, lock_path, libc::LOCK_EX)
}

/// A shared flock, as Kukeon's readers take it.
pub fn lock_shared(lock_path: &Path) -> io::Result<LockGuard> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(lock_path)?;
    flock(file, lock_path, libc::LOCK_SH)
}

/// An exclusive flock on a directory itself: serializes writers without
/// creating any file in it (Kukeon v0.5 hosts, which have no sidecar).
pub fn lock_dir_exclusive(dir: &Path) -> io::Result<LockGuard> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir)?;
    flock(file, dir, libc::LOCK_EX)
}

fn flock(file: File, lock_path: &Path, operation: libc::c_int) -> io::Result<LockGuard> {
    loop {
        // SAFETY: flock on a valid, owned descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(LockGuard {
        _file: file,
        path: lock_path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn replaces_atomically_with_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("realm.yaml");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn lock_serializes_threads() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("x.lock");
        let counter = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let lock = lock.clone();
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _g = lock_exclusive(&lock, 0o600).unwrap();
                    counter.lock().unwrap().push((i, "in"));
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    counter.lock().unwrap().push((i, "out"));
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let log = counter.lock().unwrap();
        for pair in log.chunks(2) {
            assert_eq!(
                pair[0].0, pair[1].0,
                "critical sections interleaved: {log:?}"
            );
        }
    }
}
