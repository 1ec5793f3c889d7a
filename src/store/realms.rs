//! Realm records in either of Kukeon's two layouts, behind one type:
//! - `Layout::Docs`, as documented: `<run>/<realm>/realm.yaml`, spaces one
//!   directory below with `space.yaml`, `<run>/run/` reserved;
//! - `Layout::Kukeon`, as Kukeon v0.5 and later ship:
//!   `<run>/data/<realm>/metadata.json` (indented JSON), spaces, stacks and
//!   cells one directory deeper each with the same file name,
//!   `<run>/.kukeon-instance.json` for the namespace suffix and cgroup root,
//!   and Kukeon's write protocol: refusing to write when the bytes changed
//!   since they were read, and from v0.6 on (`KukeonVersion`) a sidecar
//!   `metadata.json.lock` (shared to read, exclusive to write) and a
//!   generation that goes up by one when `spec` changes. On a v0.5 host the
//!   writer lock is a flock on the realm directory itself, so nothing is
//!   left in it that v0.5 does not know.

use super::atomic::{lock_dir_exclusive, lock_exclusive, lock_shared, write_atomic, LockGuard};
use super::version::KukeonVersion;
use crate::model::names::is_listable_realm_dir;
use crate::model::RealmDoc;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::SystemTime;

pub const RECORD_FILE: &str = "realm.yaml";
const LOCK_FILE: &str = "realm.yaml.lock";
const KUKEON_RECORD: &str = "metadata.json";
const KUKEON_LOCK: &str = "metadata.json.lock";
/// Directories inside a Kukeon scope that are not child scopes. At the top
/// level (`<run>/data/`) they are ordinary realm names: Kukeon keeps them
/// inside a realm or space directory only.
pub const KUKEON_RESERVED: &[&str] =
    &["secrets", "blueprints", "configs", "volumes", "volume-meta"];
pub const KUKEON_INSTANCE: &str = ".kukeon-instance.json";
/// The label Kukeon's create puts on every realm, valued with its namespace.
pub const KUKEON_REALM_LABEL: &str = "realm.kukeon.io";
/// Namespace suffix Kukeon uses when its instance file names none.
pub const KUKEON_SUFFIX: &str = "kukeon.io";

/// Numbers the hidden directories of `RealmStore::side_dir`.
static SIDE_COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Which on-disk layout the run path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `<run>/<realm>/realm.yaml`, as documented.
    Docs,
    /// `<run>/data/<realm>/metadata.json`, as Kukeon v0.5 and later ship.
    Kukeon,
}

impl Layout {
    /// Kukeon's layout when its instance file or `data/` directory is there.
    /// A `data/` directory that is itself a documented realm (it holds
    /// `realm.yaml`) does not count.
    pub fn detect(run_path: &Path) -> Layout {
        let data = run_path.join("data");
        let kukeon_data = data.is_dir() && !data.join(RECORD_FILE).exists();
        if run_path.join(KUKEON_INSTANCE).is_file() || kukeon_data {
            Layout::Kukeon
        } else {
            Layout::Docs
        }
    }
}

/// `<run>/.kukeon-instance.json`: what a Kukeon installation chose.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    #[serde(default)]
    pub containerd_namespace_suffix: Option<String>,
    #[serde(default)]
    pub cgroup_root: Option<String>,
}
/// The record is mode 0600: only root reads it.
pub const PERMISSION_DENIED: &str = "permission denied; run kuke-tui as root (sudo)";
/// Modes Kukeon gives what it creates in its layout: realm directories
/// setgid 0750, lock sidecars and records 0644. A record holding registry
/// credentials is written 0600 all the same (and always in the documented
/// layout): its passwords are plaintext.
const KUKEON_DIR_MODE: u32 = 0o2750;
const KUKEON_LOCK_MODE: u32 = 0o644;
const KUKEON_RECORD_MODE: u32 = 0o644;
const PRIVATE_MODE: u32 = 0o600;
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

#[derive(Debug)]
pub struct RealmStore {
    run_path: PathBuf,
    layout: Layout,
    instance: Instance,
    /// Kukeon layout: the bytes each realm's record had when last read, to
    /// refuse a write over a change made since (compare-before-write).
    read_bytes: Mutex<HashMap<String, Vec<u8>>>,
    /// Realms whose exclusive lock this store holds: reading them must not
    /// ask for the shared lock (flock would wait on ourselves forever).
    held: Arc<Mutex<HashSet<String>>>,
    /// Kukeon layout: the version whose files to write, found on first use.
    version: std::sync::OnceLock<KukeonVersion>,
}

/// A realm's exclusive writer lock; released (and forgotten) on drop.
pub struct RealmLock {
    /// Kukeon layout: the flock on the realm directory, taken first.
    _dir_guard: Option<LockGuard>,
    _guard: Option<LockGuard>,
    name: String,
    held: Arc<Mutex<HashSet<String>>>,
}

impl Drop for RealmLock {
    fn drop(&mut self) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(&self.name);
        }
    }
}

impl RealmStore {
    /// The documented layout.
    pub fn new(run_path: impl Into<PathBuf>) -> Self {
        Self::with_layout(run_path, Layout::Docs)
    }

