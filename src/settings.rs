//! Host settings every operation needs: where records live, how to reach
//! containerd, where the realm cgroups hang.

use crate::store::realms::Layout;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HostSettings {
    pub run_path: PathBuf,
    pub containerd_socket: PathBuf,
    /// Group path under each cgroup mount, e.g. `/kukeon`. None: the Kukeon
    /// instance file's `cgroupRoot` when there is one, else `/kukeon`.
    pub cgroup_root: Option<String>,
    /// Bound for each containerd request.
    pub timeout: Duration,
    /// None: detected from what is on disk.
    pub layout: Option<Layout>,
    /// CNI plugin, config, cache and IPAM directories (space networks).
    pub network: crate::network::NetworkSettings,
}

/// The cgroup root when nothing says otherwise.
pub const DEFAULT_CGROUP_ROOT: &str = "/kukeon";

/// `/kukeon`, `kukeon/`, `//kukeon` all mean the group path `/kukeon`.
pub fn normalize_group(path: &str) -> String {
    format!("/{}", path.trim_matches('/'))
}
