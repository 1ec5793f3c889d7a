//! Live usage from realm cgroups: rates need two readings, so a sampler
//! keeps the previous one per realm. No containerd call is involved.

use super::{Host, OpError, OpResult};
use crate::cgroup::{CachedReader, Limit, Usage};
use crate::model::names::validate_existing_realm_name;
use crate::store::realms::RecordStamp;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;

/// A realm whose cgroup is sampled.
#[derive(Debug, Clone)]
pub struct UsageTarget {
    pub realm: String,
    pub group: String,
}

impl UsageTarget {
    /// What to sample for a listed realm.
    pub fn of(realm: &crate::ops::realms::RealmSummary) -> Self {
        UsageTarget {
            realm: realm.name.clone(),
            group: realm.cgroup_path.clone(),
        }
    }
}

/// Keeps each realm's cgroup group between samples, re-reading a record
/// only when its bytes changed: a sampler ticking every second then costs a
/// directory listing and a stat per realm, not a YAML parse.
#[derive(Default)]
pub struct TargetCache {
    groups: HashMap<String, (Option<RecordStamp>, String)>,
}

impl TargetCache {
    /// Every realm on the host (or just `only`), with its cgroup group.
    pub fn targets(&mut self, host: &Host, only: Option<&str>) -> OpResult<Vec<UsageTarget>> {
        if let Some(name) = only {
            validate_existing_realm_name(name).map_err(OpError::usage)?;
        }
        let dirs = host
            .store
            .realm_stamps()
            .map_err(|e| OpError::io("cannot read the run path", &host.settings.run_path, &e))?;
        let mut groups = HashMap::with_capacity(dirs.len());
        let mut targets = Vec::with_capacity(dirs.len());
        for (realm, stamp) in dirs {
            if only.is_some_and(|n| n != realm) {
                continue;
            }
            let group = match self.groups.remove(&realm) {
                Some((cached, group)) if cached.is_some() && cached == stamp => group,
                _ => {
                    let record = host.store.read_record(&realm).ok();
                    host.realm_targets(&realm, record.as_ref()).1
                }
            };
            groups.insert(realm.clone(), (stamp, group.clone()));
            targets.push(UsageTarget { realm, group });
        }
        self.groups = groups;
        if let (Some(name), true) = (only, targets.is_empty()) {
            return Err(OpError::failed(format!(
                "realm {name:?} not found under {}; list realms with `kuke-tui get realms`",
                host.settings.run_path.display()
            )));
        }
        Ok(targets)
    }
}

/// One realm's usage over the last interval. Every figure is None when it
/// is unknown (file missing, or no previous reading for a rate).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealmRate {
    pub realm: String,
    pub cgroup_path: String,
    pub cgroup_exists: bool,
    /// Share of one core: 100 means one core fully busy.
    pub cpu_percent_of_core: Option<f64>,
    /// Share of the whole host: 100 means every online core busy.
    pub cpu_percent_of_host: Option<f64>,
    /// Working set: current minus inactive file cache.
    pub memory_bytes: Option<u64>,
    pub memory_current_bytes: Option<u64>,
    pub memory_limit: Option<Limit>,
    pub pids_current: Option<u64>,
    pub pids_max: Option<Limit>,
    pub io_read_bytes_per_sec: Option<f64>,
    pub io_write_bytes_per_sec: Option<f64>,
    /// cgroup v2 only: PSI avg10 of cpu, memory and io (absent on v1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pressure: Option<crate::cgroup::Pressure>,
}

pub struct UsageSampler {
    previous: HashMap<String, (Instant, Usage)>,
    online_cpus: f64,
    reader: CachedReader,
}

/// Open usage files a sampler may keep: 8 a realm covers 1,000 realms.
const MAX_CACHED_FILES: u64 = 8192;
/// Descriptors left for everything else (sockets, records, the terminal).
const FD_RESERVE: u64 = 256;

