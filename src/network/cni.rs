//! CNI network configuration lists and the plugins that tear an attachment
//! down. The plugins are the real ones (Debian's `containernetworking-plugins`
//! or Kukeon's `/opt/cni/bin`), run through the CNI protocol as libcni runs
//! them for `DelNetworkList`: each plugin in reverse order, its config with
//! the list's `name` and `cniVersion` (and, from CNI 0.4.0, the cached result
//! as `prevResult`) on stdin, `CNI_COMMAND=DEL` and friends in the
//! environment. Nothing here reimplements a plugin.

use super::exec;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A conflist as read from disk.
#[derive(Debug, Clone)]
pub struct Conflist {
    pub path: PathBuf,
    pub name: String,
    pub cni_version: String,
    pub plugins: Vec<Map<String, Value>>,
}

impl Conflist {
    /// Reads `path`: None when absent, an error when unreadable or not a
    /// conflist.
    pub fn read(path: &Path) -> Result<Option<Conflist>, String> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Self::parse(path, &bytes).map(Some)
    }

    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Conflist, String> {
        let bad = |why: &str| format!("{} is not a CNI conflist: {why}", path.display());
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        let name = doc["name"].as_str().ok_or_else(|| bad("no name"))?;
        let plugins = doc["plugins"]
            .as_array()
            .ok_or_else(|| bad("no plugins list"))?
            .iter()
            .map(|p| {
                p.as_object()
                    .cloned()
                    .ok_or_else(|| bad("a plugin is not an object"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Conflist {
            path: path.to_path_buf(),
            name: name.to_string(),
            cni_version: doc["cniVersion"].as_str().unwrap_or("0.4.0").to_string(),
            plugins,
        })
    }

    /// The `bridge` of the first `bridge` plugin, as Kukeon reads it.
    pub fn bridge(&self) -> Option<String> {
        self.plugins
            .iter()
            .find(|p| p.get("type").and_then(Value::as_str) == Some("bridge"))
            .and_then(|p| p.get("bridge")?.as_str())
            .filter(|b| !b.is_empty())
            .map(str::to_string)
    }

    /// host-local's `ipam.dataDir`, when a plugin sets one.
    pub fn ipam_data_dir(&self) -> Option<PathBuf> {
        self.plugins
            .iter()
            .find_map(|p| p.get("ipam")?.get("dataDir")?.as_str())
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    }

    /// Every plugin a DEL runs: each `type` and each delegated `ipam.type`.
    pub fn plugin_types(&self) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.plugins {
            for ty in [
                p.get("type").and_then(Value::as_str),
                p.get("ipam")
                    .and_then(|i| i.get("type"))
                    .and_then(Value::as_str),
            ]
            .into_iter()
            .flatten()
            {
                if !out.iter().any(|t| t == ty) {
                    out.push(ty.to_string());
                }
            }
        }
        out
    }

    /// Plugins of this list not found in `dirs`.
    pub fn missing_plugins(&self, dirs: &[PathBuf]) -> Vec<String> {
        self.plugin_types()
            .into_iter()
            .filter(|t| find_plugin(dirs, t).is_none())
            .collect()
    }
}

/// A plugin binary: the first `dirs/<type>` that is executable. A type with
/// a path separator is never looked up.
pub fn find_plugin(dirs: &[PathBuf], ty: &str) -> Option<PathBuf> {
    if ty.is_empty() || ty.contains('/') || ty == "." || ty == ".." {
        return None;
    }
    dirs.iter().find_map(|d| exec::executable(&d.join(ty)))
}

/// One container attached to a network, as libcni's cache or containerd
/// tells it.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub container_id: &'a str,
    pub if_name: &'a str,
    /// `/proc/<pid>/ns/net` of the live task, or empty (plugins then only
    /// release what lives on the host side, as libcni allows for DEL).
    pub netns: &'a str,
    /// The result libcni cached at ADD, passed as `prevResult`.
    pub prev_result: Option<&'a Value>,
}

