//! Reading a group's usage files, with pure parsers for each format.
//!
//! Every value is `Option`: a missing or unreadable file means "unknown", and
//! showing it as 0 would make an unaccounted group look idle.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::mounts::{CgroupMounts, CgroupVersion};
use super::tree::group_relpath;

/// A limit that may be absent (`max`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Unlimited,
    /// Bytes for memory, a count for pids.
    Value(u64),
}

impl serde::Serialize for Limit {
    /// Mirrors the kernel's own spelling: `"max"` or a number.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Limit::Unlimited => s.serialize_str("max"),
            Limit::Value(n) => s.serialize_u64(*n),
        }
    }
}

/// One reading of a group's counters; each field is `None` when unknown.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// v2 `cpu.stat` usage_usec; v1 `cpuacct.usage` (ns) / 1000.
    pub cpu_usage_usec: Option<u64>,
    /// v2 `memory.current`; v1 `memory.usage_in_bytes`.
    pub memory_current: Option<u64>,
    /// v2 `memory.stat` inactive_file; v1 `memory.stat` total_inactive_file.
    pub memory_inactive_file: Option<u64>,
    /// v2 `memory.max`; v1 `memory.limit_in_bytes` (>= 2^62 means unlimited).
    pub memory_limit: Option<Limit>,
    pub pids_current: Option<u64>,
    pub pids_max: Option<Limit>,
    /// v2 `io.stat` rbytes summed over devices; v1 blkio Read bytes.
    pub io_read_bytes: Option<u64>,
    /// v2 `io.stat` wbytes summed over devices; v1 blkio Write bytes.
    pub io_write_bytes: Option<u64>,
    /// v2 only: `cpu.pressure`, `memory.pressure`, `io.pressure` (avg10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pressure: Option<super::psi::Pressure>,
}

impl Usage {
    /// Memory the group actually needs: page cache that can be dropped
    /// (inactive_file) is not counted, the same figure kubelet and docker show.
    pub fn working_set(&self) -> Option<u64> {
        let current = self.memory_current?;
        Some(match self.memory_inactive_file {
            Some(inactive) => current.saturating_sub(inactive),
            None => current,
        })
    }
}

/// v1 writes "no limit" as a page-rounded i64::MAX; anything this large is unlimited.
const V1_UNLIMITED_THRESHOLD: u64 = 1 << 62;

/// A single decimal number, surrounding whitespace allowed.
pub fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `max` or a number (v2 `memory.max`, `pids.max`; v1 `pids.max`).
pub fn parse_limit(text: &str) -> Option<Limit> {
    match text.trim() {
        "max" => Some(Limit::Unlimited),
        t => t.parse().ok().map(Limit::Value),
    }
}

/// v1 `memory.limit_in_bytes`: a huge number is the kernel's "unlimited".
pub fn parse_limit_v1(text: &str) -> Option<Limit> {
    match parse_limit(text)? {
        Limit::Value(n) if n >= V1_UNLIMITED_THRESHOLD => Some(Limit::Unlimited),
        l => Some(l),
    }
}

/// The value of `key` in a flat-keyed file (`key value` per line), e.g. `memory.stat`.
pub fn parse_keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let mut it = line.split_whitespace();
        (it.next() == Some(key))
            .then(|| it.next())
            .flatten()?
            .parse()
            .ok()
    })
}

/// v2 `cpu.stat`: the `usage_usec` line.
pub fn parse_cpu_stat_usage(text: &str) -> Option<u64> {
    parse_keyed(text, "usage_usec")
}

/// v1 `cpuacct.usage` is nanoseconds; convert to the v2 unit.
pub fn parse_cpuacct_usage_usec(text: &str) -> Option<u64> {
    parse_u64(text).map(|ns| ns / 1000)
}

