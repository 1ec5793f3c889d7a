//! Live usage from realm cgroups: rates need two readings, so a sampler
//! keeps the previous one per realm. No containerd call is involved.

use super::{Host, OpError, OpResult};
use crate::cgroup::{Limit, Usage};
use crate::model::names::validate_existing_realm_name;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;

/// A realm whose cgroup is sampled.
#[derive(Debug, Clone)]
pub struct UsageTarget {
    pub realm: String,
    pub group: String,
}

/// Every realm on the host (or just `only`), with its cgroup group.
pub fn usage_targets(host: &Host, only: Option<&str>) -> OpResult<Vec<UsageTarget>> {
    if let Some(name) = only {
        validate_existing_realm_name(name).map_err(OpError::usage)?;
    }
    let entries = host
        .store
        .list()
        .map_err(|e| OpError::io("cannot read the run path", &host.settings.run_path, &e))?;
    let targets: Vec<UsageTarget> = entries
        .into_iter()
        .filter(|e| only.is_none_or(|n| n == e.name))
        .map(|e| {
            let (_, group) = host.realm_targets(&e.name, e.record.as_ref().ok());
            UsageTarget {
                realm: e.name,
                group,
            }
        })
        .collect();
    if let (Some(name), true) = (only, targets.is_empty()) {
        return Err(OpError::failed(format!(
            "realm {name:?} not found under {}; list realms with `kuke-tui get realms`",
            host.settings.run_path.display()
        )));
    }
    Ok(targets)
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
}

pub struct UsageSampler {
    previous: HashMap<String, (Instant, Usage)>,
    online_cpus: f64,
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
        }
    }

    /// Reads every target once and returns rates against the previous reading.
    pub fn sample(&mut self, host: &Host, targets: &[UsageTarget]) -> Vec<RealmRate> {
        let mut next = HashMap::with_capacity(targets.len());
        let rates = targets
            .iter()
            .map(|t| {
                let now = Instant::now();
                let exists = host.cgroups.exists(&t.group);
                let usage = if exists {
                    host.cgroups.read_usage(&t.group)
                } else {
                    Usage::default()
                };
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
        rates
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
}