    pub fn with_layout(run_path: impl Into<PathBuf>, layout: Layout) -> Self {
        let run_path = run_path.into();
        let instance = std::fs::read(run_path.join(KUKEON_INSTANCE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        RealmStore {
            run_path,
            layout,
            instance,
            read_bytes: Mutex::new(HashMap::new()),
            held: Arc::new(Mutex::new(HashSet::new())),
            version: std::sync::OnceLock::new(),
        }
    }

    /// The Kukeon version whose files this host holds (`store::version` has
    /// the rule); `None` in the documented layout. Found once, on first use,
    /// from the realm directories and records.
    pub fn kukeon_version(&self) -> Option<KukeonVersion> {
        (self.layout == Layout::Kukeon).then(|| {
            *self.version.get_or_init(|| {
                super::version::detect(&self.realms_root(), KUKEON_RECORD, KUKEON_LOCK)
            })
        })
    }

    /// Whether writers use the sidecar lock file (documented layout, Kukeon
    /// v0.6+) rather than a flock on the realm directory (Kukeon v0.5).
    fn uses_sidecar(&self) -> bool {
        self.kukeon_version().is_none_or(KukeonVersion::has_sidecar)
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    pub fn run_path(&self) -> &Path {
        &self.run_path
    }

    /// The directory realms live in.
    pub fn realms_root(&self) -> PathBuf {
        match self.layout {
            Layout::Docs => self.run_path.clone(),
            Layout::Kukeon => self.run_path.join("data"),
        }
    }

    pub fn realm_dir(&self, name: &str) -> PathBuf {
        self.realms_root().join(name)
    }

    fn record_file(&self) -> &'static str {
        match self.layout {
            Layout::Docs => RECORD_FILE,
            Layout::Kukeon => KUKEON_RECORD,
        }
    }

    pub fn record_path(&self, name: &str) -> PathBuf {
        self.realm_dir(name).join(self.record_file())
    }

    fn lock_file(&self) -> &'static str {
        match self.layout {
            Layout::Docs => LOCK_FILE,
            Layout::Kukeon => KUKEON_LOCK,
        }
    }

    fn lock_path(&self, name: &str) -> PathBuf {
        self.realm_dir(name).join(self.lock_file())
    }

    fn lock_mode(&self) -> u32 {
        match self.layout {
            Layout::Docs => PRIVATE_MODE,
            Layout::Kukeon => KUKEON_LOCK_MODE,
        }
    }

    /// A record's mode: Kukeon's 0644 in its layout unless it holds
    /// credentials; 0600 then, and always in the documented layout.
    fn record_mode(&self, doc: &RealmDoc) -> u32 {
        match self.layout {
            Layout::Kukeon if doc.spec.registry_credentials.is_empty() => KUKEON_RECORD_MODE,
            _ => PRIVATE_MODE,
        }
    }

    /// The rule a new realm's name must pass in this layout: Kukeon's layout
    /// admits the folder names (`volumes`, ...) it reserves only inside a
    /// realm or space.
    pub fn new_name_rule(&self) -> fn(&str) -> Result<(), String> {
        match self.layout {
            Layout::Docs => crate::model::names::validate_realm_name,
            Layout::Kukeon => crate::model::names::validate_kukeon_realm_name,
        }
    }

    /// The containerd namespace of a realm whose record names none.
    pub fn default_namespace(&self, realm: &str) -> String {
        match self.layout {
            Layout::Docs => crate::model::realm::default_namespace(realm),
            Layout::Kukeon => {
                let suffix = self
                    .instance
                    .containerd_namespace_suffix
                    .as_deref()
                    .unwrap_or(KUKEON_SUFFIX);
                format!("{realm}.{suffix}")
            }
        }
    }

    /// Whether a directory name under the realms root can be a realm. In the
    /// documented layout on a host that also holds Kukeon's instance file,
    /// `data` is Kukeon's state, never a realm (so it is neither listed nor
    /// deletable when the layout is forced). In Kukeon's layout every
    /// non-hidden directory under `data/` is a realm, `volumes` and the
    /// other folder names Kukeon keeps inside a scope included.
    pub fn listable(&self, name: &str) -> bool {
        match self.layout {
            Layout::Docs => {
                is_listable_realm_dir(name)
                    && !(name == "data" && self.run_path.join(KUKEON_INSTANCE).is_file())
            }
            Layout::Kukeon => !name.is_empty() && !name.starts_with('.') && !name.contains('/'),
        }
    }

    /// Whether a directory inside a realm or space can be a child scope:
    /// Kukeon's own folders there (`secrets/`, `volumes/`, ...) are not.
    fn child_scope(&self, name: &str) -> bool {
        match self.layout {
            Layout::Docs => self.listable(name),
            Layout::Kukeon => !name.starts_with('.') && !KUKEON_RESERVED.contains(&name),
        }
    }

    /// Every realm directory, sorted by name. A missing run path is an empty
    /// host, not an error; a bad record is reported on its own entry.
    pub fn list(&self) -> io::Result<Vec<RealmEntry>> {
        Ok(self
            .realm_dirs()?
            .into_iter()
            .filter_map(|name| {
                let dir = self.realm_dir(&name);
                let missing = |r: &Result<RealmDoc, RecordError>| {
                    matches!(r, Err(e) if e.message == "record is missing")
                };
                let mut record = self.read_record(&name);
                // A delete that removed the record since the directory was
                // listed: gone, not Invalid.
                let mut deleted = missing(&record)
                    && (self.unborn(&name) || dir.symlink_metadata().is_err());
                if missing(&record) && !deleted {
                    // Or a create that wrote its first record between the
                    // read and the check: read once more.
                    record = self.read_record(&name);
                    deleted = missing(&record)
                        && (self.unborn(&name) || dir.symlink_metadata().is_err());
                }
                (!deleted).then(|| RealmEntry {
                    record,
                    modified: dir.symlink_metadata().and_then(|m| m.modified()).ok(),
                    dir,
                    name,
                })
            })
            .collect())
    }

    /// Realm directory names, sorted, without reading any record: what a
    /// sampler needs each tick. The entry type comes from the directory
    /// listing itself; symlinks are never followed, so a linked directory
    /// cannot lead out of the run path, but one is listed (so it shows as an
    /// Invalid realm instead of vanishing, see `linked_dir`). One stat per
    /// directory (is the record there?) leaves out unborn ones (see `unborn`).
    pub fn realm_dirs(&self) -> io::Result<Vec<String>> {
        Ok(self
            .realm_stamps()?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    /// `realm_dirs` with each realm's `record_stamp`, for a sampler's tick:
    /// one stat per realm instead of three (`realm_dirs`' record check, then
    /// `record_stamp`'s symlink check and record stat). The entry type from
    /// the listing already tells a linked directory (stamp `None`).
    pub fn realm_stamps(&self) -> io::Result<Vec<(String, Option<RecordStamp>)>> {
        // Records are stat'ed relative to the open root: this runs once per
        // realm per tick, and the kernel then walks two path components
        // instead of the whole run path.
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(self.realms_root())
            .and_then(|root| Ok((std::fs::read_dir(self.realms_root())?, root)));
        let (read, root) = match opened {
            Ok(both) => both,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut rel = Vec::new();
        let mut out = Vec::new();
        for item in read {
            let item = item?;
            let Ok(name) = item.file_name().into_string() else {
                continue;
            };
            if !self.listable(&name) {
                continue;
            }
            match item.file_type() {
                Ok(t) if t.is_symlink() => out.push((name, None)),
                Ok(t) if t.is_dir() => {
                    rel.clear();
                    rel.extend_from_slice(name.as_bytes());
                    rel.push(b'/');
                    rel.extend_from_slice(self.record_file().as_bytes());
                    rel.push(0);
                    match stamp_at(&root, &rel) {
                        Ok(stamp) => out.push((name, Some(stamp))),
                        Err(_) if self.unborn(&name) => {}
                        Err(_) => out.push((name, None)),
                    }
                }
                _ => {}
            }
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// A realm directory with no record and nothing in it but its lock file
    /// and hidden temp files (`.*.tmp*`): what a create killed before its
    /// first record write leaves (the lock lives in the directory, so the
    /// directory comes first), or a delete killed after removing the record.
    /// It is not a realm: it is not listed (rather than listed as Invalid),
    /// `create realm` again makes it whole and `delete realm` removes it.
    /// An empty directory (no lock) is still listed: no writer of ours made it.
    fn unborn(&self, name: &str) -> bool {
        let record_missing = matches!(
            self.record_path(name).symlink_metadata(),
            Err(e) if e.kind() == io::ErrorKind::NotFound
        );
        if !record_missing {
            return false;
        }
        let Ok(read) = std::fs::read_dir(self.realm_dir(name)) else {
            return false;
        };
        let lock = self.lock_file();
        let mut has_lock = false;
        for item in read {
            let Ok(item) = item else {
                return false;
            };
            let file = item.file_name();
            let file = file.to_string_lossy();
            if file == lock {
                has_lock = true;
            } else if !(file.starts_with('.') && file.contains(".tmp")) {
                return false;
            }
        }
        has_lock
    }

    /// Identity of the record's current bytes (mtime and size), to tell
    /// whether a cached parse is still good. Records are replaced by rename,
    /// so any write changes it.
    pub fn record_stamp(&self, name: &str) -> Option<RecordStamp> {
        use std::os::unix::fs::MetadataExt;
        if self.linked_dir(name).is_some() {
            return None;
        }
        let meta = self.record_path(name).symlink_metadata().ok()?;
        Some((meta.modified().ok()?, meta.len(), meta.ino()))
    }

    /// `None` when the realm directory does not exist at all. A realm
    /// directory that is a symlink is an entry with an error, never followed.
    pub fn entry(&self, name: &str) -> Option<RealmEntry> {
        let dir = self.realm_dir(name);
        let meta = dir.symlink_metadata().ok()?;
        if !meta.is_dir() && !meta.file_type().is_symlink() {
            return None;
        }
        Some(RealmEntry {
            name: name.to_string(),
            record: self.read_record(name),
            modified: meta.modified().ok(),
            dir,
        })
    }

    /// Why the realm directory must not be entered: it is a symlink, which
    /// could lead out of the run path (reads would then show, and writes
    /// change, files elsewhere). `None` for a real or missing directory.
    pub fn linked_dir(&self, name: &str) -> Option<RecordError> {
        let dir = self.realm_dir(name);
        let meta = dir.symlink_metadata().ok()?;
        if !meta.file_type().is_symlink() {
            return None;
        }
        let target = std::fs::read_link(&dir)
            .map(|t| format!(" to {}", t.display()))
            .unwrap_or_default();
        Some(RecordError {
            message: format!(
                "realm directory is a symlink{target}; refusing to follow it out of the run path (remove the link)"
            ),
            file: dir,
            line: None,
        })
    }

    pub fn read_record(&self, name: &str) -> Result<RealmDoc, RecordError> {
        if let Some(linked) = self.linked_dir(name) {
            return Err(linked);
        }
        let file = self.record_path(name);
        let err = |line: Option<usize>, message: String| RecordError {
            file: file.clone(),
            line,
            message,
        };
        let handle = open_record(&file).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => err(None, "record is missing".into()),
            io::ErrorKind::PermissionDenied => err(None, PERMISSION_DENIED.into()),
            _ if e.raw_os_error() == Some(libc::ELOOP) => {
                err(None, "record is a symlink; refusing to follow it".into())
            }
            _ => err(None, e.to_string()),
        })?;
        let meta = handle
            .metadata()
            .map_err(|e| err(None, format!("cannot read record: {e}")))?;
        // A FIFO or device would block the open's reader or never end.
        if !meta.is_file() {
            return Err(err(
                None,
                "record is not a regular file; refusing to read it".into(),
            ));
        }
        let len = meta.len();
        if len > MAX_RECORD_BYTES {
            return Err(err(
                None,
                format!(
                    "record is {len} bytes, larger than the 1 MiB limit for a record; refusing to read it"
                ),
            ));
        }
        // Kukeon's readers hold the sidecar lock shared; take it when it exists
        // (reading never creates files).
        let held = self.held.lock().map(|h| h.contains(name)).unwrap_or(false);
        let _shared = match self.layout {
            Layout::Kukeon if !held && self.lock_path(name).exists() => {
                lock_shared(&self.lock_path(name)).ok()
            }
            _ => None,
        };
        let mut bytes = Vec::new();
        // Bounded too: the file may grow after the size check.
        handle
            .take(MAX_RECORD_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| err(None, format!("cannot read record: {e}")))?;
        if bytes.len() as u64 > MAX_RECORD_BYTES {
            return Err(err(
                None,
                "record grew past the 1 MiB limit while read".into(),
            ));
        }
        let doc = self
            .decode(&bytes)
            .map_err(|(line, message)| err(line, message))?;
        if self.layout == Layout::Kukeon {
            if let Ok(mut seen) = self.read_bytes.lock() {
                seen.insert(name.to_string(), bytes);
            }
        }
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

    fn decode(&self, bytes: &[u8]) -> Result<RealmDoc, (Option<usize>, String)> {
        Self::decode_as(self.layout, bytes)
    }

    /// Parses a record's bytes as `layout` stores them; the error carries the
    /// line when the parser knows it. Public for the fuzz targets.
    pub fn decode_as(layout: Layout, bytes: &[u8]) -> Result<RealmDoc, (Option<usize>, String)> {
        match layout {
            Layout::Docs => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| (None, format!("record is not UTF-8: {e}")))?;
                serde_yaml_ng::from_str(text).map_err(|e| {
                    let line = e.location().map(|l| l.line());
                    // The location is carried in `line`; keep the message itself short.
                    let message = e.to_string();
                    let message = match message.find(" at line ") {
                        Some(at) => message[..at].to_string(),
                        None => message,
                    };
                    (line, hide_values(&message))
                })
            }
            Layout::Kukeon => serde_json::from_slice(bytes).map_err(|e| {
                let message = e.to_string();
                let message = match message.find(" at line ") {
                    Some(at) => message[..at].to_string(),
                    None => message,
                };
                (Some(e.line()), hide_values(&message))
            }),
        }
    }

    fn encode(&self, doc: &RealmDoc) -> io::Result<Vec<u8>> {
        Self::encode_as(self.layout, doc)
    }

    /// A record's bytes as `layout` stores them.
    pub fn encode_as(layout: Layout, doc: &RealmDoc) -> io::Result<Vec<u8>> {
        match layout {
            Layout::Docs => serde_yaml_ng::to_string(doc)
                .map(String::into_bytes)
                .map_err(|e| {
                    // The emitter cannot write a mapping or list used as a
                    // key (`? {a: b}: c`), which the parser reads (found by
                    // the fuzzer). Say what to fix rather than "EMITTER".
                    let complex = serde_yaml_ng::to_value(doc).is_ok_and(|v| has_complex_key(&v));
                    if complex {
                        io::Error::other(UNWRITABLE_KEY)
                    } else {
                        io::Error::other(e)
                    }
                }),
            // Kukeon writes two-space indented JSON with a trailing newline.
            Layout::Kukeon => {
                let mut value = serde_yaml_ng::to_value(doc).map_err(io::Error::other)?;
                go_labels(&mut value);
                super::gojson::to_vec(&value).map_err(io::Error::other)
            }
        }
    }

    /// `.<name>.<what>-<pid>-<n>` in the realms root: hidden (never listed)
    /// and on the realm directory's filesystem, so a rename moves it.
    fn side_dir(&self, name: &str, what: &str) -> PathBuf {
        let n = SIDE_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.realms_root()
            .join(format!(".{name}.{what}-{}-{n}", std::process::id()))
    }

    /// Removes what a create or delete of `name` killed part-way left in the
    /// realms root (see `side_dir`): only those whose process is gone.
    fn sweep_side_dirs(&self, name: &str) {
        let Ok(read) = std::fs::read_dir(self.realms_root()) else {
            return;
        };
        for item in read.flatten() {
            let file = item.file_name();
            let file = file.to_string_lossy();
            let Some(rest) = [".creating-", ".deleting-"].iter().find_map(|what| {
                file.strip_prefix('.')?
                    .strip_prefix(name)?
                    .strip_prefix(what)
            }) else {
                continue;
            };
            let Some((pid, n)) = rest.split_once('-') else {
                continue;
            };
            let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if numeric(pid) && numeric(n) && !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(item.path());
            }
        }
    }

    /// Makes the realm directory with its lock file already inside: built
    /// under a hidden name and renamed into place, so it never shows empty
    /// (an empty directory is listed as an Invalid realm), also when the
    /// process is killed. Losing the race to another creator is fine: the
    /// rename fails and that directory is used.
    fn create_realm_dir(&self, name: &str) -> io::Result<()> {
        let dir = self.realm_dir(name);
        if dir.symlink_metadata().is_ok() {
            return Ok(());
        }
        let root = self.realms_root();
        std::fs::create_dir_all(&root)?;
        self.sweep_side_dirs(name);
        let staging = self.side_dir(name, "creating");
        std::fs::create_dir(&staging)?;
        let made = (|| {
            if self.layout == Layout::Kukeon {
                use std::os::unix::fs::PermissionsExt;
                // Kukeon's 02750 (create_dir's mode would lose the setgid bit).
                std::fs::set_permissions(
                    &staging,
                    std::fs::Permissions::from_mode(KUKEON_DIR_MODE),
                )?;
            }
            // A v0.5 host gets no sidecar: the directory goes in empty.
            if self.uses_sidecar() {
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(self.lock_mode())
                    .open(staging.join(self.lock_file()))?;
            }
            std::fs::rename(&staging, &dir)
        })();
        match made {
            Ok(()) => {
                let _ = super::atomic::sync_dir(&root);
                Ok(())
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                if dir.is_dir() {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Takes the realm's writer lock, creating its directory if needed.
    /// Refused when the realm directory is a symlink: the lock and the record
    /// would be written wherever it points.
    pub fn lock(&self, name: &str) -> io::Result<RealmLock> {
        if let Some(linked) = self.linked_dir(name) {
            return Err(io::Error::other(linked.message));
        }
        let dir = self.realm_dir(name);
        self.create_realm_dir(name)?;
        // Kukeon layout: our writers always flock the realm directory (the
        // only lock on a v0.5 host, where nothing may be added to it), so two
        // of them serialize even if they judge the version differently; on
        // v0.6+ also Kukeon's sidecar, after it (one order, no deadlock).
        let dir_guard = match self.layout {
            Layout::Kukeon => Some(lock_dir_exclusive(&dir)?),
            Layout::Docs => None,
        };
        let guard = if self.uses_sidecar() {
            Some(lock_exclusive(&self.lock_path(name), self.lock_mode())?)
        } else {
            None
        };
        // A writer killed between creating its temp file and the rename
        // leaves `.<record>.tmp-<pid>-<n>` behind. Every writer of the record
        // holds this lock, so any such file seen now is dead: without this
        // they pile up, and one whose pid and counter come round again makes
        // the exclusive create of a later write fail.
        let prefix = format!(".{}.tmp-", self.record_file());
        if let Ok(read) = std::fs::read_dir(&dir) {
            for item in read.flatten() {
                if item.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(item.path());
                }
            }
        }
        if let Ok(mut held) = self.held.lock() {
            held.insert(name.to_string());
        }
        Ok(RealmLock {
            _dir_guard: dir_guard,
            _guard: guard,
            name: name.to_string(),
            held: self.held.clone(),
        })
    }

    /// Writes the record. Call with the realm's lock held. Keys keep the
    /// order the file on disk has (`order::arrange`); the mode is
    /// `record_mode`'s.
    ///
    /// Kukeon layout: refused with "changed since prior read" when the file
    /// is not what this process last read (or exists when it read none), so
    /// a concurrent change is reported, never overwritten. On v0.6+ hosts the
    /// generation is counted as Kukeon counts it: 1 on the first write, else
    /// the one on disk (absent = 0) plus one when `spec` changed; 0 stays
    /// absent, so a status-only write leaves a record without one as it was.
    /// v0.5 hosts get no generation (the document's is written as it is).
    pub fn write_record(&self, doc: &RealmDoc, _lock: &RealmLock) -> io::Result<()> {
        let name = doc.metadata.name.as_str();
        let path = self.record_path(name);
        let current = match open_record(&path).and_then(|f| {
            let mut bytes = Vec::new();
            f.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes)?;
            Ok(bytes)
        }) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) if self.layout == Layout::Docs => {
                // The documented layout never refused a write for this: the
                // old file only lends its key order.
                let _ = e;
                None
            }
            Err(e) => return Err(e),
        };
        if self.layout == Layout::Docs {
            let bytes = self.encode_over(doc, current.as_deref())?;
            return write_atomic(&path, &bytes, self.record_mode(doc));
        }
        let prior = self
            .read_bytes
            .lock()
            .map_err(|_| io::Error::other("store lock poisoned"))?
            .get(name)
            .cloned();
        if current != prior {
            return Err(io::Error::other(format!(
                "{} changed since prior read; read it again and retry",
                path.display()
            )));
        }
        let mut doc = doc.clone();
        if self.uses_sidecar() {
            let generation = match prior.as_deref().map(|b| self.decode(b)) {
                None => 1,
                Some(Ok(old)) => {
                    let on_disk = old.metadata.generation.unwrap_or(0);
                    if old.spec != doc.spec {
                        on_disk + 1
                    } else {
                        on_disk
                    }
                }
                // A record we cannot parse is replaced; count from scratch.
                Some(Err(_)) => 1,
            };
            doc.metadata.generation = (generation != 0).then_some(generation);
        }
        let bytes = self.encode_over(&doc, current.as_deref())?;
        write_atomic(&path, &bytes, self.record_mode(&doc))?;
        if let Ok(mut seen) = self.read_bytes.lock() {
            seen.insert(name.to_string(), bytes);
        }
        Ok(())
    }

    /// `doc` encoded with its keys in the order `template` (the file being
    /// replaced) has them.
    fn encode_over(&self, doc: &RealmDoc, template: Option<&[u8]>) -> io::Result<Vec<u8>> {
        let old: Option<serde_yaml_ng::Value> = template.and_then(|bytes| match self.layout {
            Layout::Docs => serde_yaml_ng::from_slice(bytes).ok(),
            Layout::Kukeon => serde_json::from_slice(bytes).ok(),
        });
        let Some(old) = old else {
            return self.encode(doc);
        };
        let mut value = serde_yaml_ng::to_value(doc).map_err(io::Error::other)?;
        if self.layout == Layout::Kukeon {
            go_labels(&mut value);
        }
        let value = super::order::arrange(value, &old);
        match self.layout {
            Layout::Docs => serde_yaml_ng::to_string(&value)
                .map(String::into_bytes)
                .map_err(|e| {
                    if has_complex_key(&value) {
                        io::Error::other(UNWRITABLE_KEY)
                    } else {
                        io::Error::other(e)
                    }
                }),
            Layout::Kukeon => super::gojson::to_vec(&value).map_err(io::Error::other),
        }
    }

    /// Spaces of a realm: subdirectories holding `space.yaml` (documented
    /// layout) or `metadata.json` (Kukeon's, reserved directories skipped).
    pub fn spaces(&self, name: &str) -> Vec<String> {
        if self.linked_dir(name).is_some() {
            return Vec::new();
        }
        let Ok(read) = std::fs::read_dir(self.realm_dir(name)) else {
            return Vec::new();
        };
        let marker = match self.layout {
            Layout::Docs => "space.yaml",
            Layout::Kukeon => KUKEON_RECORD,
        };
        let mut spaces: Vec<String> = read
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.path().join(marker).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| self.child_scope(n))
            .collect();
        spaces.sort();
        spaces
    }

    /// Kukeon layout: every scope below a realm (`space`, `space/stack`,
    /// `space/stack/cell`), for drill-down and cascade plans.
    pub fn scopes(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.linked_dir(name).is_some() {
            return out;
        }
        self.collect_scopes(&self.realm_dir(name), "", 0, &mut out);
        out
    }

    fn collect_scopes(&self, dir: &Path, prefix: &str, depth: usize, out: &mut Vec<String>) {
        if depth == 3 {
            return;
        }
        let marker = match (self.layout, depth) {
            (Layout::Docs, 0) => "space.yaml",
            (Layout::Docs, 1) => "stack.yaml",
            (Layout::Docs, _) => "cell.yaml",
            (Layout::Kukeon, _) => KUKEON_RECORD,
        };
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        let mut children: Vec<_> = read
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && e.path().join(marker).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| self.child_scope(n))
            .collect();
        children.sort();
        for child in children {
            let path = if prefix.is_empty() {
                child.clone()
            } else {
                format!("{prefix}/{child}")
            };
            out.push(path.clone());
            self.collect_scopes(&dir.join(&child), &path, depth + 1, out);
        }
    }

