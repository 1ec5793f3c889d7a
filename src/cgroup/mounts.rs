//! Finding the cgroup hierarchies from `/proc/self/mountinfo`.
//!
//! Mount points are never guessed: hosts differ (pure v2, hybrid v1 with an
//! empty unified tree, joint `cpu,cpuacct` hierarchies, containers that mount
//! the tree elsewhere), and only mountinfo says which is which.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// Which cgroup layout the usage and creation logic follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    V1,
    V2,
}

/// One mounted v1 hierarchy and the controllers attached to it.
#[derive(Debug, Clone)]
pub struct V1Hierarchy {
    pub mount: PathBuf,
    /// From the super options, e.g. `["cpu"]`, `["cpu", "cpuacct"]`, `["name=systemd"]`.
    pub controllers: Vec<String>,
}

impl V1Hierarchy {
    /// True when the hierarchy carries at least one resource controller; a
    /// `name=...` hierarchy only groups processes and accounts nothing.
    pub fn has_real_controller(&self) -> bool {
        self.controllers.iter().any(|c| !c.starts_with("name="))
    }

    /// True when `controller` (e.g. "cpuacct") is attached here.
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }
}

/// All cgroup mounts of this process's mount namespace.
#[derive(Debug, Clone)]
pub struct CgroupMounts {
    pub version: CgroupVersion,
    pub v2: Option<PathBuf>,
    pub v1: Vec<V1Hierarchy>,
}

/// Super options of a v1 cgroup mount that are flags, not controllers.
const V1_FLAG_OPTIONS: &[&str] = &[
    "rw",
    "ro",
    "none",
    "xattr",
    "noprefix",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
    "nofavordynmods",
];

/// Where distributions mount cgroups; preferred when a hierarchy is mounted twice.
const CANONICAL_ROOT: &str = "/sys/fs/cgroup";

impl CgroupMounts {
    /// Reads `/proc/self/mountinfo` (lossily, a mount point may be any bytes).
    pub fn detect() -> io::Result<Self> {
        let bytes = std::fs::read("/proc/self/mountinfo")?;
        Ok(Self::parse_mountinfo(&String::from_utf8_lossy(&bytes)))
    }

    /// Pure parser. Malformed lines are skipped. A hierarchy mounted more than
    /// once (same superblock) is kept once, preferring a mount under
    /// `/sys/fs/cgroup`, so we never create or count the same group twice.
    pub fn parse_mountinfo(text: &str) -> Self {
        // (device, mount point, controllers); v2 entries have no controllers.
        let mut v1_raw: Vec<(String, PathBuf, Vec<String>)> = Vec::new();
        let mut v2_raw: Vec<PathBuf> = Vec::new();

        for line in text.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(sep) = fields.iter().position(|f| *f == "-") else {
                continue;
            };
            // After "-": fstype, source, super options (found by the fuzzer:
            // a line cut after the source used to index past the end).
            if sep < 6 || fields.len() < sep + 4 {
                continue;
            }
            let device = fields[2].to_string();
            let mount = PathBuf::from(unescape_octal(fields[4]));
            let fstype = fields[sep + 1];
            let super_opts = fields[sep + 3];
            match fstype {
                "cgroup2" => v2_raw.push(mount),
                "cgroup" => {
                    let controllers: Vec<String> = super_opts
                        .split(',')
                        .filter(|o| !o.is_empty() && !V1_FLAG_OPTIONS.contains(o))
                        .filter(|o| !o.contains('=') || o.starts_with("name="))
                        .map(str::to_string)
                        .collect();
                    if !controllers.is_empty() {
                        v1_raw.push((device, mount, controllers));
                    }
                }
                _ => {}
            }
        }

        // Canonical mounts first (stable), then keep the first per superblock.
        v1_raw.sort_by_key(|(_, m, _)| !m.starts_with(CANONICAL_ROOT));
        let mut seen = HashSet::new();
        let v1: Vec<V1Hierarchy> = v1_raw
            .into_iter()
            .filter(|(dev, _, _)| seen.insert(dev.clone()))
            .map(|(_, mount, controllers)| V1Hierarchy { mount, controllers })
            .collect();
        let v2 = v2_raw
            .iter()
            .find(|m| m.starts_with(CANONICAL_ROOT))
            .or(v2_raw.first())
            .cloned();

