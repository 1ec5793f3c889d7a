//! Which Kukeon version wrote a host in Kukeon's layout, read from the files
//! alone (the instance file holds only the suffix and cgroup root, so it does
//! not tell). Kukeon v0.6.0 brought the sidecar `metadata.json.lock` (every
//! v0.6+ writer creates one beside the record it writes) and
//! `metadata.generation` (1 on a record's first write); v0.5 writes neither.
//!
//! The rule, first match wins:
//! 1. a `metadata.json.lock` beside a realm's or a space's record, or a
//!    realm record with `metadata.generation`: v0.6 or later;
//! 2. any realm record at all: v0.5;
//! 3. no realm record (an empty `data/`): v0.6 or later, the current format.

use serde::Serialize;
use std::path::Path;

/// The Kukeon release line whose files kuke-tui writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KukeonVersion {
    /// v0.5: no lock sidecar, no generation.
    #[serde(rename = "v0.5")]
    V05,
    /// v0.6 and later: lock sidecar, compare-before-write, generation.
    #[serde(rename = "v0.6+")]
    V06Plus,
}

impl KukeonVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            KukeonVersion::V05 => "v0.5",
            KukeonVersion::V06Plus => "v0.6+",
        }
    }

    /// Whether this version keeps the sidecar lock and `generation`.
    pub fn has_sidecar(self) -> bool {
        self == KukeonVersion::V06Plus
    }
}

/// Applies the rule above to `<run>/data` (`realms_root`). Reads directory
/// listings and realm records only; bounded by the number of realms.
pub fn detect(realms_root: &Path, record: &str, lock: &str) -> KukeonVersion {
    let Ok(read) = std::fs::read_dir(realms_root) else {
        return KukeonVersion::V06Plus;
    };
    let mut any_record = false;
    for item in read.flatten() {
        let name = item.file_name();
        if name.to_string_lossy().starts_with('.') || !item.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let dir = item.path();
        if dir.join(lock).exists() {
            return KukeonVersion::V06Plus;
        }
        if let Ok(bytes) = std::fs::read(dir.join(record)) {
            any_record = true;
            if has_generation(&bytes) {
                return KukeonVersion::V06Plus;
            }
        }
        // A v0.5 host upgraded in place: v0.6 writes its spaces' records
        // (each with a sidecar) before it rewrites a realm's.
        if let Ok(children) = std::fs::read_dir(&dir) {
            for child in children.flatten() {
                if child.file_type().is_ok_and(|t| t.is_dir()) && child.path().join(lock).exists() {
                    return KukeonVersion::V06Plus;
                }
            }
        }
    }
    if any_record {
        KukeonVersion::V05
    } else {
        KukeonVersion::V06Plus
    }
}

/// Whether a record's `metadata` has a `generation` key.
fn has_generation(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("metadata")?.get("generation").cloned())
        .is_some_and(|g| !g.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const R: &str = "metadata.json";
    const L: &str = "metadata.json.lock";

    #[test]
    fn the_rule_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(detect(&root.join("none"), R, L), KukeonVersion::V06Plus);
        assert_eq!(detect(root, R, L), KukeonVersion::V06Plus, "empty data/");
        put(
            root,
            "kuke-system/metadata.json",
            r#"{"metadata":{"name":"kuke-system"}}"#,
        );
        put(root, ".staging/metadata.json.lock", "");
        assert_eq!(detect(root, R, L), KukeonVersion::V05);
        put(root, "web/default/metadata.json.lock", "");
        assert_eq!(
            detect(root, R, L),
            KukeonVersion::V06Plus,
            "a space's sidecar"
        );
        std::fs::remove_file(root.join("web/default/metadata.json.lock")).unwrap();
        put(
            root,
            "web/metadata.json",
            r#"{"metadata":{"name":"web","generation":1}}"#,
        );
        assert_eq!(detect(root, R, L), KukeonVersion::V06Plus, "a generation");
        std::fs::remove_file(root.join("web/metadata.json")).unwrap();
        put(root, "web/metadata.json.lock", "");
        assert_eq!(
            detect(root, R, L),
            KukeonVersion::V06Plus,
            "a realm's sidecar"
        );
    }
}
