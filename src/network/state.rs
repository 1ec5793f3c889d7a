//! What CNI leaves on disk for a network: host-local's IPAM directory
//! `<dataDir>/<network>/` (one file per leased address, `last_reserved_ip.*`,
//! `lock`) and libcni's cached results `<cacheDir>/results/<network>-<id>-<if>`
//! (JSON with `networkName`, `containerId`, `ifName`, `result`).
//!
//! Both are matched by the exact network name: Kukeon's realm purge globs
//! `<realm>-*` and its cache purge matches names that merely contain the
//! network's, which reaches realm `beta-x`'s state when deleting `beta`.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A network name that is safe as one path component.
pub fn valid_network(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

/// The IPAM directory of `network` under `data_dir` and its entries, when
/// it exists.
pub fn ipam(data_dir: &Path, network: &str) -> Option<(PathBuf, Vec<String>)> {
    if !valid_network(network) {
        return None;
    }
    let dir = data_dir.join(network);
    let meta = dir.symlink_metadata().ok()?;
    let mut entries = Vec::new();
    if meta.is_dir() {
        if let Ok(read) = std::fs::read_dir(&dir) {
            entries = read
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
        }
    }
    entries.sort();
    Some((dir, entries))
}

/// Removes an IPAM directory (a link to one: only the link). Absent is fine.
pub fn remove_ipam(dir: &Path) -> Result<bool, String> {
    let meta = match dir.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(dir)
    } else {
        std::fs::remove_file(dir)
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}

/// One libcni cache entry of a network.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub path: PathBuf,
    pub container_id: String,
    pub if_name: String,
    pub result: Option<Value>,
    /// The conflist libcni ran at ADD (`config`, base64), for a DEL after
    /// the conflist itself is gone.
    pub config: Option<Vec<u8>>,
}

/// The cache entries of `network` under `cache_dir/results`.
pub fn cache_entries(cache_dir: &Path, network: &str) -> Vec<CacheEntry> {
    let Ok(read) = std::fs::read_dir(cache_dir.join("results")) else {
        return Vec::new();
    };
    let mut out: Vec<CacheEntry> = read
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        // Cheap first test on the name libcni gives the file.
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(&format!("{network}-")))
        })
        .filter_map(|e| {
            let doc: Value = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            (doc["networkName"].as_str() == Some(network)).then(|| CacheEntry {
                path: e.path(),
                container_id: doc["containerId"].as_str().unwrap_or_default().to_string(),
                if_name: doc["ifName"].as_str().unwrap_or("eth0").to_string(),
                result: doc.get("result").filter(|r| !r.is_null()).cloned(),
                // Go's json writes a []byte as standard base64.
                config: doc["config"]
                    .as_str()
                    .and_then(|text| BASE64.decode(text).ok()),
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// Removes a file; absent is fine. True when it was there.
pub fn remove_file(path: &Path) -> Result<bool, String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_entries_match_the_exact_network() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        std::fs::create_dir_all(&results).unwrap();
        let put = |file: &str, net: &str| {
            let doc = serde_json::json!({"kind": "cniCacheV1", "containerId": "c1", "ifName": "eth0",
                "networkName": net, "result": {"cniVersion": "0.4.0"}});
            std::fs::write(results.join(file), doc.to_string()).unwrap();
        };
        put("beta-s1-c1-eth0", "beta-s1");
        put("beta-x-s1-c1-eth0", "beta-x-s1");
        std::fs::write(results.join("beta-s1-garbage"), "not json").unwrap();
        let found = cache_entries(dir.path(), "beta-s1");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].container_id, "c1");
        assert!(found[0].result.is_some());
        assert!(cache_entries(dir.path(), "beta-x").is_empty());
    }

    #[test]
    fn ipam_dir_by_exact_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("beta-s1")).unwrap();
        std::fs::write(dir.path().join("beta-s1/10.88.0.2"), "c1\r\neth0").unwrap();
        std::fs::create_dir_all(dir.path().join("beta-s1x")).unwrap();
        let (path, entries) = ipam(dir.path(), "beta-s1").unwrap();
        assert_eq!(entries, ["10.88.0.2"]);
        assert!(ipam(dir.path(), "../etc").is_none());
        assert!(remove_ipam(&path).unwrap());
        assert!(!remove_ipam(&path).unwrap());
        assert!(dir.path().join("beta-s1x").exists());
    }
}