        let version = if v1.iter().any(V1Hierarchy::has_real_controller) {
            CgroupVersion::V1
        } else {
            CgroupVersion::V2
        };
        CgroupMounts { version, v2, v1 }
    }

    /// The v1 hierarchy carrying `controller`, if mounted.
    pub fn v1_with(&self, controller: &str) -> Option<&V1Hierarchy> {
        self.v1.iter().find(|h| h.has(controller))
    }

    /// Every mount point we know (v1 hierarchies and the v2 mount).
    pub fn all_mounts(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = self.v1.iter().map(|h| h.mount.as_path()).collect();
        if let Some(v2) = &self.v2 {
            out.push(v2);
        }
        out
    }

    /// One short line for status bars and `doctor` output.
    pub fn describe(&self) -> String {
        match self.version {
            CgroupVersion::V2 => match &self.v2 {
                Some(p) => format!("v2 at {}", p.display()),
                None => "no cgroup mounts found".to_string(),
            },
            CgroupVersion::V1 => {
                let label = if self.v2.is_some() {
                    "v1 (hybrid)"
                } else {
                    "v1"
                };
                let real: Vec<&Path> = self
                    .v1
                    .iter()
                    .filter(|h| h.has_real_controller())
                    .map(|h| h.mount.as_path())
                    .collect();
                let parent = real.first().and_then(|p| p.parent());
                let names: Option<Vec<String>> = real
                    .iter()
                    .map(|p| {
                        (p.parent() == parent)
                            .then(|| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                            .flatten()
                    })
                    .collect();
                match (parent, names) {
                    (Some(parent), Some(mut names)) if !names.is_empty() => {
                        names.sort();
                        format!("{label} at {}/{{{}}}", parent.display(), names.join(","))
                    }
                    _ => {
                        let list: Vec<String> =
                            real.iter().map(|p| p.display().to_string()).collect();
                        format!("{label} at {}", list.join(", "))
                    }
                }
            }
        }
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                if v <= 255 {
                    out.push(v as u8);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copied verbatim from this CI machine (cgroup v1 hybrid, split cpu/cpuacct).
    const HYBRID: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334432k,nr_inodes=3083608,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k,mode=755
29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683656k
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const PURE_V2: &str = "\
24 31 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 31 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:14 - proc proc rw
31 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
36 24 0:31 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
";

    const V1_JOINT: &str = "\
25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:6 - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,memory
30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,net_cls,net_prio
31 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,pids
32 25 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,cpuset,clone_children
33 25 0:30 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,blkio
90 60 0:26 / /var/lib/other/memory rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn lines_cut_short_are_skipped() {
        // Found by the fuzzer: a line ending right after the source panicked.
        for line in [
            "1 2 0:1 / /a rw - cgroup src",
            "1 2 0:1 / /a rw - cgroup",
            "1 2 0:1 / /a rw -",
            "-",
            "",
        ] {
            let m = CgroupMounts::parse_mountinfo(line);
            assert!(m.v1.is_empty() && m.v2.is_none(), "{line:?}");
        }
    }

    #[test]
    fn pure_v2() {
        let m = CgroupMounts::parse_mountinfo(PURE_V2);
        assert_eq!(m.version, CgroupVersion::V2);
        assert_eq!(m.v2.as_deref(), Some(Path::new("/sys/fs/cgroup")));
        assert!(m.v1.is_empty());
        assert_eq!(m.describe(), "v2 at /sys/fs/cgroup");
    }

    #[test]
    fn hybrid_this_machine() {
        let m = CgroupMounts::parse_mountinfo(HYBRID);
        assert_eq!(m.version, CgroupVersion::V1);
        assert_eq!(m.v2.as_deref(), Some(Path::new("/sys/fs/cgroup/unified")));
        assert_eq!(m.v1.len(), 9);
        let cpu = m.v1_with("cpu").unwrap();
        assert_eq!(cpu.controllers, vec!["cpu"]);
        let acct = m.v1_with("cpuacct").unwrap();
        assert_eq!(acct.mount, Path::new("/sys/fs/cgroup/cpuacct"));
        let sd = m.v1_with("name=systemd").unwrap();
        assert!(!sd.has_real_controller());
        assert_eq!(
            m.describe(),
            "v1 (hybrid) at /sys/fs/cgroup/{blkio,cpu,cpuacct,cpuset,devices,freezer,memory,pids}"
        );
    }

    #[test]
    fn v1_joint_cpu_cpuacct() {
        let m = CgroupMounts::parse_mountinfo(V1_JOINT);
        assert_eq!(m.version, CgroupVersion::V1);
        assert!(m.v2.is_none());
        let cpu = m.v1_with("cpu").unwrap();
        assert_eq!(cpu.controllers, vec!["cpu", "cpuacct"]);
        assert_eq!(cpu.mount, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(m.v1_with("cpuacct").unwrap().mount, cpu.mount);
        // Flags and release_agent= are not controllers.
        assert_eq!(m.v1_with("cpuset").unwrap().controllers, vec!["cpuset"]);
        assert_eq!(
            m.v1_with("name=systemd").unwrap().controllers,
            vec!["name=systemd"]
        );
        // The duplicate memory mount (same superblock 0:26) is dropped.
        assert_eq!(m.v1.iter().filter(|h| h.has("memory")).count(), 1);
        assert_eq!(
            m.v1_with("memory").unwrap().mount,
            Path::new("/sys/fs/cgroup/memory")
        );
        assert!(m.describe().starts_with("v1 at /sys/fs/cgroup/{"));
    }

    #[test]
    fn only_named_v1_is_v2() {
        let text = "\
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
";
        let m = CgroupMounts::parse_mountinfo(text);
        assert_eq!(m.version, CgroupVersion::V2);
        assert_eq!(m.v2.as_deref(), Some(Path::new("/sys/fs/cgroup")));
    }

    #[test]
    fn garbage_and_escapes() {
        let m = CgroupMounts::parse_mountinfo("- - -\n\n1 2 3\n\u{0} - cgroup2\n");
        assert!(m.v2.is_none() && m.v1.is_empty());
        assert_eq!(m.describe(), "no cgroup mounts found");
        let m =
            CgroupMounts::parse_mountinfo("41 31 0:38 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n");
        assert_eq!(m.v2.as_deref(), Some(Path::new("/mnt/my cg")));
        assert_eq!(unescape_octal("a\\"), "a\\");
        assert_eq!(unescape_octal("a\\13"), "a\\13");
        assert_eq!(unescape_octal("\\777x"), "\\777x");
    }
}
