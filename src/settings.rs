//! Host settings every operation needs: where records live, how to reach
//! containerd, where the realm cgroups hang.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HostSettings {
    pub run_path: PathBuf,
    pub containerd_socket: PathBuf,
    /// Group path under each cgroup mount, e.g. `/kukeon`.
    pub cgroup_root: String,
    /// Bound for each containerd request.
    pub timeout: Duration,
}

impl HostSettings {
    /// The cgroup group path of a realm, e.g. `/kukeon/main`.
    pub fn realm_cgroup(&self, realm: &str) -> String {
        format!("{}/{}", self.cgroup_root.trim_end_matches('/'), realm)
    }
}