    /// Every file and directory under the realm directory, deepest first,
    /// the realm directory itself last. Symlinks are listed, never followed
    /// (a realm directory that is a symlink is just that link).
    pub fn subtree(&self, name: &str) -> Vec<PathBuf> {
        let root = self.realm_dir(name);
        match root.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => return vec![root],
            Ok(m) if m.is_dir() => {}
            _ => return Vec::new(),
        }
        let mut out = Vec::new();
        collect_bottom_up(&root, &mut out);
        out
    }

    /// Removes the realm directory and everything in it.
    pub fn remove_realm_dir(&self, name: &str) -> io::Result<Vec<PathBuf>> {
        let paths = self.subtree(name);
        let dir = self.realm_dir(name);
        // A linked realm directory: only the link goes, never what it points at.
        if self.linked_dir(name).is_some() {
            std::fs::remove_file(&dir)?;
            let _ = super::atomic::sync_dir(&self.realms_root());
            return Ok(paths);
        }
        let mut target = dir.clone();
        if !paths.is_empty() {
            // Everything but the record and its lock first, then the record:
            // a delete killed part-way leaves either the record (the realm is
            // listed, Deleting, and a re-run finishes) or an unborn directory,
            // never files without a record (listed as Invalid).
            let record = self.record_path(name);
            let last = [record.clone(), self.lock_path(name), dir.clone()];
            for path in paths.iter().filter(|p| !last.contains(p)) {
                let _ = match path.symlink_metadata() {
                    Ok(meta) if meta.is_dir() => std::fs::remove_dir(path),
                    _ => std::fs::remove_file(path),
                };
            }
            match std::fs::remove_file(&record) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            // Then out of sight at once: a kill from here on leaves a hidden
            // directory (swept by the next create or delete of the name),
            // never an empty realm directory.
            let trash = self.side_dir(name, "deleting");
            if std::fs::rename(&dir, &trash).is_ok() {
                target = trash;
            }
        }
        // The lock, temp files and anything that appeared meanwhile.
        match std::fs::remove_dir_all(&target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        let _ = super::atomic::sync_dir(&self.realms_root());
        if let Ok(mut seen) = self.read_bytes.lock() {
            seen.remove(name);
        }
        self.sweep_side_dirs(name);
        Ok(paths)
    }
}

