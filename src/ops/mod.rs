//! The operations core: everything the console shows and every change it
//! makes, as plain functions over the three adapters. The CLI and the TUI
//! call only this module, so they cannot disagree.

pub mod create;
pub mod credentials;
pub mod daemon;
pub mod delete;
pub mod error;
mod patient;
pub mod realms;
pub mod space_network;
pub mod usage;
pub mod via_daemon;
pub mod workloads;

pub use error::{ErrorKind, OpError, OpResult};

use crate::cgroup::Cgroups;
use crate::model::names::validate_existing_realm_name;
use crate::model::RealmDoc;
use crate::runtime::Runtime;
use crate::settings::{normalize_group, HostSettings, DEFAULT_CGROUP_ROOT};
use crate::store::realms::Layout;
use crate::store::RealmStore;
use serde::Serialize;

/// Names of the realm that holds the Kukeon daemon; never deleted by accident.
/// `kukeon-system` in the documented layout, `kuke-system` as Kukeon v0.5 ships.
pub const SYSTEM_REALMS: &[&str] = &["kukeon-system", "kuke-system"];

/// The adapters for one host, built once per command or console session.
pub struct Host {
    pub settings: HostSettings,
    pub store: RealmStore,
    pub cgroups: Cgroups,
    /// Resolved from the flag, the Kukeon instance file, or the default.
    pub cgroup_root: String,
    /// Where kukeond listens and whether `--direct` was asked for.
    pub daemon: daemon::DaemonSettings,
}

impl Host {
    pub fn new(settings: HostSettings) -> OpResult<Host> {
        let cgroups = Cgroups::detect().map_err(|e| {
            OpError::failed(format!(
                "cannot read /proc/self/mountinfo to find cgroup mounts: {e}"
            ))
        })?;
        let layout = settings
            .layout
            .unwrap_or_else(|| Layout::detect(&settings.run_path));
        let store = RealmStore::with_layout(settings.run_path.clone(), layout);
        let cgroup_root = normalize_group(
            settings
                .cgroup_root
                .as_deref()
                .or(store
                    .instance()
                    .cgroup_root
                    .as_deref()
                    .filter(|_| layout == Layout::Kukeon))
                .unwrap_or(DEFAULT_CGROUP_ROOT),
        );
        Ok(Host {
            store,
            cgroups,
            settings,
            cgroup_root,
            daemon: daemon::DaemonSettings::default(),
        })
    }

    /// The cgroup group of a realm under this host's cgroup root.
    pub fn realm_cgroup(&self, realm: &str) -> String {
        format!("{}/{}", self.cgroup_root.trim_end_matches('/'), realm)
    }

    /// Connects to containerd and checks that it answers, each bounded by
    /// the configured timeout.
    pub async fn runtime(&self) -> OpResult<Runtime> {
        let rt = Runtime::connect(&self.settings.containerd_socket, self.settings.timeout).await?;
        // Why: the connect succeeds against a socket that accepts and never
        // answers (a hung daemon). Without this probe `create realm` wrote
        // its record first and, on an existing realm, marked it Failed when
        // the namespace call timed out; the console said "connected".
        rt.version().await?;
        Ok(rt)
    }

    /// The namespace and cgroup group of a realm, from its record when it has
    /// a valid one, else the documented defaults (so a half-deleted realm can
    /// still be finished).
    pub fn realm_targets(&self, name: &str, record: Option<&RealmDoc>) -> (String, String) {
        let namespace = match record {
            Some(doc) => self.namespace_of(doc),
            None => self.store.default_namespace(name),
        };
        let group = record
            .and_then(|r| r.status.as_ref())
            .and_then(|s| s.cgroup_path.clone())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| self.realm_cgroup(name));
        (namespace, group)
    }

    /// A realm's containerd namespace: the record's, else the layout's default
    /// (`kukeon-<name>`, or `<name>.<suffix>` on Kukeon v0.5 hosts).
    pub fn namespace_of(&self, doc: &RealmDoc) -> String {
        doc.explicit_namespace()
            .map(str::to_string)
            .unwrap_or_else(|| self.store.default_namespace(&doc.metadata.name))
    }

    /// Every realm directory with its record (or why it has none).
    pub fn realm_entries(&self) -> OpResult<Vec<crate::store::RealmEntry>> {
        self.store
            .list()
            .map_err(|e| OpError::io("cannot read the run path", &self.settings.run_path, &e))
    }

    /// Reads a realm that must exist with a valid record.
    pub fn require_realm(&self, name: &str) -> OpResult<RealmDoc> {
        validate_existing_realm_name(name).map_err(OpError::usage)?;
        match self.store.entry(name) {
            None => Err(OpError::failed(format!(
                "realm {name:?} not found under {}; list realms with `kuke-tui get realms`",
                self.settings.run_path.display()
            ))),
            Some(entry) => entry.record.map_err(|e| {
                if e.message == crate::store::realms::PERMISSION_DENIED {
                    OpError::failed(format!("cannot read the record of realm {name:?}: {e}"))
                } else {
                    OpError::failed(format!(
                        "realm {name:?} has an unusable record: {e}; fix or delete the record"
                    ))
                }
            }),
        }
    }
}

/// What the header of every view shows about the host.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostInfo {
    pub run_path: String,
    pub containerd_socket: String,
    pub containerd_version: Option<String>,
    pub cgroup: String,
    /// kukeond as last asked (None: not asked yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daemon: Option<daemon::DaemonStatus>,
}

/// The host's fixed facts; `containerd_version` is filled in once connected.
pub fn host_info(host: &Host) -> HostInfo {
    HostInfo {
        run_path: host.settings.run_path.display().to_string(),
        containerd_socket: host.settings.containerd_socket.display().to_string(),
        containerd_version: None,
        cgroup: host.cgroups.mounts().describe(),
        daemon: None,
    }
}

/// RFC 3339 UTC timestamp, second precision, as Kukeon writes them.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
