//! Space networks on Kukeon's layout, torn down by `delete realm --cascade`
//! the way Kukeon's `delete_space.go` does, against real parts: a private
//! containerd with a running busybox task, the real `bridge`, `host-local`
//! and `loopback` plugins (Debian's `containernetworking-plugins`, run here
//! through the CNI protocol as libcni runs them), real iptables chains and
//! a real bridge.
//!
//! Everything networked happens inside a network namespace made by the test
//! (`ip netns add kt-<pid>-<n>`): the plugins and iptables run in it through
//! `ip netns exec`, `kuke-tui` itself through `nsenter --net`, so the host's interfaces and iptables
//! are never touched. The conflists, the libcni cache and host-local's state
//! live in the harness's temp dir (`KUKEON_CNI_*_DIR`, `ipam.dataDir`). A
//! guard deletes the namespace on drop, even after a failed test, which
//! removes every link and rule made in it.

mod common;

use common::{ok_stdout, run_cmd, stderr_of, Harness};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const PLUGINS: &str = "/usr/lib/cni";
const SUFFIX: &str = "kukeon.io";
static NETNS_COUNTER: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------
// a network namespace of the test's own

struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Netns {
        let n = NETNS_COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("kt-{}-{n}", std::process::id());
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .expect("run ip netns add");
        assert!(
            out.status.success(),
            "ip netns add {name}: {}",
            stderr_of(&out)
        );
        let ns = Netns { name };
        ns.ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    /// `ip netns exec <ns> args...`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        ok_stdout(
            &run_cmd(self.cmd(args), None),
            &format!("in {}: {args:?}", self.name),
        )
    }

    fn links(&self) -> Vec<String> {
        self.ok(&["ip", "-o", "link", "show"])
            .lines()
            .filter_map(|l| l.split(':').nth(1))
            .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
            .collect()
    }

    fn iptables(&self, table: &str) -> String {
        self.ok(&["iptables", "-w", "-t", table, "-S"])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

// ---------------------------------------------------------------------------
// a Kukeon host: instance file, realms, spaces

/// CNI directories inside the harness (never the host's).
struct Cni {
    conf_dir: PathBuf,
    cache_dir: PathBuf,
    /// `KUKEON_CNI_IPAM_DIR`: host-local's dir for conflists without dataDir.
    ipam_dir: PathBuf,
    /// The `ipam.dataDir` some conflists set.
    data_dir: PathBuf,
}

impl Cni {
    fn new(h: &Harness) -> Cni {
        let root = h.dir.join("cni");
        let cni = Cni {
            conf_dir: root.join("net.d"),
            cache_dir: root.join("cache"),
            ipam_dir: root.join("networks"),
            data_dir: root.join("datadir"),
        };
        for d in [&cni.conf_dir, &cni.cache_dir, &cni.ipam_dir, &cni.data_dir] {
            fs::create_dir_all(d).unwrap();
        }
        cni
    }
}

fn kukeon_host(h: &Harness) {
    fs::write(
        h.run_path.join(".kukeon-instance.json"),
        format!(
            "{{\n  \"containerdNamespaceSuffix\": \"{SUFFIX}\",\n  \"cgroupRoot\": \"{}/kk\"\n}}\n",
            h.cgroup_root
        ),
    )
    .unwrap();
}

/// `kuke-tui args...` in the namespace's network (through `prefix` first when
/// given), with the CNI directories of the test.
fn kuke(h: &Harness, ns: &Netns, cni: &Cni, prefix: &[&str], args: &[&str]) -> Command {
    // nsenter, not `ip netns exec`: that one mounts a fresh /sys, which
    // hides the cgroup mounts the command needs.
    let net = format!("--net={}", ns.path());
    let mut full: Vec<&str> = prefix.to_vec();
    full.extend(["nsenter", &net]);
    let mut c = h.kuke_via(&full);
    c.env("KUKEON_CNI_CONF_DIR", &cni.conf_dir)
        .env("KUKEON_CNI_CACHE_DIR", &cni.cache_dir)
        .env("KUKEON_CNI_IPAM_DIR", &cni.ipam_dir)
        .env_remove("KUKEON_CNI_PATH")
        .args(args);
    c
}

/// `delete realm NAME --cascade --yes --grace 2s` plus `extra`: the busybox
/// tasks ignore SIGTERM, so a short grace keeps each cascade quick.
fn cascade<'a>(realm: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "delete",
        "realm",
        realm,
        "--cascade",
        "--yes",
        "--grace",
        "2s",
    ];
    args.extend_from_slice(extra);
    args
}

