//! Listing and describing realms: the record, what containerd and the
//! cgroup tree actually hold, and one usage reading.

use super::{Host, OpError, OpResult};
use crate::cgroup::Usage;
use crate::model::realm::{is_unset_time, state};
use crate::model::RealmDoc;
use crate::runtime::{Runtime, TaskStatus};
use crate::store::RealmEntry;
use futures::stream::{self, StreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime};

/// How many realms are queried against containerd at once.
const REALM_CONCURRENCY: usize = 32;

/// One row of `get realms` and of the console's home screen.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealmSummary {
    pub name: String,
    /// Recorded state, or `Invalid` (no usable record) or `Degraded`
    /// (recorded Ready but its namespace or cgroup is missing).
    pub state: String,
    pub valid: bool,
    /// Why the record is unusable (file and line), when it is.
    pub error: Option<String>,
    pub namespace: String,
    pub cgroup_path: String,
    pub labels: BTreeMap<String, String>,
    pub created_at: Option<String>,
    pub age_seconds: Option<u64>,
    pub observed: Observed,
    pub counts: Counts,
    pub usage: Usage,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    pub namespace_exists: bool,
    pub cgroup_exists: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub tasks: usize,
    pub running_tasks: usize,
    pub containers: usize,
    pub images: usize,
    pub spaces: usize,
    pub registry_credentials: usize,
}

/// The stable JSON/YAML envelope of `get realms`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealmList {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub items: Vec<RealmSummary>,
    /// kukeond's state and where changes go (additive; absent when not asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon: Option<super::daemon::DaemonStatus>,
}

pub const LIST_API_VERSION: &str = "kuke-tui/v1";

/// Everything the realms screen needs, for every realm on the host, with
/// every namespace read afresh from containerd.
pub async fn list_realms(host: &Host, rt: &Runtime) -> OpResult<Vec<RealmSummary>> {
    list_realms_cached(host, rt, &mut RemoteCache::default()).await
}

/// containerd's figures of one namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct RemoteCounts {
    tasks: usize,
    running_tasks: usize,
    containers: usize,
    images: usize,
}

/// containerd's figures per namespace, kept between reads by a caller that
/// follows containerd's events (the console): a read then lists tasks,
/// containers and images only of namespaces that are new or were
/// invalidated.
///
/// Why: containerd 1.6 answers a task listing by asking every task's shim,
/// so re-listing 100 realms with 200 tasks costs ~90 ms of CPU across
/// containerd, 200 shims and us (measured; benches/snapshot.rs), whatever
/// our concurrency. Events name the namespace of every change, so only
/// those need re-listing.
#[derive(Debug, Default)]
pub struct RemoteCache {
    counts: HashMap<String, RemoteCounts>,
}

impl RemoteCache {
    /// Something changed in `namespace`: re-list it at the next read.
    pub fn invalidate(&mut self, namespace: &str) {
        self.counts.remove(namespace);
    }

    /// Re-list every namespace at the next read.
    pub fn clear(&mut self) {
        self.counts.clear();
    }

    /// How many namespaces have figures kept.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

/// `list_realms`, re-using the figures `cache` has for namespaces that were
/// not invalidated, and keeping what it read for the next call. Records,
/// cgroups and the namespace list are always read afresh.
pub async fn list_realms_cached(
    host: &Host,
    rt: &Runtime,
    cache: &mut RemoteCache,
) -> OpResult<Vec<RealmSummary>> {
    let entries = host.realm_entries()?;
    let namespaces = namespace_names(rt).await?;
    // A namespace that went away may come back empty: forget it.
    cache.counts.retain(|ns, _| namespaces.contains(ns));
    let remote = Remote {
        rt,
        namespaces: &namespaces,
        known: &cache.counts,
    };
    let remote = &remote;
    let results: Vec<OpResult<RealmSummary>> = stream::iter(entries)
        .map(|entry| async move { summarize(host, Some(remote), entry).await })
        .buffered(REALM_CONCURRENCY)
        .collect()
        .await;
    let list: Vec<RealmSummary> = results.into_iter().collect::<OpResult<_>>()?;
    for r in list.iter().filter(|r| r.observed.namespace_exists) {
        cache.counts.insert(
            r.namespace.clone(),
            RemoteCounts {
                tasks: r.counts.tasks,
                running_tasks: r.counts.running_tasks,
                containers: r.counts.containers,
                images: r.counts.images,
            },
        );
    }
    Ok(list)
}

/// containerd as `summarize` sees it: the namespaces that exist, and the
/// figures already known for some of them.
struct Remote<'a> {
    rt: &'a Runtime,
    namespaces: &'a HashSet<String>,
    known: &'a HashMap<String, RemoteCounts>,
}

/// The names of every containerd namespace.
pub async fn namespace_names(rt: &Runtime) -> OpResult<HashSet<String>> {
    Ok(rt
        .list_namespaces()
        .await?
        .into_iter()
        .map(|n| n.name)
        .collect())
}

/// Realms from their records and cgroups alone, for when containerd is out
/// of reach: namespace, task and image figures are unknown (zero, and
/// `observed.namespaceExists` false), and no realm is called Degraded for it.
pub async fn local_realms(host: &Host) -> OpResult<Vec<RealmSummary>> {
    let entries = host.realm_entries()?;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        out.push(summarize(host, None, entry).await?);
    }
    Ok(out)
}