/// Go writes `metadata.labels` always (no omitempty), `null` when there are
/// none: so do we, right after `name` as in Kukeon's struct.
fn go_labels(doc: &mut serde_yaml_ng::Value) {
    use serde_yaml_ng::Value;
    let Some(Value::Mapping(meta)) = doc.get_mut("metadata") else {
        return;
    };
    if meta.contains_key("labels") {
        return;
    }
    let mut out = serde_yaml_ng::Mapping::with_capacity(meta.len() + 1);
    let mut placed = false;
    for (k, v) in std::mem::take(meta) {
        let after_name = k.as_str() == Some("name");
        out.insert(k, v);
        if after_name {
            out.insert("labels".into(), Value::Null);
            placed = true;
        }
    }
    if !placed {
        out.insert("labels".into(), Value::Null);
    }
    *meta = out;
}

/// Why a record we read cannot be written back.
pub const UNWRITABLE_KEY: &str = "the record uses a mapping or list as a key, which kuke-tui cannot write back; make that key a plain string and retry";

fn has_complex_key(value: &serde_yaml_ng::Value) -> bool {
    use serde_yaml_ng::Value;
    match value {
        Value::Mapping(map) => map.iter().any(|(k, v)| {
            matches!(k, Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_))
                || has_complex_key(v)
        }),
        Value::Sequence(items) => items.iter().any(has_complex_key),
        Value::Tagged(tagged) => has_complex_key(&tagged.value),
        _ => false,
    }
}