fn kuke_ok(h: &Harness, ns: &Netns, cni: &Cni, args: &[&str]) -> String {
    ok_stdout(
        &run_cmd(kuke(h, ns, cni, &[], args), None),
        &format!("kuke-tui {args:?}"),
    )
}

fn fnv1a32(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

fn chain_of(realm: &str, space: &str) -> String {
    format!("KUKE-EGR-{:08x}", fnv1a32(&format!("{realm}/{space}")))
}

fn bridge_of(network: &str) -> String {
    format!("k-{:08x}", fnv1a32(network))
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, &b)| a | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One space's network as Kukeon builds it.
struct Space {
    name: String,
    network: String,
    bridge: String,
    chain: String,
    conflists: Vec<PathBuf>,
    /// host-local's directory of this network.
    ipam: PathBuf,
}

/// Writes the space record, the conflist (in the space folder, and in the
/// CNI conf dir when `in_conf_dir`), `network.json`, the bridge, the egress
/// chain with its dispatch rule; `data_dir` sets `ipam.dataDir`.
/// Where a space's network state goes.
struct Shape {
    /// `10.88.<octet>.0/24`.
    octet: u8,
    /// The conflist sets `ipam.dataDir` (else host-local's state is looked
    /// for under `KUKEON_CNI_IPAM_DIR`).
    data_dir: bool,
    /// A copy of the conflist in the CNI conf dir too.
    in_conf_dir: bool,
}

fn make_space(h: &Harness, ns: &Netns, cni: &Cni, realm: &str, space: &str, shape: Shape) -> Space {
    let Shape {
        octet,
        data_dir,
        in_conf_dir,
    } = shape;
    let network = format!("{realm}-{space}");
    let bridge = bridge_of(&network);
    let dir = h.run_path.join("data").join(realm).join(space);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("metadata.json"),
        serde_json::to_string_pretty(&json!({
            "apiVersion": "v1beta1",
            "kind": "Space",
            "metadata": {"name": space, "labels": {"kukeon.io/realm": realm}},
            "spec": {"realmId": realm},
            "status": {"state": "Ready", "cgroupPath": format!("{}/kk/{realm}/{space}", h.cgroup_root)}
        }))
        .unwrap(),
    )
    .unwrap();
    let subnet = format!("10.88.{octet}.0/24");
    let mut ipam = json!({
        "type": "host-local",
        "ranges": [[{"subnet": subnet}]],
        "routes": [{"dst": "0.0.0.0/0"}]
    });
    let data = if data_dir {
        ipam["dataDir"] = json!(cni.data_dir);
        cni.data_dir.clone()
    } else {
        cni.ipam_dir.clone()
    };
    let conflist = json!({
        "cniVersion": "0.4.0",
        "name": network,
        "plugins": [
            {"type": "bridge", "bridge": bridge, "isGateway": true, "ipMasq": true, "ipam": ipam},
            {"type": "loopback"}
        ]
    });
    let text = serde_json::to_string_pretty(&conflist).unwrap();
    let mut conflists = vec![dir.join("network.conflist")];
    if in_conf_dir {
        conflists.push(cni.conf_dir.join(format!("{network}.conflist")));
    }
    for c in &conflists {
        fs::write(c, &text).unwrap();
    }
    fs::write(
        dir.join("network.json"),
        format!("{{\n  \"version\": \"v1\",\n  \"subnetCIDR\": \"{subnet}\"\n}}"),
    )
    .unwrap();
    // The bridge exists from the space's creation on (Kukeon's EnsureSpace).
    ns.ok(&["ip", "link", "add", "name", &bridge, "type", "bridge"]);
    // Egress: the master chain (jumped to from FORWARD) and the space's own.
    let chain = chain_of(realm, space);
    if !ns.iptables("filter").contains("-N KUKEON-EGRESS") {
        ns.ok(&["iptables", "-w", "-N", "KUKEON-EGRESS"]);
        ns.ok(&[
            "iptables",
            "-w",
            "-I",
            "FORWARD",
            "1",
            "-j",
            "KUKEON-EGRESS",
        ]);
    }
    let tag = format!("kukeon:{realm}:{space}");
    ns.ok(&["iptables", "-w", "-N", &chain]);
    ns.ok(&[
        "iptables",
        "-w",
        "-A",
        &chain,
        "-m",
        "comment",
        "--comment",
        &format!("{tag}:default"),
        "-j",
        "RETURN",
    ]);
    ns.ok(&[
        "iptables",
        "-w",
        "-A",
        "KUKEON-EGRESS",
        "-i",
        &bridge,
        "-m",
        "comment",
        "--comment",
        &format!("{tag}:dispatch"),
        "-j",
        &chain,
    ]);
    Space {
        name: space.into(),
        ipam: data.join(&network),
        network,
        bridge,
        chain,
        conflists,
    }
}