async fn summarize(
    host: &Host,
    containerd: Option<&Remote<'_>>,
    entry: RealmEntry,
) -> OpResult<RealmSummary> {
    let record = entry.record.as_ref().ok();
    let (namespace, group) = host.realm_targets(&entry.name, record);
    let namespace_exists = containerd.is_some_and(|c| c.namespaces.contains(&namespace));
    let mut counts = Counts {
        spaces: host.store.spaces(&entry.name).len(),
        registry_credentials: record
            .map(|r| r.spec.registry_credentials.len())
            .unwrap_or(0),
        ..Counts::default()
    };
    let known = containerd.and_then(|c| c.known.get(&namespace));
    if let (true, Some(known)) = (namespace_exists, known) {
        counts.tasks = known.tasks;
        counts.running_tasks = known.running_tasks;
        counts.containers = known.containers;
        counts.images = known.images;
    } else if let (true, Some(c)) = (namespace_exists, containerd) {
        let rt = c.rt;
        let (tasks, containers, images) = tokio::try_join!(
            rt.list_tasks(&namespace),
            rt.list_containers(&namespace),
            rt.list_images(&namespace)
        )?;
        counts.tasks = tasks.len();
        counts.running_tasks = tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Running)
            .count();
        counts.containers = containers.len();
        counts.images = images.len();
    }
    let usage = host.cgroups.read_usage(&group);
    let cgroup_exists = usage != Usage::default() || host.cgroups.exists(&group);
    let observed = Observed {
        namespace_exists,
        cgroup_exists,
    };
    // Go's zero time is "never set", not a time: shown as none, and the age
    // then comes from the directory's mtime.
    let created_at = record
        .and_then(|r| r.status.as_ref())
        .and_then(|s| s.created_at.clone())
        .filter(|t| !is_unset_time(Some(t)));
    Ok(RealmSummary {
        state: display_state(&entry.record, &observed, containerd.is_some()),
        valid: entry.record.is_ok(),
        error: entry.record.as_ref().err().map(|e| e.to_string()),
        labels: record
            .map(|r| r.metadata.labels.clone())
            .unwrap_or_default(),
        age_seconds: age(created_at.as_deref(), entry.modified).map(|d| d.as_secs()),
        created_at,
        name: entry.name,
        namespace,
        cgroup_path: group,
        observed,
        counts,
        usage,
    })
}

fn display_state(
    record: &Result<RealmDoc, crate::store::RecordError>,
    observed: &Observed,
    namespace_known: bool,
) -> String {
    match record {
        Err(_) => "Invalid".into(),
        Ok(doc) => {
            let recorded = doc.state().unwrap_or(state::UNKNOWN);
            let namespace_missing = namespace_known && !observed.namespace_exists;
            if recorded == state::READY && (namespace_missing || !observed.cgroup_exists) {
                "Degraded".into()
            } else {
                recorded.to_string()
            }
        }
    }
}

/// Age from the record's createdAt, else the directory's mtime. Go's zero
/// time (`0001-01-01T00:00:00Z`) counts as no createdAt.
pub fn age(created_at: Option<&str>, modified: Option<SystemTime>) -> Option<Duration> {
    let created = created_at
        .filter(|t| !is_unset_time(Some(t)))
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| SystemTime::from(t.with_timezone(&chrono::Utc)))
        .or(modified)?;
    Some(
        SystemTime::now()
            .duration_since(created)
            .unwrap_or_default(),
    )
}

/// `get realm NAME`: the record (masked unless asked) plus what is observed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RealmDetail {
    #[serde(flatten)]
    pub record: RealmDoc,
    pub observed: ObservedDetail,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedDetail {
    pub state: String,
    pub namespace: String,
    pub namespace_exists: bool,
    pub cgroup_path: String,
    pub cgroup_exists: bool,
    pub cgroup_dirs: Vec<String>,
    pub spaces: Vec<String>,
    /// Every space, `space/stack` and `space/stack/cell` below the realm.
    pub scopes: Vec<String>,
    pub counts: Counts,
    pub usage: Usage,
    pub age_seconds: Option<u64>,
}

pub async fn describe_realm(
    host: &Host,
    rt: &Runtime,
    name: &str,
    show_secrets: bool,
) -> OpResult<RealmDetail> {
    let record = host.require_realm(name)?;
    let entry = host.store.entry(name).ok_or_else(|| {
        OpError::failed(format!(
            "realm {name:?} disappeared while it was being read"
        ))
    })?;
    let namespaces = namespace_names(rt).await?;
    let remote = Remote {
        rt,
        namespaces: &namespaces,
        known: &HashMap::new(),
    };
    let summary = summarize(host, Some(&remote), entry).await?;
    let (_, group) = host.realm_targets(name, Some(&record));
    let observed = ObservedDetail {
        state: summary.state,
        namespace: summary.namespace,
        namespace_exists: summary.observed.namespace_exists,
        cgroup_path: summary.cgroup_path,
        cgroup_exists: summary.observed.cgroup_exists,
        cgroup_dirs: host
            .cgroups
            .dirs(&group)
            .into_iter()
            .filter(|d| d.is_dir())
            .map(|d| d.display().to_string())
            .collect(),
        spaces: host.store.spaces(name),
        scopes: host.store.scopes(name),
        counts: summary.counts,
        usage: summary.usage,
        age_seconds: summary.age_seconds,
    };
    let record = if show_secrets {
        record
    } else {
        record.masked()
    };
    Ok(RealmDetail { record, observed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_zero_time_ages_from_the_directory() {
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let age_of = |created: Option<&str>| age(created, Some(an_hour_ago)).unwrap().as_secs();
        // Found on a real host: 739951 days.
        for unset in [Some("0001-01-01T00:00:00Z"), Some(""), None] {
            let secs = age_of(unset);
            assert!((3599..3700).contains(&secs), "{unset:?}: {secs}");
        }
        let set = age_of(Some("2000-01-01T00:00:00Z"));
        assert!(set > 20 * 365 * 86400, "{set}");
        assert_eq!(age(Some("0001-01-01T00:00:00Z"), None), None);
    }
}