/// True for a `MAJ:MIN` device token.
fn is_device(tok: &str) -> bool {
    match tok.split_once(':') {
        Some((maj, min)) => {
            !maj.is_empty()
                && !min.is_empty()
                && maj.bytes().all(|b| b.is_ascii_digit())
                && min.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// v2 `io.stat`: `(rbytes, wbytes)` summed over all device lines
/// (`MAJ:MIN rbytes=.. wbytes=.. rios=..`). An empty file is a group that did
/// no IO yet (the kernel lists only devices with activity), so it reads as
/// zero; a line that is not a device line makes the whole file `None`.
/// A device line missing a key contributes 0 for that key.
pub fn parse_io_stat_v2(text: &str) -> Option<(u64, u64)> {
    let (mut read, mut write) = (0u64, 0u64);
    for line in text.lines() {
        let mut toks = line.split_whitespace();
        let Some(dev) = toks.next() else { continue };
        if !is_device(dev) {
            return None;
        }
        for kv in toks {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let Ok(v) = v.parse::<u64>() else { continue };
            match k {
                "rbytes" => read = read.saturating_add(v),
                "wbytes" => write = write.saturating_add(v),
                _ => {}
            }
        }
    }
    Some((read, write))
}

/// v1 blkio `*io_service_bytes*` files: `(Read, Write)` summed over
/// `MAJ:MIN Op N` lines; the trailing `Total N` line is ignored. `None` when
/// no line is recognisable (empty or garbage); `Total 0` alone reads as zero.
pub fn parse_blkio_v1(text: &str) -> Option<(u64, u64)> {
    let (mut read, mut write) = (0u64, 0u64);
    let mut recognised = false;
    for line in text.lines() {
        let toks: Vec<&str> = line.split_whitespace().collect();
        match toks.as_slice() {
            ["Total", n] if n.parse::<u64>().is_ok() => recognised = true,
            [dev, op, n] if is_device(dev) => {
                let Ok(n) = n.parse::<u64>() else { continue };
                recognised = true;
                match *op {
                    "Read" => read = read.saturating_add(n),
                    "Write" => write = write.saturating_add(n),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    recognised.then_some((read, write))
}

/// File contents as text; `None` when missing or unreadable. Lossy, so odd
/// bytes become parse failures rather than errors.
fn read_text(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut file = fs::File::open(path).ok()?;
    let mut bytes = Vec::with_capacity(4096);
    // Through `dyn Read` on purpose: `File`'s own read_to_end first stats the
    // file for a size hint, which for cgroup files is always 4096 and costs
    // a syscall per file per sample.
    (&mut file as &mut dyn Read).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Where a group's files live: a hierarchy's mount and the group below it,
/// joined only when a file has to be opened by path.
struct GroupDir<'a> {
    mount: &'a Path,
    rel: &'a Path,
}

impl GroupDir<'_> {
    fn file(&self, name: &str) -> std::path::PathBuf {
        self.mount.join(self.rel).join(name)
    }
}

/// Where `read_usage_with` gets a file's text: the group directory (one per
/// hierarchy) and the file name; `None` when it cannot be read, or when a
/// slow file is skipped this time.
trait Source {
    fn text(&mut self, dir: &GroupDir, file: &'static str) -> Option<&str>;
}

/// Opens, reads and closes each file: for one-off readings.
struct OneShot(String);

impl Source for OneShot {
    fn text(&mut self, dir: &GroupDir, file: &'static str) -> Option<&str> {
        self.0 = read_text(&dir.file(file))?;
        Some(&self.0)
    }
}

fn read_with<T>(
    src: &mut dyn Source,
    dir: &GroupDir,
    file: &'static str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Option<T> {
    parse(src.text(dir, file)?)
}

/// v1 blkio files in order of preference. The throttle file counts all IO on
/// current kernels (the throttle layer sees every bio, whatever the
/// scheduler); the CFQ/BFQ files are fallbacks for kernels without it. The
/// first readable one wins.
const V1_BLKIO_FILES: &[&str] = &[
    "blkio.throttle.io_service_bytes_recursive",
    "blkio.io_service_bytes_recursive",
    "blkio.bfq.io_service_bytes_recursive",
];

/// One reading of `group`'s usage. An invalid group name (`..`, `.`) reads
/// as all-`None`.
pub fn read_usage(mounts: &CgroupMounts, group: &str) -> Usage {
    read_usage_with(mounts, group, &mut OneShot(String::new()))
}

fn read_usage_with(mounts: &CgroupMounts, group: &str, src: &mut dyn Source) -> Usage {
    let Ok(rel) = group_relpath(group) else {
        return Usage::default();
    };
    let mut u = Usage::default();
    match mounts.version {
        CgroupVersion::V2 => {
            let Some(root) = &mounts.v2 else { return u };
            let d = &GroupDir {
                mount: root,
                rel: &rel,
            };
            u.cpu_usage_usec = read_with(src, d, "cpu.stat", parse_cpu_stat_usage);
            u.memory_current = read_with(src, d, "memory.current", parse_u64);
            u.memory_inactive_file =
                read_with(src, d, "memory.stat", |t| parse_keyed(t, "inactive_file"));
            u.memory_limit = read_with(src, d, "memory.max", parse_limit);
            u.pids_current = read_with(src, d, "pids.current", parse_u64);
            u.pids_max = read_with(src, d, "pids.max", parse_limit);
            if let Some((r, w)) = read_with(src, d, "io.stat", parse_io_stat_v2) {
                u.io_read_bytes = Some(r);
                u.io_write_bytes = Some(w);
            }
            u.pressure = super::psi::Pressure::of(
                read_with(src, d, "cpu.pressure", super::psi::parse_pressure),
                read_with(src, d, "memory.pressure", super::psi::parse_pressure),
                read_with(src, d, "io.pressure", super::psi::parse_pressure),
            );
        }
        CgroupVersion::V1 => {
            if let Some(h) = mounts.v1_with("cpuacct") {
                let d = &GroupDir {
                    mount: &h.mount,
                    rel: &rel,
                };
                u.cpu_usage_usec = read_with(src, d, "cpuacct.usage", parse_cpuacct_usage_usec);
            }
            if let Some(h) = mounts.v1_with("memory") {
                let d = &GroupDir {
                    mount: &h.mount,
                    rel: &rel,
                };
                u.memory_current = read_with(src, d, "memory.usage_in_bytes", parse_u64);
                u.memory_inactive_file = read_with(src, d, "memory.stat", |t| {
                    parse_keyed(t, "total_inactive_file")
                        .or_else(|| parse_keyed(t, "inactive_file"))
                });
                u.memory_limit = read_with(src, d, "memory.limit_in_bytes", parse_limit_v1);
            }
            if let Some(h) = mounts.v1_with("pids") {
                let d = &GroupDir {
                    mount: &h.mount,
                    rel: &rel,
                };
                u.pids_current = read_with(src, d, "pids.current", parse_u64);
                u.pids_max = read_with(src, d, "pids.max", parse_limit);
            }
            if let Some(h) = mounts.v1_with("blkio") {
                let d = &GroupDir {
                    mount: &h.mount,
                    rel: &rel,
                };
                // The first readable file wins: reading the fallbacks of an idle
                // group every sample would triple the cost for nothing.
                let best = V1_BLKIO_FILES
                    .iter()
                    .find_map(|f| read_with(src, d, f, parse_blkio_v1));
                if let Some((r, w)) = best {
                    u.io_read_bytes = Some(r);
                    u.io_write_bytes = Some(w);
                }
            }
        }
    }
    u
}

/// A reader that keeps each group's usage files open between readings and
/// re-reads them with `pread` at offset 0: one syscall per file per sample
/// instead of a path walk, open, two reads and a close. What a sampler
/// ticking every second over hundreds of realms needs to stay nearly free.
///
/// Staleness: a removed cgroup's open files fail with ENODEV (kernfs), and a
/// re-created one has new files, so any failed read drops every file kept
/// for that group and reads again by path. Files that are missing are not
/// kept (looked up again each reading). At most `budget` files stay open;
/// beyond it reads fall back to open/read/close.
pub struct CachedReader {
    groups: HashMap<String, GroupFiles>,
    open: usize,
    budget: usize,
    buf: Vec<u8>,
    text: String,
}

/// One group's open files, and what its slow files said last.
#[derive(Default)]
struct GroupFiles {
    files: Vec<(&'static str, fs::File)>,
    /// Readings of this group so far; slow files are read on every
    /// `SLOW_EVERY`th.
    readings: u64,
    /// The values from the slow files at their last reading; `None` until
    /// they were read, and again once the group turned out stale.
    slow: Option<SlowValues>,
    /// This reading skipped the slow files (so `slow` fills them in).
    skipped_slow: bool,
}

/// The `Usage` fields that come from `SLOW_FILES`, kept parsed: between
/// their readings they are copied, not re-read and not re-parsed.
#[derive(Clone)]
struct SlowValues {
    memory_inactive_file: Option<u64>,
    memory_limit: Option<Limit>,
    pids_max: Option<Limit>,
}

impl SlowValues {
    fn of(u: &Usage) -> Self {
        SlowValues {
            memory_inactive_file: u.memory_inactive_file,
            memory_limit: u.memory_limit,
            pids_max: u.pids_max,
        }
    }

    fn fill(&self, u: &mut Usage) {
        u.memory_inactive_file = self.memory_inactive_file;
        u.memory_limit = self.memory_limit;
        u.pids_max = self.pids_max;
    }
}

/// Files whose values change rarely or slowly (limits; the page-cache split
/// of memory.stat, which only corrects the working set) but cost the most to
/// read (v1 memory.stat walks the whole hierarchy's counters): read on every
/// `SLOW_EVERY`th reading of a group, their last values reused in between.
const SLOW_FILES: &[&str] = &[
    "memory.stat",
    "memory.limit_in_bytes",
    "memory.max",
    "pids.max",
];
const SLOW_EVERY: u64 = 5;

/// A reading of this many bytes or more may have been cut short; cgroup
/// files are far smaller (v1 memory.stat is ~1.5 KiB).
const READ_BUF: usize = 64 * 1024;

impl CachedReader {
    pub fn new(budget: usize) -> Self {
        CachedReader {
            groups: HashMap::new(),
            open: 0,
            budget,
            buf: vec![0; READ_BUF],
            text: String::new(),
        }
    }

    /// How many files are kept open.
    pub fn open_files(&self) -> usize {
        self.open
    }

    pub fn read_usage(&mut self, mounts: &CgroupMounts, group: &str) -> Usage {
        match self.groups.get_mut(group) {
            Some(g) => {
                g.readings += 1;
                g.skipped_slow = false;
            }
            None => {
                self.groups.insert(group.to_string(), GroupFiles::default());
            }
        }
        let mut src = Cached {
            reader: self,
            group,
        };
        let mut u = read_usage_with(mounts, group, &mut src);
        if let Some(g) = self.groups.get_mut(group) {
            match (&g.slow, g.skipped_slow) {
                (Some(kept), true) => kept.fill(&mut u),
                // Kept only from a group that has files: a removed one's
                // unknowns must not outlive it into a re-created group.
                (_, false) => g.slow = (!g.files.is_empty()).then(|| SlowValues::of(&u)),
                (None, true) => {}
            }
        }
        u
    }

    /// Closes the files of every group `keep` says no to (realms gone).
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        let open = &mut self.open;
        self.groups.retain(|group, files| {
            let kept = keep(group);
            if !kept {
                *open -= files.files.len();
            }
            kept
        });
    }
}

struct Cached<'a> {
    reader: &'a mut CachedReader,
    group: &'a str,
}

impl Source for Cached<'_> {
    fn text(&mut self, dir: &GroupDir, file: &'static str) -> Option<&str> {
        use std::os::unix::fs::FileExt;
        let r = &mut *self.reader;
        let group = r.groups.get_mut(self.group)?;
        if SLOW_FILES.contains(&file) && group.readings % SLOW_EVERY != 0 && group.slow.is_some() {
            group.skipped_slow = true;
            return None;
        }
        let files = &mut group.files;
        let len = match files.iter().find(|(name, _)| *name == file) {
            Some((_, f)) => match f.read_at(&mut r.buf, 0) {
                Ok(n) if n < r.buf.len() => Some(n),
                _ => None,
            },
            None => None,
        };
        let len = match len {
            Some(n) => n,
            None => {
                // Not open yet, or stale (the group was removed, maybe
                // re-created): forget all of the group's files, read by path.
                if files.iter().any(|(name, _)| *name == file) {
                    r.open -= files.len();
                    files.clear();
                    group.slow = None;
                }
                let mut f = fs::File::open(dir.file(file)).ok()?;
                let n = f.read_at(&mut r.buf, 0).ok()?;
                if n >= r.buf.len() {
                    // Too big to be a cgroup file we know: read it whole, keep nothing.
                    use std::io::Read;
                    let mut all = Vec::new();
                    f.read_to_end(&mut all).ok()?;
                    r.text = String::from_utf8_lossy(&all).into_owned();
                    return Some(&r.text);
                }
                if r.open < r.budget {
                    files.push((file, f));
                    r.open += 1;
                }
                n
            }
        };
        r.text.clear();
        r.text.push_str(&String::from_utf8_lossy(&r.buf[..len]));
        Some(&r.text)
    }
}

#[cfg(test)]
mod tests {
    use super::super::mounts::V1Hierarchy;
    use super::super::psi::{Pressure, PsiAvg10};
    use super::*;
    use std::path::PathBuf;
    use tempfile::TempDir;

    fn write(dir: &Path, name: &str, body: &[u8]) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(name), body).unwrap();
    }

    fn v2(tmp: &TempDir) -> CgroupMounts {
        CgroupMounts {
            version: CgroupVersion::V2,
            v2: Some(tmp.path().to_path_buf()),
            v1: vec![],
        }
    }

    #[test]
    fn v2_full_files() {
        let tmp = TempDir::new().unwrap();
        let d = tmp.path().join("kukeon/main");
        write(
            &d,
            "cpu.stat",
            b"usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n",
        );
        write(&d, "memory.current", b"104857600\n");
        write(
            &d,
            "memory.stat",
            b"anon 1000\nfile 5000\nactive_file 1000\ninactive_file 4096\n",
        );
        write(&d, "memory.max", b"536870912\n");
        write(&d, "pids.current", b"7\n");
        write(&d, "pids.max", b"100\n");
        write(
            &d,
            "io.stat",
            b"8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n\
              253:1 rbytes=10 wbytes=20 rios=1 wios=1 dbytes=0 dios=0\n\
              7:3 wios=5 wbytes=3\n",
        );
        // PSI; this cpu.pressure is from a kernel before 5.13 (no `full`).
        write(
            &d,
            "cpu.pressure",
            b"some avg10=12.50 avg60=3.00 avg300=1.00 total=999\n",
        );
        write(
            &d,
            "memory.pressure",
            b"some avg10=0.40 avg60=0.10 avg300=0.00 total=77\n\
              full avg10=0.20 avg60=0.05 avg300=0.00 total=33\n",
        );
        write(
            &d,
            "io.pressure",
            b"some avg10=3.10 avg60=1.00 avg300=0.50 total=5\n\
              full avg10=2.90 avg60=0.90 avg300=0.40 total=4\n",
        );
        let u = read_usage(&v2(&tmp), "/kukeon/main");
        assert_eq!(
            u,
            Usage {
                cpu_usage_usec: Some(123456),
                memory_current: Some(104857600),
                memory_inactive_file: Some(4096),
                memory_limit: Some(Limit::Value(536870912)),
                pids_current: Some(7),
                pids_max: Some(Limit::Value(100)),
                io_read_bytes: Some(1010),
                io_write_bytes: Some(2023),
                pressure: Some(Pressure {
                    cpu: Some(PsiAvg10 {
                        some_avg10: Some(12.5),
                        full_avg10: None
                    }),
                    memory: Some(PsiAvg10 {
                        some_avg10: Some(0.4),
                        full_avg10: Some(0.2)
                    }),
                    io: Some(PsiAvg10 {
                        some_avg10: Some(3.1),
                        full_avg10: Some(2.9)
                    }),
                }),
            }
        );
        // The cached reader (the console's) reads them too.
        let mut reader = CachedReader::new(64);
        assert_eq!(reader.read_usage(&v2(&tmp), "/kukeon/main"), u);
        assert_eq!(u.working_set(), Some(104857600 - 4096));
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json["memoryLimit"], 536870912);
        assert_eq!(json["ioReadBytes"], 1010);
        assert_eq!(json["pressure"]["io"]["fullAvg10"], 2.9);
        assert_eq!(json["pressure"]["cpu"]["someAvg10"], 12.5);
    }

    #[test]
    fn v2_max_limits() {
        let tmp = TempDir::new().unwrap();
        let d = tmp.path().join("kukeon/main");
        write(&d, "memory.max", b"max\n");
        write(&d, "pids.max", b"max\n");
        let u = read_usage(&v2(&tmp), "/kukeon/main");
        assert_eq!(u.memory_limit, Some(Limit::Unlimited));
        assert_eq!(u.pids_max, Some(Limit::Unlimited));
        let json = serde_json::to_value(&u).unwrap();
        assert_eq!(json["memoryLimit"], "max");
        assert_eq!(json["pidsMax"], "max");
        assert!(json["memoryCurrent"].is_null());
    }

    #[test]
    fn v2_missing_files_are_none() {
        let tmp = TempDir::new().unwrap();
        fs::create_dir_all(tmp.path().join("kukeon/main")).unwrap();
        let u = read_usage(&v2(&tmp), "/kukeon/main");
        assert_eq!(u, Usage::default());
        assert_eq!(u.working_set(), None);
        // A group that does not exist at all reads the same.
        assert_eq!(read_usage(&v2(&tmp), "/kukeon/nope"), Usage::default());
        // No mount at all.
        let none = CgroupMounts {
            version: CgroupVersion::V2,
            v2: None,
            v1: vec![],
        };
        assert_eq!(read_usage(&none, "/kukeon/main"), Usage::default());
    }

    #[test]
    fn v2_garbage_is_none() {
        let tmp = TempDir::new().unwrap();
        let d = tmp.path().join("g");
        write(&d, "cpu.stat", b"hello world\n");
        write(&d, "memory.current", b"lots\n");
        write(&d, "memory.stat", b"\xff\xfe inactive_file x\n");
        write(&d, "memory.max", b"-1\n");
        write(&d, "pids.current", b"99999999999999999999999999\n");
        write(&d, "pids.max", b"\n");
        write(&d, "io.stat", b"garbage here\n");
        let u = read_usage(&v2(&tmp), "/g");
        assert_eq!(u, Usage::default());
    }

    #[test]
    fn v2_inactive_unknown_working_set_is_current() {
        let tmp = TempDir::new().unwrap();
        let d = tmp.path().join("g");
        write(&d, "memory.current", b"100");
        write(&d, "io.stat", b"");
        let u = read_usage(&v2(&tmp), "g");
        assert_eq!(u.working_set(), Some(100));
        assert_eq!((u.io_read_bytes, u.io_write_bytes), (Some(0), Some(0)));
        let u = Usage {
            memory_current: Some(10),
            memory_inactive_file: Some(50),
            ..Usage::default()
        };
        assert_eq!(u.working_set(), Some(0));
    }

    #[test]
    fn escaping_group_reads_nothing() {
        let tmp = TempDir::new().unwrap();
        let inner = tmp.path().join("mnt");
        write(&inner, "x", b"");
        write(tmp.path(), "memory.current", b"5");
        let m = CgroupMounts {
            version: CgroupVersion::V2,
            v2: Some(inner),
            v1: vec![],
        };
        assert_eq!(read_usage(&m, "/.."), Usage::default());
        assert_eq!(read_usage(&m, "/a/../.."), Usage::default());
    }

    #[test]
    fn cached_reader_reads_like_one_shot_and_keeps_files_open() {
        let tmp = TempDir::new().unwrap();
        let d = tmp.path().join("g");
        write(&d, "cpu.stat", b"usage_usec 10\n");
        write(&d, "memory.current", b"100\n");
        write(&d, "pids.max", b"max\n");
        let m = v2(&tmp);
        let mut r = CachedReader::new(2);
        let u = r.read_usage(&m, "/g");
        assert_eq!(u, read_usage(&m, "/g"));
        assert_eq!(u.cpu_usage_usec, Some(10));
        assert_eq!(u.pids_max, Some(Limit::Unlimited));
        assert_eq!(r.open_files(), 2, "the budget caps open files");
        // New contents of a kept file (same inode) show at once; a slow
        // file (a limit) is read again on every SLOW_EVERY-th reading.
        fs::write(d.join("cpu.stat"), b"usage_usec 20\n").unwrap();
        write(&d, "pids.max", b"7\n");
        let u = r.read_usage(&m, "/g");
        assert_eq!(u.cpu_usage_usec, Some(20));
        assert_eq!(u.pids_max, Some(Limit::Unlimited), "slow files wait");
        for _ in 2..SLOW_EVERY {
            r.read_usage(&m, "/g");
        }
        assert_eq!(r.read_usage(&m, "/g").pids_max, Some(Limit::Value(7)));
        // A file appearing later is found.
        write(&d, "pids.current", b"3\n");
        assert_eq!(r.read_usage(&m, "/g").pids_current, Some(3));
        assert_eq!(r.read_usage(&m, "/.."), Usage::default());
        r.retain(|g| g != "/g");
        assert_eq!(r.open_files(), 0);
        let mut r = CachedReader::new(0);
        assert_eq!(r.read_usage(&m, "/g"), read_usage(&m, "/g"));
        assert_eq!(r.open_files(), 0);
    }

    fn v1_mounts(root: &Path) -> CgroupMounts {
        let h = |name: &str, ctrls: &[&str]| V1Hierarchy {
            mount: root.join(name),
            controllers: ctrls.iter().map(|s| s.to_string()).collect(),
        };
        CgroupMounts {
            version: CgroupVersion::V1,
            v2: Some(root.join("unified")),
            v1: vec![
                h("cpu,cpuacct", &["cpu", "cpuacct"]),
                h("memory", &["memory"]),
                h("pids", &["pids"]),
                h("blkio", &["blkio"]),
                h("systemd", &["name=systemd"]),
            ],
        }
    }

    #[test]
    fn v1_tree() {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path();
        let g = PathBuf::from("kukeon/main");
        write(
            &root.join("cpu,cpuacct").join(&g),
            "cpuacct.usage",
            b"5000000123\n",
        );
        let mem = root.join("memory").join(&g);
        write(&mem, "memory.usage_in_bytes", b"2000000\n");
        write(&mem, "memory.limit_in_bytes", b"9223372036854771712\n");
        write(
            &mem,
            "memory.stat",
            b"cache 10\ninactive_file 7\ntotal_cache 99\ntotal_inactive_file 500000\n",
        );
        let pids = root.join("pids").join(&g);
        write(&pids, "pids.current", b"3\n");
        write(&pids, "pids.max", b"max\n");
        write(
            &root.join("blkio").join(&g),
            "blkio.throttle.io_service_bytes_recursive",
            b"8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\n\
              8:16 Read 4\n8:16 Write 8\n8:16 Total 12\nTotal 12300\n",
        );
        let u = read_usage(&v1_mounts(root), "/kukeon/main");
        assert_eq!(
            u,
            Usage {
                cpu_usage_usec: Some(5000000),
                memory_current: Some(2000000),
                memory_inactive_file: Some(500000),
                memory_limit: Some(Limit::Unlimited),
                pids_current: Some(3),
                pids_max: Some(Limit::Unlimited),
                io_read_bytes: Some(4100),
                io_write_bytes: Some(8200),
                pressure: None,
            }
        );
        assert_eq!(u.working_set(), Some(1500000));
        // v1 has no PSI files: the key is left out, not null.
        assert!(serde_json::to_value(&u).unwrap().get("pressure").is_none());
    }

    #[test]
    fn v1_finite_limit_missing_and_blkio_fallback() {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path();
        let mem = root.join("memory/g");
        write(&mem, "memory.limit_in_bytes", b"1073741824\n");
        let blk = root.join("blkio/g");
        write(
            &blk,
            "blkio.bfq.io_service_bytes_recursive",
            b"8:0 Read 1\n8:0 Write 2\nTotal 3\n",
        );
        let u = read_usage(&v1_mounts(root), "/g");
        assert_eq!(u.memory_limit, Some(Limit::Value(1 << 30)));
        assert_eq!(u.memory_current, None);
        assert_eq!(u.cpu_usage_usec, None);
        assert_eq!(u.pids_current, None);
        assert_eq!((u.io_read_bytes, u.io_write_bytes), (Some(1), Some(2)));

        // The throttle file wins when present; all-zero reads as zero, not None.
        write(
            &blk,
            "blkio.throttle.io_service_bytes_recursive",
            b"Total 0\n",
        );
        let u = read_usage(&v1_mounts(root), "/g");
        assert_eq!((u.io_read_bytes, u.io_write_bytes), (Some(0), Some(0)));
    }

    #[test]
    fn parsers() {
        assert_eq!(parse_limit(" max\n"), Some(Limit::Unlimited));
        assert_eq!(parse_limit("42"), Some(Limit::Value(42)));
        assert_eq!(parse_limit(""), None);
        assert_eq!(parse_limit("maximum"), None);
        assert_eq!(parse_limit("18446744073709551616"), None);
        assert_eq!(
            parse_limit_v1("4611686018427387904"),
            Some(Limit::Unlimited)
        );
        assert_eq!(
            parse_limit_v1("4611686018427387903"),
            Some(Limit::Value(4611686018427387903))
        );
        assert_eq!(parse_cpu_stat_usage("user_usec 1\nusage_usec 2\n"), Some(2));
        assert_eq!(parse_cpu_stat_usage("usage_usec\n"), None);
        assert_eq!(parse_cpu_stat_usage("usage_usec_x 3\n"), None);
        assert_eq!(parse_cpuacct_usage_usec("999"), Some(0));
        assert_eq!(parse_io_stat_v2(""), Some((0, 0)));
        assert_eq!(parse_io_stat_v2("8:0 rbytes=x wbytes=5"), Some((0, 5)));
        assert_eq!(parse_io_stat_v2("8: rbytes=1"), None);
        assert_eq!(
            parse_io_stat_v2("8:0 rbytes=18446744073709551615\n8:1 rbytes=10\n"),
            Some((u64::MAX, 0))
        );
        assert_eq!(parse_blkio_v1(""), None);
        assert_eq!(parse_blkio_v1("nonsense"), None);
        assert_eq!(parse_blkio_v1("Total 0\n"), Some((0, 0)));
        assert_eq!(
            parse_blkio_v1("8:0 Read 18446744073709551615\n8:1 Read 1\n"),
            Some((u64::MAX, 0))
        );
        let ser = |l: Limit| serde_json::to_string(&l).unwrap();
        assert_eq!(ser(Limit::Unlimited), "\"max\"");
        assert_eq!(ser(Limit::Value(7)), "7");
    }

    /// Pseudo-random inputs through every parser: none may panic.
    #[test]
    fn parsers_never_panic() {
        let alphabet = b" \n\t:=-0123456789maxrbyteswbytesReadWriteTotalusage_usec\xff\x00";
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..5000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (seed >> 56) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let x = seed.rotate_left((i % 64) as u32)
                        ^ (i as u64).wrapping_mul(0x2545F4914F6CDD1D);
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            let s = String::from_utf8_lossy(&bytes);
            let _ = parse_u64(&s);
            let _ = parse_limit(&s);
            let _ = parse_limit_v1(&s);
            let _ = parse_keyed(&s, "inactive_file");
            let _ = parse_cpu_stat_usage(&s);
            let _ = parse_cpuacct_usage_usec(&s);
            let _ = parse_io_stat_v2(&s);
            let _ = parse_blkio_v1(&s);
        }
    }
}