/// CNI ADD of container `cid` (its network namespace at `netns`) to the
/// space's network, as libcni does it: each plugin in order with the
/// previous result, then the result cached under `results/`.
fn attach(ns: &Netns, cni: &Cni, space: &Space, cid: &str, netns: &str) -> PathBuf {
    let text = fs::read(&space.conflists[0]).unwrap();
    let list: Value = serde_json::from_slice(&text).unwrap();
    let mut prev: Option<Value> = None;
    for plugin in list["plugins"].as_array().unwrap() {
        // host-local's default is the host's /var/lib/cni: never there.
        assert!(
            plugin.get("ipam").is_none() || plugin["ipam"]["dataDir"].is_string(),
            "attach needs ipam.dataDir in a temp dir: {plugin}"
        );
        let mut conf = plugin.clone();
        conf["name"] = list["name"].clone();
        conf["cniVersion"] = list["cniVersion"].clone();
        if let Some(p) = &prev {
            conf["prevResult"] = p.clone();
        }
        let ty = plugin["type"].as_str().unwrap();
        let mut c = ns.cmd(&[&format!("{PLUGINS}/{ty}")]);
        c.env("CNI_COMMAND", "ADD")
            .env("CNI_CONTAINERID", cid)
            .env("CNI_NETNS", netns)
            .env("CNI_IFNAME", "eth0")
            .env("CNI_PATH", PLUGINS);
        let out = run_cmd(c, Some(&conf.to_string()));
        let stdout = ok_stdout(&out, &format!("CNI ADD {ty} {cid}"));
        prev = Some(serde_json::from_str(&stdout).unwrap());
    }
    let results = cni.cache_dir.join("results");
    fs::create_dir_all(&results).unwrap();
    let entry = results.join(format!("{}-{cid}-eth0", space.network));
    let cached = json!({
        "kind": "cniCacheV1",
        "containerId": cid,
        "config": base64(&text),
        "ifName": "eth0",
        "networkName": space.network,
        "netns": netns,
        "result": prev,
    });
    fs::write(&entry, cached.to_string()).unwrap();
    entry
}