/// How many usage files a sampler may keep open. The soft RLIMIT_NOFILE is
/// first raised toward the hard one (as far as the cache needs), since the
/// usual soft 1024 would leave room for ~100 realms only; an fd above 1024
/// is harmless here (tokio and the terminal use epoll/poll, never select).
fn file_budget() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        let want = MAX_CACHED_FILES + FD_RESERVE;
        if lim.rlim_cur < want && lim.rlim_max > lim.rlim_cur {
            let raised = libc::rlimit {
                rlim_cur: want.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = raised.rlim_cur;
            }
        }
    }
    lim.rlim_cur
        .saturating_sub(FD_RESERVE)
        .min(MAX_CACHED_FILES) as usize
}

impl Default for UsageSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl UsageSampler {
    pub fn new() -> Self {
        // SAFETY: sysconf has no preconditions.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        UsageSampler {
            previous: HashMap::new(),
            online_cpus: online.max(1) as f64,
            reader: CachedReader::new(file_budget()),
        }
    }

    /// Reads every target once and returns rates against the previous reading.
    pub fn sample(&mut self, host: &Host, targets: &[UsageTarget]) -> Vec<RealmRate> {
        let mut next = HashMap::with_capacity(targets.len());
        let rates = targets
            .iter()
            .map(|t| {
                let now = Instant::now();
                // Any file read means the group is there; only an all-unknown
                // reading needs the extra look.
                let usage = host.cgroups.read_usage_cached(&mut self.reader, &t.group);
                let exists = usage != Usage::default() || host.cgroups.exists(&t.group);
                let rate = rate(
                    t,
                    exists,
                    self.previous
                        .get(&t.realm)
                        .filter(|(_, u)| exists && u != &Usage::default()),
                    now,
                    &usage,
                    self.online_cpus,
                );
                next.insert(t.realm.clone(), (now, usage));
                rate
            })
            .collect();
        self.previous = next;
        // Realms gone since the last sample: close their files.
        if self.reader.open_files() > 0 {
            let groups: std::collections::HashSet<&str> =
                targets.iter().map(|t| t.group.as_str()).collect();
            self.reader.retain(|g| groups.contains(g));
        }
        rates
    }

    /// The reading the last `sample` took for a realm.
    pub fn latest(&self, realm: &str) -> Option<&Usage> {
        self.previous.get(realm).map(|(_, usage)| usage)
    }
}

