//! Space networks (CNI) on Kukeon's layout: finding every object Kukeon
//! makes for a space's network and tearing them down in the order of its
//! `delete_space.go`. Knows nothing of containerd: the caller says which
//! tasks are live. Runs the real tools (`ip`, `iptables`, the CNI plugins)
//! in the caller's network namespace.
//!
//! One concern per file: `cni` (conflists, plugin lookup, DEL through the
//! CNI protocol), `egress` (iptables chain and dispatch rule), `link` (the
//! bridge), `state` (IPAM and libcni cache), `subnet` (`network.json`),
//! `exec` (bounded runs of the tools).

pub mod cni;
pub mod egress;
pub mod exec;
pub mod link;
pub mod state;
pub mod subnet;

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where Kukeon's plugins live, then where Debian installs them.
pub const DEFAULT_PLUGIN_DIRS: &[&str] = &["/opt/cni/bin", "/usr/lib/cni"];
pub const DEFAULT_CONF_DIR: &str = "/opt/cni/net.d";
pub const DEFAULT_CACHE_DIR: &str = "/opt/cni/cache";
pub const DEFAULT_IPAM_DIR: &str = "/var/lib/cni/networks";
/// The conflist copy in a space folder.
pub const SPACE_CONFLIST: &str = "network.conflist";

/// Host paths of the CNI state (all overridable, so tests use temp dirs).
#[derive(Debug, Clone)]
pub struct NetworkSettings {
    /// Plugin directories searched before `DEFAULT_PLUGIN_DIRS`.
    pub cni_path: Vec<PathBuf>,
    pub conf_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// host-local's data dir when a conflist sets no `ipam.dataDir`.
    pub ipam_dir: PathBuf,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            cni_path: Vec::new(),
            conf_dir: DEFAULT_CONF_DIR.into(),
            cache_dir: DEFAULT_CACHE_DIR.into(),
            ipam_dir: DEFAULT_IPAM_DIR.into(),
        }
    }
}

impl NetworkSettings {
    /// `--cni-path` first, then Kukeon's and Debian's directories.
    pub fn plugin_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = Vec::new();
        for d in self
            .cni_path
            .iter()
            .cloned()
            .chain(DEFAULT_PLUGIN_DIRS.iter().map(PathBuf::from))
        {
            if !d.as_os_str().is_empty() && !dirs.contains(&d) {
                dirs.push(d);
            }
        }
        dirs
    }
}

/// Kukeon's network name of a space (`naming.BuildSpaceNetworkName`).
pub fn network_name(realm: &str, space: &str) -> String {
    format!("{realm}-{space}")
}

/// The bridge Kukeon names after a network when the conflist is gone
/// (`cni.SafeBridgeName`, v0.6 and later): `k-` and its FNV-1a hash.
pub fn kukeon_bridge_name(network: &str) -> String {
    format!("k-{:08x}", fnv1a32(network))
}

/// 32-bit FNV-1a, as Go's `hash/fnv` computes it.
pub fn fnv1a32(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// A live task as the caller (who knows containerd) sees it.
#[derive(Debug, Clone)]
pub struct LiveTask {
    pub container_id: String,
    pub pid: u32,
    /// `kukeon.io/realm` and `kukeon.io/space` labels of its container.
    pub realm: Option<String>,
    pub space: Option<String>,
}

/// A container to detach with CNI DEL.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub container_id: String,
    pub if_name: String,
    /// `/proc/<pid>/ns/net` of its live task; empty without one.
    pub netns: String,
    /// Where the network config for the DEL comes from (a conflist, or
    /// libcni's cache entry); none: nothing to run DEL with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_from: Option<PathBuf>,
    #[serde(skip)]
    config: Option<cni::Conflist>,
    #[serde(skip)]
    prev_result: Option<serde_json::Value>,
    #[serde(skip)]
    cache_entry: Option<PathBuf>,
}

/// An IPAM directory and what host-local keeps in it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpamDir {
    pub path: PathBuf,
    pub entries: Vec<String>,
}

/// Every network object of one space, in teardown order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceNetwork {
    pub space: String,
    pub network: String,
    /// 1. containers to detach with CNI DEL (before their tasks are killed).
    pub attachments: Vec<Attachment>,
    /// 2. the egress chain, when present, and its dispatch rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub egress_chain: Option<String>,
    pub dispatch_rules: Vec<String>,
    /// 3. the bridge links, then the conflists that name them.
    pub bridges: Vec<String>,
    pub conflists: Vec<PathBuf>,
    /// 4. host-local IPAM and libcni cache entries.
    pub ipam: Vec<IpamDir>,
    pub cache_entries: Vec<PathBuf>,
    /// 5. the /24 allocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_allocation: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    /// What a teardown could not remove on this host, and why.
    pub would_remain: Vec<String>,
    #[serde(skip)]
    chain_name: String,
}