/// What is left of a space's network.
fn leftovers(ns: &Netns, cni: &Cni, space: &Space) -> Vec<String> {
    let mut left = Vec::new();
    let links = ns.links();
    if links.contains(&space.bridge) {
        left.push(format!("bridge {}", space.bridge));
    }
    let filter = ns.iptables("filter");
    if filter.contains(&space.chain) {
        left.push(format!("chain {}", space.chain));
    }
    for c in &space.conflists {
        if c.exists() {
            left.push(format!("conflist {}", c.display()));
        }
    }
    if space.ipam.exists() {
        left.push(format!("ipam {}", space.ipam.display()));
    }
    if let Ok(read) = fs::read_dir(cni.cache_dir.join("results")) {
        for e in read.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let doc: Value =
                serde_json::from_slice(&fs::read(e.path()).unwrap()).unwrap_or_default();
            if doc["networkName"] == space.network.as_str() {
                left.push(format!("cache {name}"));
            }
        }
    }
    let alloc = Path::new(&space.conflists[0]).with_file_name("network.json");
    if alloc.exists() {
        left.push(format!("network.json {}", alloc.display()));
    }
    left
}

/// A realm made by the CLI with a running task whose own network namespace
/// is attached to space `s1`, and a second space `s2` without attachments
/// (conflist in the CNI conf dir too, IPAM under `KUKEON_CNI_IPAM_DIR`).
struct Seeded {
    spaces: Vec<Space>,
    task_pid: u32,
    cache_entry: PathBuf,
}

fn seed(h: &Harness, ns: &Netns, cni: &Cni, realm: &str) -> Seeded {
    kukeon_host(h);
    kuke_ok(h, ns, cni, &["create", "realm", realm]);
    let rns = format!("{realm}.{SUFFIX}");
    h.import_image(&rns);
    let s1 = make_space(
        h,
        ns,
        cni,
        realm,
        "s1",
        Shape {
            octet: 41,
            data_dir: true,
            in_conf_dir: false,
        },
    );
    let s2 = make_space(
        h,
        ns,
        cni,
        realm,
        "s2",
        Shape {
            octet: 42,
            data_dir: false,
            in_conf_dir: true,
        },
    );
    // s2's host-local state left from an earlier lease.
    fs::create_dir_all(&s2.ipam).unwrap();
    fs::write(s2.ipam.join("last_reserved_ip.0"), "10.88.42.5").unwrap();
    let cid = "s1_stack_cell_root";
    h.run_task(
        &rns,
        cid,
        &format!("{}/kk/{realm}/s1/{cid}", h.cgroup_root),
        &["/bin/sleep", "3600"],
    );
    let pid = h.task_pid(&rns, cid).expect("task pid");
    let cache_entry = attach(ns, cni, &s1, cid, &format!("/proc/{pid}/ns/net"));
    // The attachment is real: a veth on the bridge, an address leased, and
    // the bridge plugin's masquerade chain.
    assert!(
        ns.links().iter().any(|l| l.starts_with("veth")),
        "{:?}",
        ns.links()
    );
    let leases: Vec<_> = fs::read_dir(&s1.ipam).unwrap().flatten().collect();
    assert!(leases
        .iter()
        .any(|e| e.file_name().to_string_lossy().starts_with("10.88.41.")));
    assert!(
        ns.iptables("nat").contains("CNI-"),
        "{}",
        ns.iptables("nat")
    );
    Seeded {
        spaces: vec![s1, s2],
        task_pid: pid,
        cache_entry,
    }
}

