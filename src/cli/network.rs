//! Global flags for space networks (CNI): where the plugins, conflists,
//! libcni cache and host-local IPAM state live. Defaults are Kukeon's.

use crate::network::{self, NetworkSettings};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CniArgs {
    /// CNI plugin directories searched before /opt/cni/bin and /usr/lib/cni
    /// (colon-separated)
    #[arg(long, global = true, env = "KUKEON_CNI_PATH", value_delimiter = ':')]
    pub cni_path: Vec<PathBuf>,
    /// CNI config directory holding `<realm>-<space>.conflist`
    #[arg(long, global = true, env = "KUKEON_CNI_CONF_DIR", default_value = network::DEFAULT_CONF_DIR)]
    pub cni_conf_dir: PathBuf,
    /// libcni cache directory (results/ below it)
    #[arg(long, global = true, env = "KUKEON_CNI_CACHE_DIR", default_value = network::DEFAULT_CACHE_DIR)]
    pub cni_cache_dir: PathBuf,
    /// host-local IPAM directory, when a conflist sets no ipam.dataDir
    #[arg(long, global = true, env = "KUKEON_CNI_IPAM_DIR", default_value = network::DEFAULT_IPAM_DIR)]
    pub cni_ipam_dir: PathBuf,
}

impl CniArgs {
    pub fn settings(&self) -> NetworkSettings {
        NetworkSettings {
            cni_path: self.cni_path.clone(),
            conf_dir: self.cni_conf_dir.clone(),
            cache_dir: self.cni_cache_dir.clone(),
            ipam_dir: self.cni_ipam_dir.clone(),
        }
    }
}
