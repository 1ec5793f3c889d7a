//! Kukeon's subnet allocation: `<run>/data/<realm>/<space>/network.json`,
//! `{"version": "v1", "subnetCIDR": "10.88.N.0/24"}`, written by its
//! `SubnetAllocator`. Releasing is removing the file.

use serde_json::Value;
use std::path::{Path, PathBuf};

pub const FILE: &str = "network.json";

/// The allocation file of a space folder and the subnet it names (None when
/// unreadable), when the file exists.
pub fn allocation(space_dir: &Path) -> Option<(PathBuf, Option<String>)> {
    let path = space_dir.join(FILE);
    path.symlink_metadata().ok()?;
    let subnet = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["subnetCIDR"].as_str().map(str::to_string));
    Some((path, subnet))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_allocation() {
        let dir = tempfile::tempdir().unwrap();
        assert!(super::allocation(dir.path()).is_none());
        std::fs::write(
            dir.path().join("network.json"),
            "{\n  \"version\": \"v1\",\n  \"subnetCIDR\": \"10.88.7.0/24\"\n}",
        )
        .unwrap();
        let (path, subnet) = super::allocation(dir.path()).unwrap();
        assert!(path.ends_with("network.json"));
        assert_eq!(subnet.as_deref(), Some("10.88.7.0/24"));
    }
}