/// `kind -> count` of the plan's network objects.
fn kinds(plan: &Value) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for n in plan["networks"].as_array().unwrap() {
        for (kind, key) in [
            ("cni-del", "attachments"),
            ("dispatch-rule", "dispatchRules"),
            ("bridge", "bridges"),
            ("conflist", "conflists"),
            ("ipam-dir", "ipam"),
            ("cni-cache", "cacheEntries"),
        ] {
            let k = n[key].as_array().map_or(0, |a| a.len());
            match out.iter_mut().find(|(name, _)| name == kind) {
                Some((_, c)) => *c += k,
                None => out.push((kind.into(), k)),
            }
        }
        for (kind, key) in [
            ("egress-chain", "egressChain"),
            ("subnet", "subnetAllocation"),
        ] {
            let k = n[key].is_string() as usize;
            match out.iter_mut().find(|(name, _)| name == kind) {
                Some((_, c)) => *c += k,
                None => out.push((kind.into(), k)),
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// tests

#[test]
fn cascade_tears_down_every_space_network_object() {
    let h = Harness::start();
    let ns = Netns::new();
    let cni = Cni::new(&h);
    let seeded = seed(&h, &ns, &cni, "net");

    // The plan lists each object, per space.
    let plan: Value = serde_json::from_str(&kuke_ok(
        &h,
        &ns,
        &cni,
        &[
            "delete",
            "realm",
            "net",
            "--cascade",
            "--dry-run",
            "-o",
            "json",
        ],
    ))
    .unwrap();
    let nets = plan["networks"].as_array().expect("networks in the plan");
    assert_eq!(nets.len(), 2, "{plan}");
    let s1 = &nets[0];
    assert_eq!(s1["network"], "net-s1");
    assert_eq!(s1["attachments"][0]["containerId"], "s1_stack_cell_root");
    assert_eq!(
        s1["attachments"][0]["netns"],
        format!("/proc/{}/ns/net", seeded.task_pid).as_str()
    );
    assert_eq!(s1["egressChain"], chain_of("net", "s1").as_str());
    assert!(s1["dispatchRules"][0].as_str().unwrap().contains("-i k-"));
    assert_eq!(s1["bridges"][0], bridge_of("net-s1").as_str());
    assert_eq!(s1["conflists"].as_array().unwrap().len(), 1);
    // ipam.dataDir of the conflist is honoured.
    assert_eq!(s1["ipam"][0]["path"], json!(seeded.spaces[0].ipam));
    assert!(s1["ipam"][0]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().starts_with("10.88.41.")));
    assert_eq!(s1["cacheEntries"][0], json!(seeded.cache_entry));
    assert_eq!(s1["subnet"], "10.88.41.0/24");
    assert_eq!(s1["wouldRemain"], json!([]));
    let s2 = &nets[1];
    assert_eq!(s2["conflists"].as_array().unwrap().len(), 2, "{s2}");
    assert_eq!(s2["ipam"][0]["path"], json!(seeded.spaces[1].ipam));
    assert_eq!(s2["attachments"], json!([]));
    let by_kind = kinds(&plan);
    let total: usize = by_kind.iter().map(|(_, n)| n).sum();
    eprintln!("FIGURE objects per cascade (2 spaces): {total} {by_kind:?}");
    // The table names them too.
    let table = kuke_ok(
        &h,
        &ns,
        &cni,
        &["delete", "realm", "net", "--cascade", "--dry-run"],
    );
    assert!(table.contains("space network net-s1 (space s1)"), "{table}");
    assert!(
        table.contains(&format!("egress-chain {}", chain_of("net", "s2"))),
        "{table}"
    );
    // A dry run changed nothing.
    for s in &seeded.spaces {
        // s1: bridge, chain, conflist, IPAM, cache entry, network.json;
        // s2: the same with two conflists and no cache entry.
        assert_eq!(
            leftovers(&ns, &cni, s).len(),
            6,
            "{:?}",
            leftovers(&ns, &cni, s)
        );
    }

    let started = Instant::now();
    let out = kuke_ok(&h, &ns, &cni, &cascade("net", &[]));
    let took = started.elapsed();
    eprintln!("FIGURE direct cascade with 2 space networks: {took:?}\n{out}");
    // Network steps come first, CNI DEL before the tasks are stopped.
    let steps: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let del = steps
        .iter()
        .position(|s| *s == "cni-del")
        .expect("cni-del step");
    let tasks = steps
        .iter()
        .position(|s| *s == "tasks")
        .expect("tasks step");
    assert!(del < tasks, "{out}");
    assert!(out.contains("cni-del     removed 1"), "{out}");

    for s in &seeded.spaces {
        assert_eq!(
            leftovers(&ns, &cni, s),
            Vec::<String>::new(),
            "space {}",
            s.name
        );
    }
    // Only lo is left; the master chain stays; the plugin's masquerade chain
    // went with the DEL (it needs the task's namespace, so DEL came first).
    assert_eq!(ns.links(), ["lo"], "{:?}", ns.links());
    let filter = ns.iptables("filter");
    assert!(filter.contains("-N KUKEON-EGRESS"), "{filter}");
    assert!(!filter.contains("KUKE-EGR-"), "{filter}");
    let nat = ns.iptables("nat");
    assert!(!nat.contains("CNI-"), "{nat}");
    assert!(fs::read_dir(cni.cache_dir.join("results"))
        .unwrap()
        .next()
        .is_none());
    assert!(fs::read_dir(&cni.conf_dir).unwrap().next().is_none());
    assert!(!h.run_path.join("data/net").exists());
}

#[test]
fn missing_plugins_are_named_and_refused_without_force() {
    let h = Harness::start();
    let ns = Netns::new();
    let cni = Cni::new(&h);
    let seeded = seed(&h, &ns, &cni, "bare");
    // The plugins hidden in a private mount namespace of the command.
    let hide = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount -t tmpfs kt /usr/lib/cni && { [ ! -d /opt/cni/bin ] || mount -t tmpfs kt /opt/cni/bin; } && exec \"$@\"",
        "sh",
    ];
    let run = |args: &[&str]| run_cmd(kuke(&h, &ns, &cni, &hide, args), None);

    let plan: Value = serde_json::from_str(&ok_stdout(
        &run(&[
            "delete",
            "realm",
            "bare",
            "--cascade",
            "--dry-run",
            "-o",
            "json",
        ]),
        "dry run",
    ))
    .unwrap();
    let remain = plan["networks"][0]["wouldRemain"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        remain.contains("s1_stack_cell_root")
            && remain.contains("bridge")
            && remain.contains("/usr/lib/cni"),
        "{plan}"
    );
    let table = ok_stdout(
        &run(&["delete", "realm", "bare", "--cascade", "--dry-run"]),
        "dry run",
    );
    assert!(table.contains("would remain (needs --force)"), "{table}");

    let out = run(&["delete", "realm", "bare", "--cascade", "--yes"]);
    let err = common::one_line_error_of(
        "cascade without plugins",
        &out,
        1,
        &["would leave", "--force", "s1_stack_cell_root"],
    );
    assert!(err.contains("nothing was deleted"), "{err}");
    assert!(h.run_path.join("data/bare/metadata.json").exists());
    assert_eq!(leftovers(&ns, &cni, &seeded.spaces[0]).len(), 6);

    // --force: everything else goes; the DEL is skipped and said so.
    let out = ok_stdout(&run(&cascade("bare", &["--force"])), "forced cascade");
    assert!(out.contains("1 skipped"), "{out}");
    for s in &seeded.spaces {
        assert_eq!(
            leftovers(&ns, &cni, s),
            Vec::<String>::new(),
            "space {}",
            s.name
        );
    }
}

#[test]
fn rerun_after_a_failed_teardown_finishes_it() {
    let h = Harness::start();
    let ns = Netns::new();
    let cni = Cni::new(&h);
    let seeded = seed(&h, &ns, &cni, "half");
    let s1 = &seeded.spaces[0];
    // Something else jumps to s1's egress chain: iptables refuses to delete
    // a chain still referenced, so the teardown fails at its second step.
    ns.ok(&[
        "iptables",
        "-w",
        "-A",
        "FORWARD",
        "-o",
        "kt-nowhere",
        "-j",
        &s1.chain,
    ]);
    let out = run_cmd(kuke(&h, &ns, &cni, &[], &cascade("half", &[])), None);
    let err = common::one_line_error_of(
        "blocked cascade",
        &out,
        1,
        &["half", "network", "run the same command again"],
    );
    eprintln!("first run: {err}\n{}", String::from_utf8_lossy(&out.stdout));
    // Step 1 was done (DEL, cache entry), the rest not.
    assert!(!seeded.cache_entry.exists());
    assert!(s1.ipam.exists() && ns.links().contains(&s1.bridge));
    assert!(h.run_path.join("data/half/metadata.json").exists());
    assert_eq!(
        h.task_status("half.kukeon.io", "s1_stack_cell_root")
            .as_deref(),
        Some("RUNNING")
    );

    ns.ok(&[
        "iptables",
        "-w",
        "-D",
        "FORWARD",
        "-o",
        "kt-nowhere",
        "-j",
        &s1.chain,
    ]);
    let out = kuke_ok(&h, &ns, &cni, &cascade("half", &[]));
    assert!(out.contains("cni-del     removed 0"), "{out}");
    for s in &seeded.spaces {
        assert_eq!(
            leftovers(&ns, &cni, s),
            Vec::<String>::new(),
            "space {}",
            s.name
        );
    }
    assert_eq!(ns.links(), ["lo"]);
    assert!(!ns.iptables("nat").contains("CNI-"));
}

#[test]
fn deleting_beta_leaves_beta_x_alone() {
    let h = Harness::start();
    let ns = Netns::new();
    let cni = Cni::new(&h);
    kukeon_host(&h);
    kuke_ok(&h, &ns, &cni, &["create", "realm", "beta"]);
    kuke_ok(&h, &ns, &cni, &["create", "realm", "beta-x"]);
    // Both networks' IPAM state in the same directory.
    let beta = make_space(
        &h,
        &ns,
        &cni,
        "beta",
        "s1",
        Shape {
            octet: 51,
            data_dir: true,
            in_conf_dir: true,
        },
    );
    let other = make_space(
        &h,
        &ns,
        &cni,
        "beta-x",
        "s1",
        Shape {
            octet: 52,
            data_dir: true,
            in_conf_dir: true,
        },
    );
    // Each attached through a namespace of the test's own.
    let c1 = Netns::new();
    let c2 = Netns::new();
    attach(&ns, &cni, &beta, "c1", &c1.path());
    let kept_entry = attach(&ns, &cni, &other, "c2", &c2.path());
    let before = leftovers(&ns, &cni, &other);
    assert_eq!(before.len(), 7, "{before:?}");
    let leases = fs::read_dir(&other.ipam).unwrap().count();

    kuke_ok(
        &h,
        &ns,
        &cni,
        &["delete", "realm", "beta", "--cascade", "--yes"],
    );
    assert_eq!(leftovers(&ns, &cni, &beta), Vec::<String>::new());
    assert_eq!(leftovers(&ns, &cni, &other), before);
    assert_eq!(fs::read_dir(&other.ipam).unwrap().count(), leases);
    assert!(kept_entry.exists());
    assert!(c2.links().contains(&"eth0".to_string()));
    assert!(h.run_path.join("data/beta-x/s1/metadata.json").exists());
}

#[test]
fn direct_cascade_timing_with_and_without_networks() {
    // The cost the network steps add: the same realm (one task) once with
    // two space networks and once with none.
    let h = Harness::start();
    let ns = Netns::new();
    let cni = Cni::new(&h);
    seed(&h, &ns, &cni, "timed");
    let started = Instant::now();
    let out = kuke_ok(&h, &ns, &cni, &cascade("timed", &[]));
    let with = started.elapsed();
    let network_lines = out
        .lines()
        .filter(|l| {
            [
                "cni-del",
                "egress",
                "bridge",
                "conflist",
                "ipam",
                "cni-cache",
                "subnet",
            ]
            .contains(&l.split_whitespace().next().unwrap_or(""))
        })
        .count();
    assert_eq!(network_lines, 14, "{out}");

    kuke_ok(&h, &ns, &cni, &["create", "realm", "plain"]);
    let rns = format!("plain.{SUFFIX}");
    h.import_image(&rns);
    h.run_task(
        &rns,
        "t1",
        &format!("{}/kk/plain/t1", h.cgroup_root),
        &["/bin/sleep", "3600"],
    );
    let started = Instant::now();
    kuke_ok(&h, &ns, &cni, &cascade("plain", &[]));
    let without = started.elapsed();
    eprintln!("FIGURE direct cascade, 1 task: with 2 space networks {with:?}, without {without:?}");
}