/// `DelNetworkList`: every plugin of the list, last first.
pub fn del(conf: &Conflist, dirs: &[PathBuf], t: &Target, bound: Duration) -> Result<(), String> {
    let cni_path =
        std::env::join_paths(dirs).map_err(|e| format!("bad CNI plugin directory list: {e}"))?;
    let cni_path = cni_path.to_string_lossy().into_owned();
    let with_prev = version_at_least(&conf.cni_version, (0, 4, 0));
    for plugin in conf.plugins.iter().rev() {
        let ty = plugin.get("type").and_then(Value::as_str).unwrap_or("");
        let bin = find_plugin(dirs, ty).ok_or_else(|| {
            format!(
                "CNI plugin {ty:?} of network {} not found in {cni_path}",
                conf.name
            )
        })?;
        let mut one = plugin.clone();
        one.insert("name".into(), Value::String(conf.name.clone()));
        one.insert("cniVersion".into(), Value::String(conf.cni_version.clone()));
        if let (true, Some(prev)) = (with_prev, t.prev_result) {
            one.insert("prevResult".into(), prev.clone());
        }
        let stdin = serde_json::to_vec(&Value::Object(one)).map_err(|e| e.to_string())?;
        let ran = exec::run(
            &bin,
            &[],
            &[
                ("CNI_COMMAND", "DEL"),
                ("CNI_CONTAINERID", t.container_id),
                ("CNI_NETNS", t.netns),
                ("CNI_IFNAME", t.if_name),
                ("CNI_PATH", &cni_path),
                ("CNI_ARGS", ""),
            ],
            Some(&stdin),
            bound,
        )?;
        if !ran.ok {
            return Err(format!(
                "CNI DEL of container {} on network {} failed in plugin {ty}: {}",
                t.container_id,
                conf.name,
                plugin_error(&ran)
            ));
        }
    }
    Ok(())
}

/// The `msg` (and `details`) of a plugin's error object, else what it printed.
fn plugin_error(ran: &exec::Ran) -> String {
    match serde_json::from_str::<Value>(&ran.stdout) {
        Ok(v) if v.get("msg").is_some() => {
            let msg = v["msg"].as_str().unwrap_or_default();
            match v["details"].as_str().filter(|d| !d.is_empty()) {
                Some(d) => format!("{msg} ({d})"),
                None => msg.to_string(),
            }
        }
        _ => ran.said(),
    }
}

/// `a.b.c` compared with `want`; unparsable counts as the newest.
fn version_at_least(version: &str, want: (u32, u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>());
    match (parts.next(), parts.next(), parts.next().unwrap_or(Ok(0))) {
        (Some(Ok(a)), Some(Ok(b)), Ok(c)) => (a, b, c) >= want,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUKEON: &str = r#"{
  "cniVersion": "0.4.0",
  "name": "main-default",
  "plugins": [
    {"type": "bridge", "bridge": "k-1234abcd", "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.3.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}"#;

    #[test]
    fn reads_kukeons_conflist() {
        let c = Conflist::parse(Path::new("x"), KUKEON.as_bytes()).unwrap();
        assert_eq!(c.name, "main-default");
        assert_eq!(c.bridge().as_deref(), Some("k-1234abcd"));
        assert_eq!(c.plugin_types(), ["bridge", "host-local", "loopback"]);
        assert_eq!(c.ipam_data_dir(), None);
        let err = Conflist::parse(Path::new("/n.conflist"), b"{\"name\":\"x\"}").unwrap_err();
        assert!(
            err.contains("/n.conflist") && err.contains("plugins"),
            "{err}"
        );
    }

    #[test]
    fn missing_plugins_and_odd_types() {
        let dir = tempfile::tempdir().unwrap();
        let c = Conflist::parse(Path::new("x"), KUKEON.as_bytes()).unwrap();
        assert_eq!(
            c.missing_plugins(&[dir.path().to_path_buf()]),
            ["bridge", "host-local", "loopback"]
        );
        assert!(find_plugin(&[PathBuf::from("/usr/bin")], "../bin/sh").is_none());
    }

    #[test]
    fn versions() {
        assert!(version_at_least("0.4.0", (0, 4, 0)));
        assert!(version_at_least("1.0.0", (0, 4, 0)));
        assert!(!version_at_least("0.3.1", (0, 4, 0)));
        assert!(version_at_least("weird", (0, 4, 0)));
    }
}