fn rate(
    target: &UsageTarget,
    exists: bool,
    previous: Option<&(Instant, Usage)>,
    now: Instant,
    usage: &Usage,
    online_cpus: f64,
) -> RealmRate {
    let per_sec = |before: Option<u64>, after: Option<u64>| -> Option<f64> {
        let (t0, _) = previous?;
        let secs = now.duration_since(*t0).as_secs_f64();
        let (b, a) = (before?, after?);
        (secs > 0.0 && a >= b).then(|| (a - b) as f64 / secs)
    };
    let prev = previous.map(|(_, u)| u);
    let cpu_usec_per_sec = per_sec(prev.and_then(|u| u.cpu_usage_usec), usage.cpu_usage_usec);
    let cpu_percent_of_core = cpu_usec_per_sec.map(|r| r / 10_000.0);
    // Two decimals of a percent and whole bytes per second: what a reader can use.
    let hundredths = |v: f64| (v * 100.0).round() / 100.0;
    RealmRate {
        realm: target.realm.clone(),
        cgroup_path: target.group.clone(),
        cgroup_exists: exists,
        cpu_percent_of_core: cpu_percent_of_core.map(hundredths),
        cpu_percent_of_host: cpu_percent_of_core.map(|p| hundredths(p / online_cpus)),
        memory_bytes: usage.working_set(),
        memory_current_bytes: usage.memory_current,
        memory_limit: usage.memory_limit,
        pids_current: usage.pids_current,
        pids_max: usage.pids_max,
        io_read_bytes_per_sec: per_sec(prev.and_then(|u| u.io_read_bytes), usage.io_read_bytes)
            .map(f64::round),
        io_write_bytes_per_sec: per_sec(prev.and_then(|u| u.io_write_bytes), usage.io_write_bytes)
            .map(f64::round),
        pressure: usage.pressure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cpu_rate_is_per_core_and_per_host() {
        let target = UsageTarget {
            realm: "r".into(),
            group: "/k/r".into(),
        };
        let t0 = Instant::now();
        let before = Usage {
            cpu_usage_usec: Some(1_000_000),
            ..Usage::default()
        };
        let after = Usage {
            cpu_usage_usec: Some(1_500_000),
            memory_current: Some(10),
            ..Usage::default()
        };
        let r = rate(
            &target,
            true,
            Some(&(t0, before)),
            t0 + Duration::from_secs(1),
            &after,
            2.0,
        );
        assert!((r.cpu_percent_of_core.unwrap() - 50.0).abs() < 1e-9);
        assert!((r.cpu_percent_of_host.unwrap() - 25.0).abs() < 1e-9);
        assert_eq!(r.io_read_bytes_per_sec, None, "unknown stays unknown");
        assert_eq!(r.memory_bytes, Some(10));
    }

    #[test]
    fn target_cache_follows_record_changes() {
        use crate::model::RealmDoc;
        use crate::settings::HostSettings;
        let dir = tempfile::tempdir().unwrap();
        let host = Host::new(HostSettings {
            run_path: dir.path().to_path_buf(),
            containerd_socket: "/nonexistent.sock".into(),
            cgroup_root: None,
            layout: None,
            timeout: Duration::from_secs(1),
            network: Default::default(),
        })
        .unwrap();
        let write = |group: &str| {
            let mut doc = RealmDoc::new("r", "kukeon-r", Default::default());
            doc.status_mut().cgroup_path = Some(group.into());
            let lock = host.store.lock("r").unwrap();
            host.store.write_record(&doc, &lock).unwrap();
        };
        let mut cache = TargetCache::default();
        assert!(cache.targets(&host, None).unwrap().is_empty());
        write("/first/r");
        assert_eq!(cache.targets(&host, None).unwrap()[0].group, "/first/r");
        write("/second/r");
        assert_eq!(cache.targets(&host, None).unwrap()[0].group, "/second/r");
        std::fs::create_dir(dir.path().join("bare")).unwrap();
        let targets = cache.targets(&host, None).unwrap();
        assert_eq!(
            targets[0].group, "/kukeon/bare",
            "no record: the default group"
        );
        assert!(cache.targets(&host, Some("missing")).is_err());
        std::fs::remove_dir_all(dir.path().join("r")).unwrap();
        assert_eq!(cache.targets(&host, None).unwrap().len(), 1);
    }

    #[test]
    fn first_reading_and_counter_reset_have_no_rate() {
        let target = UsageTarget {
            realm: "r".into(),
            group: "/k/r".into(),
        };
        let t0 = Instant::now();
        let usage = Usage {
            cpu_usage_usec: Some(5),
            ..Usage::default()
        };
        assert_eq!(
            rate(&target, true, None, t0, &usage, 1.0).cpu_percent_of_core,
            None
        );
        let before = Usage {
            cpu_usage_usec: Some(50),
            ..Usage::default()
        };
        let r = rate(
            &target,
            true,
            Some(&(t0, before)),
            t0 + Duration::from_secs(1),
            &usage,
            1.0,
        );
        assert_eq!(r.cpu_percent_of_core, None);
    }

    /// `top -o json` shows a v2 realm's pressure as read, and nothing on v1.
    #[test]
    fn pressure_is_passed_through_on_v2_only() {
        use crate::cgroup::{Pressure, PsiAvg10};
        let target = UsageTarget {
            realm: "r".into(),
            group: "/k/r".into(),
        };
        let psi = PsiAvg10 {
            some_avg10: Some(4.5),
            full_avg10: Some(1.25),
        };
        let usage = Usage {
            pressure: Pressure::of(Some(psi), None, Some(psi)),
            ..Usage::default()
        };
        let r = rate(&target, true, None, Instant::now(), &usage, 1.0);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["pressure"]["cpu"]["someAvg10"], 4.5);
        assert_eq!(json["pressure"]["io"]["fullAvg10"], 1.25);
        assert!(json["pressure"]["memory"].is_null());
        let v1 = rate(&target, true, None, Instant::now(), &Usage::default(), 1.0);
        assert!(serde_json::to_value(&v1).unwrap().get("pressure").is_none());
    }
}