impl SpaceNetwork {
    /// `kind name` lines, in teardown order.
    pub fn objects(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .attachments
            .iter()
            .map(|a| {
                let netns = if a.netns.is_empty() {
                    "no netns".to_string()
                } else {
                    a.netns.clone()
                };
                format!("cni-del {} {} ({netns})", a.container_id, a.if_name)
            })
            .collect();
        out.extend(
            self.egress_chain
                .iter()
                .map(|c| format!("egress-chain {c}")),
        );
        out.extend(
            self.dispatch_rules
                .iter()
                .map(|r| format!("dispatch-rule {r}")),
        );
        out.extend(self.bridges.iter().map(|b| format!("bridge {b}")));
        out.extend(
            self.conflists
                .iter()
                .map(|c| format!("conflist {}", c.display())),
        );
        for dir in &self.ipam {
            out.push(format!("ipam-dir {}", dir.path.display()));
            out.extend(dir.entries.iter().map(|e| format!("ipam-entry {e}")));
        }
        out.extend(
            self.cache_entries
                .iter()
                .map(|c| format!("cni-cache {}", c.display())),
        );
        if let Some(path) = &self.subnet_allocation {
            let subnet = self.subnet.as_deref().unwrap_or("unreadable");
            out.push(format!("subnet {} ({subnet})", path.display()));
        }
        out
    }

    /// How many objects a teardown removes, by kind.
    pub fn count(&self) -> usize {
        self.attachments.len()
            + self.egress_chain.iter().count()
            + self.dispatch_rules.len()
            + self.bridges.len()
            + self.conflists.len()
            + self.ipam.len()
            + self.cache_entries.len()
            + self.subnet_allocation.iter().count()
    }
}

/// The tools found on this host.
struct Tools {
    ip: Option<PathBuf>,
    iptables: Option<PathBuf>,
}

impl Tools {
    fn find() -> Tools {
        Tools {
            ip: exec::find_tool("ip"),
            iptables: exec::find_tool("iptables"),
        }
    }
}

/// Finds every network object of `realm`/`space` (folder `space_dir`).
pub fn plan_space(
    s: &NetworkSettings,
    bound: Duration,
    realm: &str,
    space: &str,
    space_dir: &Path,
    tasks: &[LiveTask],
) -> SpaceNetwork {
    plan_with(&Tools::find(), s, bound, realm, space, space_dir, tasks)
}