/// Opens a record for reading without following a symlink (ELOOP) and
/// without blocking on a FIFO; the caller checks it is a regular file.
fn open_record(path: &Path) -> io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// Drops the values serde quotes in a parse error (`string "..."`,
/// ``integer `...` ``, ...). Why: a record holds passwords, and one in the
/// wrong place or of the wrong type ("password": 12345678) would otherwise be
/// printed by `get realms`, the console and every command that reads the
/// record. The file and line already say where to look.
fn hide_values(message: &str) -> String {
    const QUOTED: [(&str, char); 4] = [
        ("string \"", '"'),
        ("integer `", '`'),
        ("floating point `", '`'),
        ("character `", '`'),
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let next = QUOTED
            .iter()
            .filter_map(|&(open, close)| rest.find(open).map(|at| (at, open, close)))
            .min_by_key(|&(at, ..)| at);
        let Some((at, open, close)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        out.push_str(open[..open.len() - 1].trim_end());
        out.push_str(" (value not shown)");
        // Skip to after the closing quote; a string's quote may be escaped.
        let body = &rest[at + open.len()..];
        let mut chars = body.char_indices();
        let mut end = body.len();
        while let Some((i, c)) = chars.next() {
            if c == '\\' && close == '"' {
                chars.next();
            } else if c == close {
                end = i + c.len_utf8();
                break;
            }
        }
        rest = &body[end..];
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

/// The `RecordStamp` of `rel` (a NUL-terminated path relative to `dir`),
/// without following a final symlink: what `symlink_metadata` gives, by
/// `fstatat`.
fn stamp_at(dir: &std::fs::File, rel: &[u8]) -> io::Result<RecordStamp> {
    use std::os::fd::AsRawFd;
    let path = std::ffi::CStr::from_bytes_with_nul(rel)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid directory descriptor, a NUL-terminated path and a
    // buffer of the right type for the kernel to fill.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            path.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatat succeeded, so it filled the buffer.
    let st = unsafe { st.assume_init() };
    let nanos = std::time::Duration::from_nanos(st.st_mtime_nsec as u64);
    let secs = std::time::Duration::from_secs(st.st_mtime.unsigned_abs());
    let mtime = if st.st_mtime >= 0 {
        SystemTime::UNIX_EPOCH + secs + nanos
    } else {
        SystemTime::UNIX_EPOCH - secs + nanos
    };
    Ok((mtime, st.st_size as u64, st.st_ino))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RegistryCredential;

    /// `realm_stamps` lists what `realm_dirs` does, each with `record_stamp`.
    fn assert_same_stamps(store: &RealmStore) {
        let expect: Vec<_> = store
            .realm_dirs()
            .unwrap()
            .into_iter()
            .map(|n| {
                let stamp = store.record_stamp(&n);
                (n, stamp)
            })
            .collect();
        assert_eq!(store.realm_stamps().unwrap(), expect);
    }

    fn store() -> (tempfile::TempDir, RealmStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RealmStore::new(dir.path());
        (dir, store)
    }

    #[test]
    fn missing_run_path_is_empty() {
        let store = RealmStore::new("/nonexistent/kuke-tui-test");
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
        assert_eq!(
            list[2].record.as_ref().unwrap().explicit_namespace(),
            Some("kukeon-good")
        );
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
    fn parse_errors_do_not_quote_record_values() {
        assert_eq!(
            hide_values(r#"invalid type: string "hun\"ter2", expected a sequence"#),
            "invalid type: string (value not shown), expected a sequence"
        );
        assert_eq!(
            hide_values("invalid type: integer `12345678`, expected a string"),
            "invalid type: integer (value not shown), expected a string"
        );
        assert_eq!(
            hide_values("duplicate field `password`"),
            "duplicate field `password`"
        );
        assert_eq!(
            hide_values(r#"invalid value: string "unterminated"#),
            "invalid value: string (value not shown)"
        );
        let (_d, store) = store();
        std::fs::create_dir_all(store.realm_dir("p")).unwrap();
        std::fs::write(
            store.record_path("p"),
            "metadata:\n  name: p\nspec:\n  registryCredentials:\n  - pw-Wrong-Place\n",
        )
        .unwrap();
        let err = store.read_record("p").unwrap_err();
        assert!(!err.to_string().contains("pw-Wrong-Place"), "{err}");
        assert!(err.to_string().contains("realm.yaml:5:"), "{err}");
        let (_k, kukeon) = kukeon_store();
        std::fs::create_dir_all(kukeon.realm_dir("n")).unwrap();
        std::fs::write(
            kukeon.record_path("n"),
            r#"{"metadata":{"name":"n"},"spec":{"registryCredentials":[{"username":"u","password":90210733}]}}"#,
        )
        .unwrap();
        let err = kukeon.read_record("n").unwrap_err();
        assert!(!err.to_string().contains("90210733"), "{err}");
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn interrupted_writers_leave_nothing_listed_or_in_the_way() {
        let (_d, store) = store();
        // A create killed before its first record write: lock (and a temp
        // file) only. Not listed; an empty directory still is.
        let lock = store.lock("unborn").unwrap();
        drop(lock);
        let temp = store.realm_dir("unborn").join(".realm.yaml.tmp-999999-0");
        std::fs::write(&temp, "metadata:\n  na").unwrap();
        std::fs::create_dir_all(store.realm_dir("empty")).unwrap();
        assert_eq!(store.realm_dirs().unwrap(), ["empty"]);
        assert_same_stamps(&store);
        assert_eq!(store.list().unwrap().len(), 1);
        // The next writer sweeps the dead temp file and completes the realm.
        let lock = store.lock("unborn").unwrap();
        assert!(!temp.exists());
        store
            .write_record(
                &RealmDoc::new("unborn", "kukeon-unborn", Default::default()),
                &lock,
            )
            .unwrap();
        drop(lock);
        assert_eq!(store.realm_dirs().unwrap(), ["empty", "unborn"]);
        assert_same_stamps(&store);
        // Hidden leftovers of dead processes go with the next create or delete.
        let dead = store.run_path().join(".unborn.deleting-999999999-3");
        std::fs::create_dir_all(&dead).unwrap();
        store.remove_realm_dir("unborn").unwrap();
        assert!(!dead.exists() && !store.realm_dir("unborn").exists());
        let names: Vec<_> = std::fs::read_dir(store.run_path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["empty"]);
    }

    #[test]
    fn a_record_we_cannot_write_back_is_refused_clearly_and_kept() {
        // Found by the fuzzer: YAML reads a mapping used as a key; the
        // emitter cannot write one.
        let (_d, store) = store();
        std::fs::create_dir_all(store.realm_dir("k")).unwrap();
        let text =
            "metadata:\n  name: k\n  odd:\n    ? {a: b}\n    : c\nspec:\n  namespace: kukeon-k\n";
        std::fs::write(store.record_path("k"), text).unwrap();
        let doc = store.read_record("k").unwrap();
        let lock = store.lock("k").unwrap();
        let err = store.write_record(&doc, &lock).unwrap_err();
        assert_eq!(err.to_string(), UNWRITABLE_KEY);
        assert_eq!(
            std::fs::read_to_string(store.record_path("k")).unwrap(),
            text
        );
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
    fn symlinked_realm_dir_is_listed_invalid_and_never_entered() {
        let (d, store) = store();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(outside.path().join("space1")).unwrap();
        std::fs::write(outside.path().join("space1/space.yaml"), "kind: Space\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), store.realm_dir("l")).unwrap();
        assert_eq!(store.realm_dirs().unwrap(), ["l"]);
        assert_same_stamps(&store);
        let err = store.entry("l").unwrap().record.unwrap_err();
        assert!(err.message.contains("symlink"), "{err}");
        assert!(store.spaces("l").is_empty() && store.scopes("l").is_empty());
        assert_eq!(store.subtree("l"), [store.realm_dir("l")]);
        assert!(store.lock("l").is_err(), "no lock written through the link");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
        store.remove_realm_dir("l").unwrap();
        assert!(outside.path().join("space1/space.yaml").exists());
        drop(d);
    }

    #[test]
    fn fifo_record_is_refused_without_blocking() {
        let (_d, store) = store();
        std::fs::create_dir_all(store.realm_dir("f")).unwrap();
        let path = std::ffi::CString::new(store.record_path("f").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        let err = store.read_record("f").unwrap_err();
        assert!(err.message.contains("not a regular file"), "{err}");
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

    fn kukeon_store() -> (tempfile::TempDir, RealmStore) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(KUKEON_INSTANCE),
            "{\n  \"containerdNamespaceSuffix\": \"corp.example\",\n  \"cgroupRoot\": \"/kk\"\n}\n",
        )
        .unwrap();
        assert_eq!(Layout::detect(dir.path()), Layout::Kukeon);
        let store = RealmStore::with_layout(dir.path(), Layout::Kukeon);
        (dir, store)
    }

    #[test]
    fn kukeon_layout_paths_defaults_and_listing() {
        let (dir, store) = kukeon_store();
        assert_eq!(store.default_namespace("web"), "web.corp.example");
        assert_eq!(store.instance().cgroup_root.as_deref(), Some("/kk"));
        assert_eq!(
            store.record_path("web"),
            dir.path().join("data/web/metadata.json")
        );
        // Folder names Kukeon keeps inside a scope are realm names at the top
        // level (each with a record here, so it is listed, not unborn).
        for top in ["secrets", "volumes", ".tmp"] {
            std::fs::create_dir_all(dir.path().join("data").join(top)).unwrap();
            std::fs::write(
                dir.path().join("data").join(top).join("metadata.json"),
                "{}",
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("data/web/default/api/cell1")).unwrap();
        for scope in [
            "web",
            "web/default",
            "web/default/api",
            "web/default/api/cell1",
        ] {
            std::fs::write(
                dir.path().join("data").join(scope).join("metadata.json"),
                "{}",
            )
            .unwrap();
        }
        std::fs::create_dir_all(dir.path().join("data/web/secrets")).unwrap();
        std::fs::write(dir.path().join("data/web/secrets/metadata.json"), "{}").unwrap();
        assert_eq!(store.realm_dirs().unwrap(), ["secrets", "volumes", "web"]);
        assert!(store.listable("volumes") && !store.listable(".tmp"));
        assert_same_stamps(&store);
        assert_eq!(store.spaces("web"), ["default"]);
        assert_eq!(
            store.scopes("web"),
            ["default", "default/api", "default/api/cell1"]
        );
        // `{}` has no metadata: invalid, with the file and line.
        let err = store.read_record("web").unwrap_err();
        assert!(
            err.file.ends_with("data/web/metadata.json") && err.line.is_some(),
            "{err}"
        );
        assert_eq!(Layout::detect(&dir.path().join("nowhere")), Layout::Docs);
    }

    #[test]
    fn kukeon_writes_indented_json_with_generation_and_refuses_stale_writes() {
        let (_dir, store) = kukeon_store();
        let mut doc = RealmDoc::new("web", "web.corp.example", Default::default());
        let lock = store.lock("web").unwrap();
        store.write_record(&doc, &lock).unwrap();
        let text = std::fs::read_to_string(store.record_path("web")).unwrap();
        assert!(
            text.starts_with("{\n  \"apiVersion\": \"v1beta1\""),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let read = store.read_record("web").unwrap();
        assert_eq!(read.metadata.generation, Some(1));

        // A status-only change keeps the generation; a spec change bumps it.
        doc = read.clone();
        doc.status_mut().state = Some("Ready".into());
        store.write_record(&doc, &lock).unwrap();
        assert_eq!(
            store.read_record("web").unwrap().metadata.generation,
            Some(1)
        );
        doc.spec.registry_credentials.push(Default::default());
        store.write_record(&doc, &lock).unwrap();
        assert_eq!(
            store.read_record("web").unwrap().metadata.generation,
            Some(2)
        );

        // Someone else rewrites the file after our read: our write is refused
        // and their bytes stay.
        let theirs = std::fs::read_to_string(store.record_path("web"))
            .unwrap()
            .replace("v1beta1", "v1beta1 ");
        std::fs::write(store.record_path("web"), &theirs).unwrap();
        let err = store.write_record(&doc, &lock).unwrap_err();
        assert!(
            err.to_string().contains("changed since prior read"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(store.record_path("web")).unwrap(),
            theirs
        );
    }

    /// A Kukeon-layout realm record written as Kukeon would (0644), its
    /// sidecar too when `sidecar`.
    fn put_kukeon(store: &RealmStore, name: &str, text: &str, sidecar: bool) {
        std::fs::create_dir_all(store.realm_dir(name)).unwrap();
        std::fs::write(store.record_path(name), text).unwrap();
        if sidecar {
            std::fs::write(store.lock_path(name), "").unwrap();
        }
    }

    fn mode_of(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn integer_states_read_as_kukeons_names_and_are_written_as_names() {
        let (_d, store) = kukeon_store();
        for (i, want) in [
            "Pending", "Creating", "Ready", "Deleting", "Failed", "Unknown",
        ]
        .iter()
        .enumerate()
        {
            let name = format!("i{i}");
            put_kukeon(
                &store,
                &name,
                &format!(
                    r#"{{"metadata":{{"name":"{name}"}},"spec":{{}},"status":{{"state":{i}}}}}"#
                ),
                true,
            );
            assert_eq!(store.read_record(&name).unwrap().state(), Some(*want));
        }
        put_kukeon(
            &store,
            "bad",
            r#"{"metadata":{"name":"bad"},"status":{"state":6}}"#,
            true,
        );
        let err = store.read_record("bad").unwrap_err();
        assert!(err.message.contains("out of range"), "{err}");
        // A read-modify-write writes the name, as Kukeon v0.5+ does.
        let doc = store.read_record("i2").unwrap();
        let lock = store.lock("i2").unwrap();
        store.write_record(&doc, &lock).unwrap();
        let text = std::fs::read_to_string(store.record_path("i2")).unwrap();
        assert!(text.contains("\"state\": \"Ready\""), "{text}");
        // The documented layout reads YAML's integer the same way.
        let (_e, docs) = store_docs_with("y", "metadata:\n  name: y\nstatus:\n  state: 4\n");
        assert_eq!(docs.read_record("y").unwrap().state(), Some("Failed"));
    }

    fn store_docs_with(name: &str, text: &str) -> (tempfile::TempDir, RealmStore) {
        let (d, store) = self::store();
        std::fs::create_dir_all(store.realm_dir(name)).unwrap();
        std::fs::write(store.record_path(name), text).unwrap();
        (d, store)
    }

    #[test]
    fn generation_is_counted_as_kukeon_counts_it() {
        let (_d, store) = kukeon_store();
        // A v0.6 host (sidecar) with a record written before generations.
        put_kukeon(
            &store,
            "old",
            r#"{"metadata":{"name":"old","labels":null},"spec":{"namespace":"old.kukeon.io"},"status":{"state":"Creating"}}"#,
            true,
        );
        assert_eq!(store.kukeon_version(), Some(KukeonVersion::V06Plus));
        let lock = store.lock("old").unwrap();
        let mut doc = store.read_record("old").unwrap();
        doc.status_mut().state = Some("Ready".into());
        store.write_record(&doc, &lock).unwrap();
        let text = std::fs::read_to_string(store.record_path("old")).unwrap();
        assert!(
            !text.contains("generation"),
            "status-only write: absent stays absent\n{text}"
        );
        let mut doc = store.read_record("old").unwrap();
        doc.spec.registry_credentials.push(Default::default());
        store.write_record(&doc, &lock).unwrap();
        assert_eq!(
            store.read_record("old").unwrap().metadata.generation,
            Some(1),
            "0 + 1"
        );
        drop(lock);
        // A new record starts at 1.
        let lock = store.lock("new").unwrap();
        store
            .write_record(
                &RealmDoc::new("new", "new.corp.example", Default::default()),
                &lock,
            )
            .unwrap();
        assert_eq!(
            store.read_record("new").unwrap().metadata.generation,
            Some(1)
        );
    }

    #[test]
    fn a_v05_host_gets_no_sidecar_and_no_generation() {
        let (_d, store) = kukeon_store();
        put_kukeon(
            &store,
            "kuke-system",
            "{\n  \"apiVersion\": \"v1beta1\",\n  \"kind\": \"Realm\",\n  \"metadata\": {\n    \"name\": \"kuke-system\",\n    \"labels\": null\n  },\n  \"spec\": {\n    \"namespace\": \"kuke-system.kukeon.io\"\n  },\n  \"status\": {\n    \"state\": \"Ready\"\n  }\n}\n",
            false,
        );
        assert_eq!(store.kukeon_version(), Some(KukeonVersion::V05));
        // A write to an existing realm: the record changes, nothing is added.
        let lock = store.lock("kuke-system").unwrap();
        let mut doc = store.read_record("kuke-system").unwrap();
        doc.spec.registry_credentials.push(RegistryCredential {
            username: "u".into(),
            password: "p".into(),
            server_address: Some("r.io".into()),
            extra: Default::default(),
        });
        store.write_record(&doc, &lock).unwrap();
        drop(lock);
        assert_eq!(listing(&store.realm_dir("kuke-system")), ["metadata.json"]);
        assert_eq!(
            store
                .read_record("kuke-system")
                .unwrap()
                .metadata
                .generation,
            None
        );
        // A new realm: the directory holds the record alone, 02750.
        let lock = store.lock("fresh").unwrap();
        assert!(listing(&store.realm_dir("fresh")).is_empty());
        store
            .write_record(
                &RealmDoc::new("fresh", "fresh.corp.example", Default::default()),
                &lock,
            )
            .unwrap();
        drop(lock);
        assert_eq!(listing(&store.realm_dir("fresh")), ["metadata.json"]);
        assert_eq!(mode_of(&store.realm_dir("fresh")), 0o2750);
        assert!(!std::fs::read_to_string(store.record_path("fresh"))
            .unwrap()
            .contains("generation"));
        // Kukeon v0.5's delete: the record, then the folder if it is empty.
        for name in ["kuke-system", "fresh"] {
            std::fs::remove_file(store.record_path(name)).unwrap();
            std::fs::remove_dir(store.realm_dir(name)).expect("v0.5 finds the folder empty");
        }
        // Writers still serialize, on the directory itself.
        let lock = store.lock("other").unwrap();
        let store2 = RealmStore::with_layout(store.run_path(), Layout::Kukeon);
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _second = store2.lock("other").unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "not serialized"
        );
        drop(lock);
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
    }

    #[test]
    fn kukeon_modes_and_private_records() {
        let (_d, store) = kukeon_store();
        let lock = store.lock("m").unwrap();
        let mut doc = RealmDoc::new("m", "m.corp.example", Default::default());
        store.write_record(&doc, &lock).unwrap();
        assert_eq!(mode_of(&store.realm_dir("m")), 0o2750);
        assert_eq!(mode_of(&store.lock_path("m")), 0o644);
        assert_eq!(mode_of(&store.record_path("m")), 0o644);
        doc = store.read_record("m").unwrap();
        doc.spec.registry_credentials.push(Default::default());
        store.write_record(&doc, &lock).unwrap();
        assert_eq!(
            mode_of(&store.record_path("m")),
            0o600,
            "credentials stay private"
        );
        drop(lock);
        // The documented layout is unchanged: 0600 for both.
        let (_e, docs) = self::store();
        let lock = docs.lock("d").unwrap();
        docs.write_record(&RealmDoc::new("d", "kukeon-d", Default::default()), &lock)
            .unwrap();
        assert_eq!(mode_of(&docs.record_path("d")), 0o600);
        assert_eq!(mode_of(&docs.lock_path("d")), 0o600);
    }

    #[test]
    fn unknown_keys_keep_their_place_and_generation_goes_after_labels() {
        let (_d, store) = kukeon_store();
        let before = "{\n  \"apiVersion\": \"v1beta1\",\n  \"kind\": \"Realm\",\n  \"metadata\": {\n    \"name\": \"k\",\n    \"annotations\": {\n      \"z\": \"1\",\n      \"a\": \"keep \\u003cme\\u003e \\u0026 co\"\n    },\n    \"labels\": {\n      \"team\": \"x\"\n    }\n  },\n  \"future\": true,\n  \"spec\": {\n    \"quota\": 2,\n    \"namespace\": \"k.kukeon.io\"\n  },\n  \"status\": {\n    \"custom\": 1,\n    \"state\": \"Ready\"\n  }\n}\n";
        put_kukeon(&store, "k", before, true);
        let lock = store.lock("k").unwrap();
        let mut doc = store.read_record("k").unwrap();
        doc.spec.registry_credentials.push(RegistryCredential {
            username: "u".into(),
            password: "p".into(),
            server_address: Some("r.io".into()),
            extra: Default::default(),
        });
        store.write_record(&doc, &lock).unwrap();
        let after = std::fs::read_to_string(store.record_path("k")).unwrap();
        let want = before
            .replace(
                "      \"team\": \"x\"\n    }\n  },",
                "      \"team\": \"x\"\n    },\n    \"generation\": 1\n  },",
            )
            .replace(
                "    \"namespace\": \"k.kukeon.io\"\n  },",
                "    \"namespace\": \"k.kukeon.io\",\n    \"registryCredentials\": [\n      {\n        \"username\": \"u\",\n        \"password\": \"p\",\n        \"serverAddress\": \"r.io\"\n      }\n    ]\n  },",
            );
        assert_eq!(after, want);
        // The documented layout keeps its order too.
        let (_e, docs) = store_docs_with("y", "spec:\n  quota: 1\n  namespace: ns\nmetadata:\n  name: y\nzeta: 1\napiVersion: v1beta1\nkind: Realm\n");
        let lock = docs.lock("y").unwrap();
        let doc = docs.read_record("y").unwrap();
        docs.write_record(&doc, &lock).unwrap();
        assert_eq!(
            std::fs::read_to_string(docs.record_path("y")).unwrap(),
            "spec:\n  quota: 1\n  namespace: ns\nmetadata:\n  name: y\nzeta: 1\napiVersion: v1beta1\nkind: Realm\n"
        );
    }
}