fn plan_with(
    tools: &Tools,
    s: &NetworkSettings,
    bound: Duration,
    realm: &str,
    space: &str,
    space_dir: &Path,
    tasks: &[LiveTask],
) -> SpaceNetwork {
    let network = network_name(realm, space);
    let mut plan = SpaceNetwork {
        space: space.into(),
        network: network.clone(),
        attachments: Vec::new(),
        egress_chain: None,
        dispatch_rules: Vec::new(),
        bridges: Vec::new(),
        conflists: Vec::new(),
        ipam: Vec::new(),
        cache_entries: Vec::new(),
        subnet_allocation: None,
        subnet: None,
        would_remain: Vec::new(),
        chain_name: egress::chain_name(realm, space),
    };
    let dirs = s.plugin_dirs();

    // Conflists: `spec.cniConfigPath`, the space folder's copy, the CNI
    // config dir's; only those that name this network (as Kukeon checks).
    let mut candidates = Vec::new();
    if let Some(p) = spec_cni_config_path(space_dir) {
        candidates.push(p);
    }
    candidates.push(space_dir.join(SPACE_CONFLIST));
    if state::valid_network(&network) {
        candidates.push(s.conf_dir.join(format!("{network}.conflist")));
    }
    candidates.dedup();
    let mut confs: Vec<cni::Conflist> = Vec::new();
    for path in candidates {
        if let Ok(Some(c)) = cni::Conflist::read(&path) {
            if c.name == network && !confs.iter().any(|k| k.path == c.path) {
                confs.push(c);
            }
        }
    }
    plan.conflists = confs.iter().map(|c| c.path.clone()).collect();

    // IPAM and cache.
    let mut data_dirs: Vec<PathBuf> = confs.iter().filter_map(|c| c.ipam_data_dir()).collect();
    data_dirs.push(s.ipam_dir.clone());
    data_dirs.dedup();
    for dir in data_dirs {
        if let Some((path, entries)) = state::ipam(&dir, &network) {
            if !plan.ipam.iter().any(|d| d.path == path) {
                plan.ipam.push(IpamDir { path, entries });
            }
        }
    }
    let cache = state::cache_entries(&s.cache_dir, &network);
    plan.cache_entries = cache.iter().map(|c| c.path.clone()).collect();

    // Attachments: what libcni cached, then live tasks of the space's
    // containers (Kukeon DELs those too).
    let own_netns = netns_inode("/proc/self/ns/net");
    let netns_of = |id: &str| -> String {
        tasks
            .iter()
            .find(|t| t.container_id == id)
            .map(|t| format!("/proc/{}/ns/net", t.pid))
            // Never DEL against our own namespace: the plugins would
            // remove our interface.
            .filter(|p| netns_inode(p).is_some_and(|i| Some(i) != own_netns))
            .unwrap_or_default()
    };
    for entry in &cache {
        let from_cache = entry
            .config
            .as_ref()
            .and_then(|b| cni::Conflist::parse(&entry.path, b).ok())
            .filter(|c| c.name == network);
        let config = confs.first().cloned().or(from_cache);
        plan.attachments.push(Attachment {
            container_id: entry.container_id.clone(),
            if_name: entry.if_name.clone(),
            netns: netns_of(&entry.container_id),
            config_from: config.as_ref().map(|c| c.path.clone()),
            config,
            prev_result: entry.result.clone(),
            cache_entry: Some(entry.path.clone()),
        });
    }
    if let Some(conf) = confs.first() {
        for t in tasks {
            let ours = t.space.as_deref() == Some(space)
                && t.realm.as_deref().is_none_or(|r| r == realm)
                && !plan
                    .attachments
                    .iter()
                    .any(|a| a.container_id == t.container_id);
            let netns = netns_of(&t.container_id);
            if ours && !netns.is_empty() {
                plan.attachments.push(Attachment {
                    container_id: t.container_id.clone(),
                    if_name: "eth0".into(),
                    netns,
                    config_from: Some(conf.path.clone()),
                    config: Some(conf.clone()),
                    prev_result: None,
                    cache_entry: None,
                });
            }
        }
    }
    for a in &plan.attachments {
        if let Some(conf) = &a.config {
            let missing = conf.missing_plugins(&dirs);
            if !missing.is_empty() {
                plan.would_remain.push(format!(
                    "the attachment of container {} to network {network} (CNI DEL needs plugin(s) {} not found in {})",
                    a.container_id,
                    missing.join(", "),
                    join(&dirs)
                ));
            }
        }
    }

    plan.subnet_allocation = subnet::allocation(space_dir).map(|(path, subnet)| {
        plan.subnet = subnet;
        path
    });
    // Nothing of this network on disk: no link or rule is looked for (so a
    // space without a network never has iptables consulted). A teardown
    // removes the links and rules before the last of these files, so a
    // rerun after a failure still gets here.
    if plan.count() == 0 {
        return plan;
    }

    // Bridges: named by the conflists, else Kukeon's derived name.
    let mut names: Vec<String> = Vec::new();
    for name in confs
        .iter()
        .filter_map(|c| c.bridge())
        .chain([kukeon_bridge_name(&network)])
    {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let named: Vec<String> = confs.iter().filter_map(|c| c.bridge()).collect();
    for name in names.into_iter().filter(|n| link::valid_name(n)) {
        match &tools.ip {
            Some(ip) => match link::exists(ip, &name, bound) {
                Ok(true) => plan.bridges.push(name),
                Ok(false) => {}
                Err(e) => plan
                    .would_remain
                    .push(format!("bridge {name} (cannot check: {e})")),
            },
            None if named.contains(&name) => plan.would_remain.push(format!(
                "bridge {name}, if present (ip not found; install iproute2)"
            )),
            None => {}
        }
    }

    // Egress.
    match &tools.iptables {
        Some(iptables) => match egress::find(iptables, &plan.chain_name, bound) {
            Ok(found) => {
                plan.egress_chain = found.chain.then(|| plan.chain_name.clone());
                plan.dispatch_rules = found.dispatch;
            }
            Err(e) => plan.would_remain.push(format!(
                "egress chain {} and its dispatch rule (cannot check: {e})",
                plan.chain_name
            )),
        },
        None => plan.would_remain.push(format!(
            "egress chain {} and its dispatch rule in {}, if present (iptables not found; install iptables)",
            plan.chain_name,
            egress::MASTER_CHAIN
        )),
    }
    plan
}

/// One finished step of a space's teardown: name, objects removed, detail.
pub type Step = (&'static str, usize, String);

/// Tears down what `plan` (made just before) found, in Kukeon's order;
/// `force` skips what cannot be done on this host instead of failing.
/// Idempotent: every removal accepts an object already gone, so a rerun
/// after a failure finishes the job.
pub fn teardown_space(
    s: &NetworkSettings,
    bound: Duration,
    plan: &SpaceNetwork,
    force: bool,
    done: &mut dyn FnMut(Step),
) -> Result<(), String> {
    if !force {
        if let Some(first) = plan.would_remain.first() {
            return Err(format!(
                "would leave {first}{}",
                remains_hint(plan.would_remain.len())
            ));
        }
    }
    let tools = Tools::find();
    let dirs = s.plugin_dirs();
    let net = &plan.network;

    // 1. CNI DEL, each followed by its cache entry (as libcni does).
    let mut detached = 0;
    let mut skipped: Vec<String> = Vec::new();
    for a in &plan.attachments {
        let Some(conf) = &a.config else {
            skipped.push(format!("{}: no network config", a.container_id));
            continue;
        };
        if force && !conf.missing_plugins(&dirs).is_empty() {
            skipped.push(format!("{}: plugins missing", a.container_id));
            continue;
        }
        let target = cni::Target {
            container_id: &a.container_id,
            if_name: &a.if_name,
            netns: &a.netns,
            prev_result: a.prev_result.as_ref(),
        };
        match cni::del(conf, &dirs, &target, bound.max(Duration::from_secs(10))) {
            Ok(()) => {
                if let Some(entry) = &a.cache_entry {
                    state::remove_file(entry)?;
                }
                detached += 1;
            }
            Err(e) if force => skipped.push(e),
            Err(e) => return Err(e),
        }
    }
    let skipped_note = match skipped.first() {
        Some(first) => format!("; {} skipped ({first})", skipped.len()),
        None => String::new(),
    };
    done((
        "cni-del",
        detached,
        format!("{net}: containers detached{skipped_note}"),
    ));

    // 2. Egress chain and its dispatch rules.
    let present = plan.egress_chain.is_some() || !plan.dispatch_rules.is_empty();
    let removed = match &tools.iptables {
        Some(iptables) if present => egress::remove(iptables, &plan.chain_name, bound)?,
        _ => 0,
    };
    done((
        "egress",
        removed,
        format!("{net}: chain {} and its dispatch rules", plan.chain_name),
    ));

    // 3. The bridge, then the conflists that name it: a failure between the
    // two leaves the conflist naming the bridge, so a rerun finds it.
    let mut removed = 0;
    if let Some(ip) = &tools.ip {
        for b in &plan.bridges {
            removed += link::delete(ip, b, bound)? as usize;
        }
    }
    done((
        "bridge",
        removed,
        format!("{net}: {}", plan.bridges.join(" ")),
    ));
    let mut removed = 0;
    for c in &plan.conflists {
        removed += state::remove_file(c)? as usize;
    }
    done((
        "conflist",
        removed,
        format!("{net}: {}", paths(&plan.conflists)),
    ));

    // 4. IPAM and cache: this network's only (exact name).
    let mut removed = 0;
    for dir in &plan.ipam {
        removed += state::remove_ipam(&dir.path)? as usize;
    }
    done(("ipam", removed, format!("{net}: host-local state")));
    let mut removed = 0;
    for entry in state::cache_entries(&s.cache_dir, net) {
        removed += state::remove_file(&entry.path)? as usize;
    }
    done((
        "cni-cache",
        removed,
        format!("{net}: libcni results left after the DEL"),
    ));

    // 5. The subnet allocation.
    let removed = match &plan.subnet_allocation {
        Some(path) => state::remove_file(path)? as usize,
        None => 0,
    };
    let subnet = plan.subnet.as_deref().unwrap_or("no allocation");
    done(("subnet", removed, format!("{net}: {subnet} released")));
    Ok(())
}

/// ", and N more" for a list of things that would remain.
pub fn remains_hint(count: usize) -> String {
    if count > 1 {
        format!(" (and {} more; --dry-run lists them)", count - 1)
    } else {
        String::new()
    }
}

/// `spec.cniConfigPath` of the space record, when set.
fn spec_cni_config_path(space_dir: &Path) -> Option<PathBuf> {
    let bytes = std::fs::read(space_dir.join("metadata.json")).ok()?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let path = doc["spec"]["cniConfigPath"].as_str()?.trim();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

fn netns_inode(path: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.ino())
}

fn join(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

fn paths(list: &[PathBuf]) -> String {
    list.iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_kukeon() {
        assert_eq!(network_name("beta", "s1"), "beta-s1");
        assert_eq!(kukeon_bridge_name("main-default").len(), 10);
        assert!(kukeon_bridge_name("main-default").starts_with("k-"));
        let s = NetworkSettings {
            cni_path: vec!["/x".into(), "/usr/lib/cni".into()],
            ..Default::default()
        };
        assert_eq!(
            s.plugin_dirs(),
            [
                PathBuf::from("/x"),
                PathBuf::from("/usr/lib/cni"),
                PathBuf::from("/opt/cni/bin")
            ]
        );
    }

    #[test]
    fn plan_reads_conflists_state_and_allocation_of_this_network_only() {
        let root = tempfile::tempdir().unwrap();
        let space_dir = root.path().join("data/beta/s1");
        std::fs::create_dir_all(&space_dir).unwrap();
        let conf_dir = root.path().join("net.d");
        let ipam_dir = root.path().join("networks");
        std::fs::create_dir_all(&conf_dir).unwrap();
        std::fs::create_dir_all(ipam_dir.join("beta-s1")).unwrap();
        std::fs::create_dir_all(ipam_dir.join("beta-s1x")).unwrap();
        std::fs::write(ipam_dir.join("beta-s1/10.88.0.2"), "c1\r\neth0").unwrap();
        let conf = r#"{"cniVersion":"0.4.0","name":"beta-s1","plugins":[{"type":"bridge","bridge":"kt-none-0","ipam":{"type":"host-local"}},{"type":"loopback"}]}"#;
        std::fs::write(space_dir.join("network.conflist"), conf).unwrap();
        // Another network's conflist at the conf dir's path is not ours.
        std::fs::write(
            conf_dir.join("beta-s1.conflist"),
            conf.replace("\"beta-s1\"", "\"other\""),
        )
        .unwrap();
        std::fs::write(
            space_dir.join("network.json"),
            r#"{"version":"v1","subnetCIDR":"10.88.4.0/24"}"#,
        )
        .unwrap();
        let s = NetworkSettings {
            cni_path: Vec::new(),
            conf_dir,
            cache_dir: root.path().join("cache"),
            ipam_dir: ipam_dir.clone(),
        };
        // No tools: nothing on the host is asked, and the plan says what
        // would remain.
        let none = Tools {
            ip: None,
            iptables: None,
        };
        let plan = plan_with(
            &none,
            &s,
            Duration::from_secs(5),
            "beta",
            "s1",
            &space_dir,
            &[],
        );
        assert_eq!(plan.would_remain.len(), 2, "{:?}", plan.would_remain);
        assert!(
            plan.would_remain[0].contains("bridge kt-none-0")
                && plan.would_remain[0].contains("iproute2")
        );
        assert!(
            plan.would_remain[1].contains(&egress::chain_name("beta", "s1"))
                && plan.would_remain[1].contains("iptables not found")
        );
        // Its teardown refuses unless forced, and then removes the files.
        let mut steps = Vec::new();
        let err = teardown_space(&s, Duration::from_secs(5), &plan, false, &mut |st| {
            steps.push(st)
        })
        .unwrap_err();
        assert!(
            err.contains("would leave bridge kt-none-0") && err.contains("1 more"),
            "{err}"
        );
        assert!(steps.is_empty() && space_dir.join("network.json").exists());
        assert_eq!(plan.conflists, [space_dir.join("network.conflist")]);
        assert_eq!(plan.ipam.len(), 1);
        assert_eq!(plan.ipam[0].path, ipam_dir.join("beta-s1"));
        assert_eq!(plan.ipam[0].entries, ["10.88.0.2"]);
        assert_eq!(plan.subnet.as_deref(), Some("10.88.4.0/24"));
        assert!(plan.attachments.is_empty());
        let lines = plan.objects();
        assert!(lines.iter().any(|l| l.starts_with("subnet ")), "{lines:?}");

        // An empty space folder: nothing to find, no tool consulted.
        let empty = root.path().join("data/beta/s2");
        std::fs::create_dir_all(&empty).unwrap();
        let plan = plan_with(&none, &s, Duration::from_secs(5), "beta", "s2", &empty, &[]);
        assert_eq!(plan.count(), 0);
        assert!(plan.would_remain.is_empty());
    }
}
