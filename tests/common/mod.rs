//! Integration-test harness: a private containerd per test, a locally built
//! busybox test image, and cleanup that always runs (even after a failed test).
//!
//! Use from `tests/*.rs` with `mod common;`. Needs root and the packages that
//! `scripts/setup.sh` installs (containerd, runc, busybox-static, gcc, ...).
//!
//! Every `Harness` owns:
//! - a temp dir (`dir`) holding the daemon's config, root, state, socket, log,
//!   a runc root (`runc/`) and task logs (`logs/`), plus `run/` (`run_path`), an
//!   empty Kukeon run path for the binary under test;
//! - a containerd child process listening on `socket`;
//! - a unique cgroup root (`cgroup_root`, e.g. `/kuke-tui-test-123-0-456`): put
//!   task cgroups below it; the whole subtree is removed on drop.
//!
//! Nothing here talks to a host daemon at /run/containerd or touches
//! /opt/kukeon or /sys/fs/cgroup/kukeon. containerd 1.6 does put shim sockets in
//! /run/containerd/s/<hash> (and, for tasks without a runc root, runc state in
//! /run/containerd/runc/<ns>); drop removes the ones that are provably ours.
#![allow(dead_code)]

pub mod kukeond;
pub mod pane;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Reference the test image is imported under.
pub const IMAGE_REF: &str = "localhost/kuke-tui/busybox:test";

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
const SOCKET_WAIT: Duration = Duration::from_secs(10);
const TASK_WAIT: Duration = Duration::from_secs(15);
/// How long one command of the binary under test may run before `run_cmd`
/// kills it and fails the test.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(60);

static COUNTER: AtomicUsize = AtomicUsize::new(0);
static IMAGE_TAR: OnceLock<PathBuf> = OnceLock::new();
static REAPED: OnceLock<()> = OnceLock::new();
const OWNER_FILE: &str = "harness.owner";

pub struct Harness {
    /// Temp dir owning everything of this harness (removed on drop).
    pub dir: PathBuf,
    /// containerd gRPC socket (`dir/containerd.sock`).
    pub socket: PathBuf,
    /// Empty Kukeon run path for the binary under test (`dir/run`).
    pub run_path: PathBuf,
    /// Unique cgroup path (leading `/`), removed in every hierarchy on drop.
    pub cgroup_root: String,
    /// OCI layout tar of the test image (shared by all harnesses of the process).
    pub image_tar: PathBuf,
    /// `IMAGE_REF`.
    pub image_ref: String,
    /// pid of the containerd daemon.
    pub daemon_pid: u32,
    /// containerd's log file.
    pub log: PathBuf,
    /// runc root used for tasks started by `run_task` (`dir/runc`).
    pub runc_root: PathBuf,
    daemon: Option<Child>,
}

/// One cgroup hierarchy from /proc/self/mountinfo.
#[derive(Debug, Clone)]
pub struct CgroupMount {
    /// Mount point, e.g. `/sys/fs/cgroup/memory` or `/sys/fs/cgroup`.
    pub mount_point: PathBuf,
    /// Cgroup path of the mount's root (`/` unless in a non-namespaced container).
    pub root: String,
    /// true for cgroup2.
    pub v2: bool,
    /// v1: super options naming controllers (`cpu`, `memory`, `name=systemd`);
    /// v2: contents of `cgroup.controllers` at the mount point.
    pub controllers: Vec<String>,
}

impl CgroupMount {
    /// Directory of cgroup `group` (absolute cgroup path) in this hierarchy.
    pub fn path_of(&self, group: &str) -> PathBuf {
        let g = group.trim_start_matches('/');
        let root = self.root.trim_matches('/');
        let rel = if root.is_empty() {
            g
        } else if let Some(rest) = g.strip_prefix(root) {
            rest.trim_start_matches('/')
        } else {
            g
        };
        if rel.is_empty() {
            self.mount_point.clone()
        } else {
            self.mount_point.join(rel)
        }
    }

    pub fn has_controller(&self, c: &str) -> bool {
        self.controllers.iter().any(|x| x == c)
    }
}

impl Harness {
    /// Start a private containerd in a fresh temp dir. Panics with a clear
    /// message when not root or when containerd/ctr/runc are missing.
    pub fn start() -> Harness {
        preflight();
        REAPED.get_or_init(reap_stale);
        let image_tar = image_tar();

        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let pid = std::process::id();
        let cgroup_root = format!("/kuke-tui-test-{pid}-{n}-{nanos}");

        let dir = tempfile::Builder::new()
            .prefix("kuke-tui-test-")
            .tempdir_in(temp_base())
            .expect("create harness temp dir")
            .keep();
        let dir = fs::canonicalize(&dir).unwrap_or(dir);
        let socket = dir.join("containerd.sock");
        let run_path = dir.join("run");
        let runc_root = dir.join("runc");
        let log = dir.join("containerd.log");
        for d in [&run_path, &runc_root, &dir.join("logs"), &dir.join("opt")] {
            fs::create_dir_all(d).expect("create harness dirs");
        }
        // Lets a later run reap what an interrupted one (Ctrl-C, SIGKILL) left.
        fs::write(
            dir.join(OWNER_FILE),
            format!("{}\n{}\n", std::process::id(), cgroup_root),
        )
        .expect("write harness owner file");
        let config = dir.join("config.toml");
        fs::write(&config, config_toml(&dir, &socket)).expect("write containerd config");

        let log_file = fs::File::create(&log).expect("create containerd log");
        let log_err = log_file.try_clone().expect("dup containerd log");
        let started = Instant::now();
        let mut child = Command::new("containerd")
            .arg("--config")
            .arg(&config)
            .env("PATH", daemon_path())
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn containerd: {e} (run scripts/setup.sh as root)"));
        let daemon_pid = child.id();

        let mut h = Harness {
            dir,
            socket,
            run_path,
            cgroup_root,
            image_tar,
            image_ref: IMAGE_REF.to_string(),
            daemon_pid,
            log,
            runc_root,
            daemon: None,
        };
        // From here on Drop cleans up, also when we panic below.
        // Until it accepts: the socket file appears at bind, before listen.
        loop {
            if std::os::unix::net::UnixStream::connect(&h.socket).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                h.daemon = Some(child);
                panic!(
                    "containerd exited during startup ({status}); log {}:\n{}",
                    h.log.display(),
                    tail(&h.log, 30)
                );
            }
            if started.elapsed() > SOCKET_WAIT {
                h.daemon = Some(child);
                panic!(
                    "containerd socket {} did not appear within {:?}; log:\n{}",
                    h.socket.display(),
                    SOCKET_WAIT,
                    tail(&h.log, 30)
                );
            }
            sleep(Duration::from_millis(5));
        }
        h.daemon = Some(child);
        if std::env::var_os("KUKE_TUI_HARNESS_VERBOSE").is_some() {
            eprintln!(
                "harness: containerd pid {} ready in {:?} at {}",
                h.daemon_pid,
                started.elapsed(),
                h.socket.display()
            );
        }
        h
    }

    /// `ctr --address <socket> <args...>`.
    pub fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(args)
            .env_remove("CONTAINERD_NAMESPACE")
            .env_remove("CONTAINERD_SNAPSHOTTER")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run ctr: {e} (run scripts/setup.sh as root)"))
    }

    /// `ctr` that must succeed; returns stdout.
    pub fn ctr_ok(&self, args: &[&str]) -> String {
        let out = self.ctr(args);
        assert!(
            out.status.success(),
            "ctr {} failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Import the test image into namespace `ns` (created if missing) as `image_ref`.
    pub fn import_image(&self, ns: &str) {
        let tar = self.image_tar.to_string_lossy().into_owned();
        self.ctr_ok(&["-n", ns, "images", "import", &tar]);
        let refs = self.ctr_ok(&["-n", ns, "images", "ls", "-q"]);
        assert!(
            refs.lines().any(|l| l.trim() == self.image_ref),
            "image {} not listed after import into {ns}: {refs:?}",
            self.image_ref
        );
    }

    /// `ctr -n ns run -d --cgroup <cgroup> <image_ref> <id> <cmd...>` (with a runc
    /// root and a log file inside the harness dir), then wait until RUNNING.
    /// The task's stdout+stderr go to `task_log_path(ns, id)`.
    pub fn run_task(&self, ns: &str, id: &str, cgroup: &str, cmd: &[&str]) {
        let log = self.task_log_path(ns, id);
        let log_uri = format!("file://{}", log.display());
        let runc_root = self.runc_root.to_string_lossy().into_owned();
        let mut args = vec![
            "-n",
            ns,
            "run",
            "-d",
            "--runc-root",
            &runc_root,
            "--log-uri",
            &log_uri,
            "--cgroup",
            cgroup,
            &self.image_ref,
            id,
        ];
        args.extend_from_slice(cmd);
        self.ctr_ok(&args);
        self.wait_task_status(ns, id, "RUNNING", TASK_WAIT);
    }

    /// Status column of `ctr tasks ls` for `id` (e.g. "RUNNING", "STOPPED").
    pub fn task_status(&self, ns: &str, id: &str) -> Option<String> {
        let out = self.ctr(&["-n", ns, "tasks", "ls"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| f.get(2).unwrap_or(&"").to_string())
        })
    }

    /// pid of task `id` from `ctr tasks ls`.
    pub fn task_pid(&self, ns: &str, id: &str) -> Option<u32> {
        let out = self.ctr(&["-n", ns, "tasks", "ls"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().skip(1).find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.first() == Some(&id) {
                f.get(1).and_then(|p| p.parse().ok())
            } else {
                None
            }
        })
    }

    pub fn wait_task_status(&self, ns: &str, id: &str, want: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let st = self.task_status(ns, id);
            if st.as_deref() == Some(want) {
                return;
            }
            if start.elapsed() > timeout {
                panic!(
                    "task {ns}/{id} not {want} within {timeout:?} (status {st:?}); task log:\n{}\ncontainerd log:\n{}",
                    fs::read_to_string(self.task_log_path(ns, id)).unwrap_or_default(),
                    tail(&self.log, 20)
                );
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Where `run_task` sends the task's output.
    pub fn task_log_path(&self, ns: &str, id: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{ns}_{id}.log"))
    }

    pub fn task_log(&self, ns: &str, id: &str) -> String {
        fs::read_to_string(self.task_log_path(ns, id)).unwrap_or_default()
    }

    /// Wait until the task's log contains `needle` (e.g. memhog's "holding").
    pub fn wait_task_log(&self, ns: &str, id: &str, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.task_log(ns, id);
            if s.contains(needle) {
                return s;
            }
            if start.elapsed() > timeout {
                panic!("task {ns}/{id} log lacks {needle:?} after {timeout:?}: {s:?}");
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// The binary under test, pointed at this harness.
    pub fn kuke(&self) -> Command {
        self.kuke_via(&[])
    }

    /// The binary under test with the cgroup root taken from Kukeon's
    /// instance file, as on a real Kukeon host. When the run path has no
    /// instance file naming a root below this harness's, the harness's root
    /// stays set: kuke-tui's default `/kukeon` is the host's, never a test's.
    pub fn kuke_instance_root(&self) -> Command {
        let mut c = self.kuke();
        c.env_remove("KUKEON_LAYOUT");
        let instance = std::fs::read_to_string(self.run_path.join(".kukeon-instance.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
        let root = instance
            .as_ref()
            .and_then(|v| v["cgroupRoot"].as_str().map(str::to_string));
        if root.is_some_and(|r| r.starts_with(&self.cgroup_root)) {
            c.env_remove("KUKEON_CGROUP_ROOT");
        }
        c
    }

    /// The binary under test run through `prefix` (e.g. `setpriv ...`,
    /// `strace ...`; none when empty), pointed at this harness.
    pub fn kuke_via(&self, prefix: &[&str]) -> Command {
        let bin = env!("CARGO_BIN_EXE_kuke-tui");
        let mut c = match prefix.split_first() {
            None => Command::new(bin),
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(bin);
                c
            }
        };
        c.env("KUKEON_RUN_PATH", &self.run_path)
            .env("KUKEON_CONTAINERD_SOCKET", &self.socket)
            .env("KUKEON_CGROUP_ROOT", &self.cgroup_root)
            .env("KUKEON_HOST", self.daemon_host())
            // Space networks: never the host's CNI directories.
            .env("KUKEON_CNI_CONF_DIR", self.dir.join("cni/net.d"))
            .env("KUKEON_CNI_CACHE_DIR", self.dir.join("cni/cache"))
            .env("KUKEON_CNI_IPAM_DIR", self.dir.join("cni/networks"));
        c
    }

    /// Where the binary under test looks for kukeond: a private socket in
    /// the harness dir (absent unless a test starts the peer there), never
    /// the host's /run/kukeon.
    pub fn daemon_socket(&self) -> PathBuf {
        self.dir.join("kukeond.sock")
    }

    pub fn daemon_host(&self) -> String {
        format!("unix://{}", self.daemon_socket().display())
    }

    /// `kuke-tui <args>` to completion with stdin closed (a hang fails the
    /// test after `CMD_TIMEOUT`).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut c = self.kuke();
        c.args(args);
        run_cmd(c, None)
    }

    /// `kuke-tui <args>` with `input` on its stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut c = self.kuke();
        c.args(args);
        run_cmd(c, Some(input))
    }

    /// `kuke-tui <args>` that must succeed; returns its stdout.
    #[track_caller]
    pub fn run_ok(&self, args: &[&str]) -> String {
        ok_stdout(&self.run(args), &format!("kuke-tui {args:?}"))
    }

    /// `kuke-tui <args>` that must succeed and print JSON.
    #[track_caller]
    pub fn run_json(&self, args: &[&str]) -> serde_json::Value {
        json_of(&self.run_ok(args), &format!("kuke-tui {args:?}"))
    }

    /// `kuke-tui <args>` on a real pseudo-terminal (script(1) from
    /// util-linux), with `answer` and a newline typed on it; the terminal's
    /// text comes back as stdout.
    pub fn run_on_terminal(&self, args: &str, answer: &str) -> Output {
        let cmdline = format!("{} {args}", env!("CARGO_BIN_EXE_kuke-tui"));
        let mut c = Command::new("script");
        c.args(["-qec", &cmdline, "/dev/null"])
            .env("KUKEON_RUN_PATH", &self.run_path)
            .env("KUKEON_CONTAINERD_SOCKET", &self.socket)
            .env("KUKEON_CGROUP_ROOT", &self.cgroup_root)
            .env("KUKEON_HOST", self.daemon_host());
        run_cmd(c, Some(&format!("{answer}\n")))
    }

    /// Directories of cgroup `group` that exist, one per cgroup mount
    /// (v1 hierarchies and v2).
    pub fn cgroup_dirs(&self, group: &str) -> Vec<PathBuf> {
        cgroup_dirs(group)
    }

    /// Memory usage of `group`: v1 `memory.usage_in_bytes` in the memory
    /// hierarchy, else v2 `memory.current`.
    pub fn memory_usage(&self, group: &str) -> Option<u64> {
        memory_usage(group)
    }

    /// Best-effort check for leftovers of this harness (for self tests).
    /// Every namespace of this daemon, as `ctr namespaces ls -q` prints them.
    pub fn namespaces(&self) -> Vec<String> {
        self.ctr_ok(&["namespaces", "ls", "-q"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn leftover_shims(&self) -> Vec<u32> {
        shims_of(&self.socket)
    }

    /// Stops the daemon as an operator does (SIGTERM, SIGKILL after 10 s)
    /// and reaps it. Shims and their tasks keep running; `start_daemon`
    /// brings the daemon back on the same socket, config and state.
    pub fn stop_daemon(&mut self) {
        let Some(mut child) = self.daemon.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let started = Instant::now();
        while matches!(child.try_wait(), Ok(None)) {
            if started.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
            }
            sleep(Duration::from_millis(10));
        }
        let _ = child.wait();
    }

    /// Starts the daemon again after `stop_daemon` and waits until its
    /// socket accepts connections (its log is appended to).
    pub fn start_daemon(&mut self) {
        assert!(self.daemon.is_none(), "the daemon is already running");
        let log = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.log)
            .expect("open containerd log");
        let log_err = log.try_clone().expect("dup containerd log");
        let mut child = Command::new("containerd")
            .arg("--config")
            .arg(self.dir.join("config.toml"))
            .env("PATH", daemon_path())
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn containerd: {e}"));
        self.daemon_pid = child.id();
        let started = Instant::now();
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "containerd exited on restart ({status}):\n{}",
                    tail(&self.log, 30)
                );
            }
            if started.elapsed() > SOCKET_WAIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "restarted containerd did not listen within {SOCKET_WAIT:?}:\n{}",
                    tail(&self.log, 30)
                );
            }
            sleep(Duration::from_millis(5));
        }
        self.daemon = Some(child);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Never panic in here (it may run while unwinding a failed test).
        let alive = match self.daemon.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        };
        let mut namespaces = BTreeSet::new();
        if alive && self.socket.exists() {
            self.teardown_tasks(&mut namespaces);
        }

        // The daemon: SIGKILL (its state dies with the temp dir) and reap.
        if let Some(mut c) = self.daemon.take() {
            let _ = c.kill();
            let _ = c.wait();
        } else {
            // not our child (stale harness of a dead test process)
            let daemons = pids_with_arg(self.dir.join("config.toml").as_os_str());
            kill9(&daemons);
            wait_pids_gone(&daemons, Duration::from_secs(3));
        }

        // Shims the daemon left behind: their children (container inits) first.
        let shims = shims_of(&self.socket);
        if !shims.is_empty() {
            let mut victims = Vec::new();
            for s in &shims {
                victims.extend(children_of(*s));
            }
            kill9(&victims);
            kill9(&shims);
            wait_pids_gone(&shims, Duration::from_secs(3));
        }

        // Anything still living in our cgroup subtree.
        for _ in 0..3 {
            let procs = cgroup_procs(&self.cgroup_root);
            if procs.is_empty() {
                break;
            }
            kill9(&procs);
            sleep(Duration::from_millis(50));
        }

        self.clean_outside_dir(&mut namespaces);
        unmount_under(&self.dir);
        remove_cgroup_tree(&self.cgroup_root);
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            if e.kind() != ErrorKind::NotFound {
                eprintln!("harness: remove {}: {e}", self.dir.display());
            }
        }
    }
}

impl Harness {
    fn ctr_quiet(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .arg("--timeout")
            .arg("10s")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn teardown_tasks(&self, namespaces: &mut BTreeSet<String>) {
        let Some(nss) = self.ctr_quiet(&["namespaces", "ls", "-q"]) else {
            return;
        };
        for ns in nss.split_whitespace() {
            namespaces.insert(ns.to_string());
            let tasks: Vec<String> = self
                .ctr_quiet(&["-n", ns, "tasks", "ls", "-q"])
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect();
            for t in &tasks {
                self.ctr_quiet(&["-n", ns, "tasks", "kill", "-a", "-s", "SIGKILL", t]);
            }
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(3) {
                let running = self
                    .ctr_quiet(&["-n", ns, "tasks", "ls"])
                    .unwrap_or_default()
                    .lines()
                    .skip(1)
                    .any(|l| l.split_whitespace().nth(2) == Some("RUNNING"));
                if !running {
                    break;
                }
                sleep(Duration::from_millis(20));
            }
            for t in &tasks {
                self.ctr_quiet(&["-n", ns, "tasks", "rm", "-f", t]);
            }
            let containers = self
                .ctr_quiet(&["-n", ns, "containers", "ls", "-q"])
                .unwrap_or_default();
            for c in containers.split_whitespace() {
                self.ctr_quiet(&["-n", ns, "containers", "rm", c]);
            }
        }
    }

    /// containerd 1.6 leftovers outside the temp dir that are provably ours:
    /// shim sockets /run/containerd/s/sha256(<socket>/<ns>/<id>) and runc state
    /// /run/containerd/runc/<ns>/<id> whose state.json points into our dir.
    fn clean_outside_dir(&self, namespaces: &mut BTreeSet<String>) {
        let mut known: Vec<(String, String)> = Vec::new();
        let bundles = self.dir.join("state").join("io.containerd.runtime.v2.task");
        if let Ok(nss) = fs::read_dir(&bundles) {
            for ns in nss.flatten() {
                let ns_name = ns.file_name().to_string_lossy().into_owned();
                namespaces.insert(ns_name.clone());
                if let Ok(ids) = fs::read_dir(ns.path()) {
                    for id in ids.flatten() {
                        known.push((
                            ns_name.clone(),
                            id.file_name().to_string_lossy().into_owned(),
                        ));
                    }
                }
            }
        }
        let dir_prefix = format!("{}/", self.dir.display());
        for (ns, id) in &known {
            if let Some(h) = sha256_hex(&format!("{}/{ns}/{id}", self.socket.display())) {
                let s = Path::new("/run/containerd/s").join(h);
                if s.exists() {
                    let _ = fs::remove_file(&s);
                }
            }
            let st = Path::new("/run/containerd/runc").join(ns).join(id);
            if let Ok(text) = fs::read_to_string(st.join("state.json")) {
                if text.contains(&dir_prefix) {
                    let _ = fs::remove_dir_all(&st);
                }
            }
        }
        for ns in namespaces.iter() {
            // only removes it when empty
            let _ = fs::remove_dir(Path::new("/run/containerd/runc").join(ns));
        }
    }
}

// ---------------------------------------------------------------------------
// setup helpers

fn preflight() {
    let uid = fs::read_to_string("/proc/self/status").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(2).map(String::from)) // effective uid
    });
    if uid.as_deref() != Some("0") {
        panic!(
            "kuke-tui integration tests need root (effective uid {}): run scripts/setup.sh as root, then the tests as root",
            uid.unwrap_or_else(|| "?".into())
        );
    }
    let missing: Vec<&str> = ["containerd", "ctr", "runc", "containerd-shim-runc-v2"]
        .into_iter()
        .filter(|b| find_in_path(b, &daemon_path()).is_none())
        .collect();
    if !missing.is_empty() {
        panic!(
            "missing {}: run scripts/setup.sh as root",
            missing.join(", ")
        );
    }
}

fn daemon_path() -> String {
    let mut p = std::env::var("PATH").unwrap_or_default();
    for d in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        if !p.split(':').any(|x| x == d) {
            if !p.is_empty() {
                p.push(':');
            }
            p.push_str(d);
        }
    }
    p
}

fn find_in_path(bin: &str, path: &str) -> Option<PathBuf> {
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// Base for temp dirs: short enough for unix socket paths (108 bytes).
fn temp_base() -> PathBuf {
    let t = std::env::temp_dir();
    if t.as_os_str().len() <= 48 {
        t
    } else {
        PathBuf::from("/tmp")
    }
}

fn config_toml(dir: &Path, socket: &Path) -> String {
    let d = dir.display();
    let s = socket.display();
    let disabled = kuke_tui::runtime::daemon_config::disabled_plugins_line();
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
{disabled}

[grpc]
  address = "{s}"

[ttrpc]
  address = "{s}.ttrpc"

[debug]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#
    )
}

/// Build the test image once per test process (OnceLock) into a fixed file
/// under `CARGO_TARGET_TMPDIR` (kept for the process; nothing leaks into /tmp).
/// The build is deterministic and the script renames its output into place
/// atomically, so concurrent test processes rebuilding it are harmless.
fn image_tar() -> PathBuf {
    IMAGE_TAR
        .get_or_init(|| {
            let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kuke-tui-test-image");
            fs::create_dir_all(&out_dir).expect("create image dir");
            let out = out_dir.join("busybox-test.oci.tar");
            let script = Path::new(MANIFEST_DIR).join("scripts/build-test-image.sh");
            let started = Instant::now();
            let res = Command::new("bash")
                .arg(&script)
                .arg(&out)
                .arg(IMAGE_REF)
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
            assert!(
                res.status.success(),
                "{} failed ({}): {}{} (run scripts/setup.sh as root)",
                script.display(),
                res.status,
                String::from_utf8_lossy(&res.stdout),
                String::from_utf8_lossy(&res.stderr)
            );
            if std::env::var_os("KUKE_TUI_HARNESS_VERBOSE").is_some() {
                eprintln!("harness: image built in {:?}", started.elapsed());
            }
            out
        })
        .clone()
}

/// Clean up harnesses of test processes that died without dropping them:
/// temp dirs `kuke-tui-test-*` whose owner pid is gone. Runs once per process.
fn reap_stale() {
    let Ok(rd) = fs::read_dir(temp_base()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("kuke-tui-test-") {
            continue;
        }
        let dir = e.path();
        let Ok(owner) = fs::read_to_string(dir.join(OWNER_FILE)) else {
            continue;
        };
        let mut lines = owner.lines();
        let Some(pid) = lines.next().and_then(|l| l.trim().parse::<u32>().ok()) else {
            continue;
        };
        let Some(cgroup_root) = lines.next().map(|l| l.trim().to_string()) else {
            continue;
        };
        if !pid_gone(pid) || !cgroup_root.starts_with("/kuke-tui-test-") {
            continue;
        }
        eprintln!(
            "harness: reaping stale harness {} (owner pid {pid} is gone)",
            dir.display()
        );
        let socket = dir.join("containerd.sock");
        // Drop does the work; no Child, so it kills the daemon by its command line.
        drop(Harness {
            socket,
            run_path: dir.join("run"),
            cgroup_root,
            image_tar: PathBuf::new(),
            image_ref: IMAGE_REF.to_string(),
            daemon_pid: 0,
            log: dir.join("containerd.log"),
            runc_root: dir.join("runc"),
            daemon: None,
            dir,
        });
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let s = fs::read_to_string(path).unwrap_or_default();
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

fn sha256_hex(s: &str) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(s.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(String::from)
}

// ---------------------------------------------------------------------------
// processes

/// pids of containerd shims of the daemon at `socket` (started with
/// `-address <socket>`).
pub fn shims_of(socket: &Path) -> Vec<u32> {
    pids_with_arg(socket.as_os_str())
        .into_iter()
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let argv0 = c.split(|b| *b == 0).next().unwrap_or(&[]);
                    String::from_utf8_lossy(argv0).contains("containerd-shim")
                })
                .unwrap_or(false)
        })
        .collect()
}

/// pids whose command line has `arg` as one whole argument.
fn pids_with_arg(arg: &std::ffi::OsStr) -> Vec<u32> {
    use std::os::unix::ffi::OsStrExt;
    let want = arg.as_bytes();
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(cmd) = fs::read(e.path().join("cmdline")) {
            if cmd.split(|b| *b == 0).any(|a| a == want) {
                out.push(pid);
            }
        }
    }
    out
}

fn stat_fields(pid: u32) -> Option<(char, u32)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    Some((state, ppid))
}

fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
            if stat_fields(pid).map(|(_, pp)| pp) == Some(parent) {
                out.push(pid);
            }
        }
    }
    out
}

/// true when the pid does not exist or is a zombie.
pub fn pid_gone(pid: u32) -> bool {
    match stat_fields(pid) {
        None => true,
        Some((state, _)) => state == 'Z' || state == 'X',
    }
}

fn wait_pids_gone(pids: &[u32], timeout: Duration) {
    let start = Instant::now();
    while start.elapsed() < timeout && !pids.iter().all(|p| pid_gone(*p)) {
        sleep(Duration::from_millis(10));
    }
}

/// SIGKILL by pid (std has no kill(2); the shell builtin does it).
fn kill9(pids: &[u32]) {
    let pids: Vec<String> = pids
        .iter()
        .filter(|p| **p > 1)
        .map(|p| p.to_string())
        .collect();
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("sh")
        .arg("-c")
        .arg("kill -9 \"$@\" 2>/dev/null; exit 0")
        .arg("sh")
        .args(&pids)
        .stdin(Stdio::null())
        .status();
}

// ---------------------------------------------------------------------------
// mounts and cgroups

/// Mount points (unescaped) from /proc/self/mountinfo with their fs type,
/// mount root and super options.
fn mountinfo() -> Vec<(PathBuf, String, String, String)> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        out.push((
            PathBuf::from(unescape(pre[4])),
            post[0].to_string(),
            unescape(pre[3]),
            post[2].to_string(),
        ));
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every cgroup hierarchy mounted (v1 ones and the v2 one), deduplicated.
pub fn cgroup_mounts() -> Vec<CgroupMount> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (mp, fstype, root, opts) in mountinfo() {
        let v2 = match fstype.as_str() {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        // the same hierarchy can be mounted more than once; keep the first
        let key = if v2 {
            "cgroup2".to_string()
        } else {
            let mut o: Vec<&str> = opts
                .split(',')
                .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                .collect();
            o.sort();
            o.join(",")
        };
        if !seen.insert(key) {
            continue;
        }
        let controllers = if v2 {
            fs::read_to_string(mp.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect()
        } else {
            opts.split(',')
                .filter(|o| {
                    !matches!(
                        *o,
                        "rw" | "ro" | "noprefix" | "clone_children" | "xattr" | "cpuset_v2_mode"
                    ) && !o.starts_with("release_agent")
                })
                .map(String::from)
                .collect()
        };
        out.push(CgroupMount {
            mount_point: mp,
            root,
            v2,
            controllers,
        });
    }
    out
}

/// Existing directories of `group` in every cgroup hierarchy.
pub fn cgroup_dirs(group: &str) -> Vec<PathBuf> {
    cgroup_mounts()
        .iter()
        .map(|m| m.path_of(group))
        .filter(|p| p.is_dir())
        .collect()
}

/// v1 `memory.usage_in_bytes` in the memory hierarchy, else v2 `memory.current`.
pub fn memory_usage(group: &str) -> Option<u64> {
    let mounts = cgroup_mounts();
    let read = |p: PathBuf| -> Option<u64> { fs::read_to_string(p).ok()?.trim().parse().ok() };
    if let Some(m) = mounts.iter().find(|m| !m.v2 && m.has_controller("memory")) {
        if let Some(v) = read(m.path_of(group).join("memory.usage_in_bytes")) {
            return Some(v);
        }
    }
    mounts
        .iter()
        .filter(|m| m.v2)
        .find_map(|m| read(m.path_of(group).join("memory.current")))
}

/// pids in `group` or any descendant, in any hierarchy.
pub fn cgroup_procs(group: &str) -> Vec<u32> {
    let mut set = BTreeSet::new();
    for d in cgroup_dirs(group) {
        walk_dirs(&d, &mut |p| {
            if let Ok(s) = fs::read_to_string(p.join("cgroup.procs")) {
                set.extend(s.split_whitespace().filter_map(|x| x.parse::<u32>().ok()));
            }
        });
    }
    set.into_iter().collect()
}

fn walk_dirs(d: &Path, f: &mut dyn FnMut(&Path)) {
    f(d);
    if let Ok(rd) = fs::read_dir(d) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk_dirs(&e.path(), f);
            }
        }
    }
}

/// rmdir `dir` and its sub-groups bottom-up; true when it is gone.
fn rmdir_tree(dir: &Path) -> bool {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                rmdir_tree(&e.path());
            }
        }
    }
    match fs::remove_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == ErrorKind::NotFound,
    }
}

/// Remove `group` (and below) from every hierarchy, retrying EBUSY for ~3 s.
/// Refuses the empty path and anything outside a harness root.
pub fn remove_cgroup_tree(group: &str) {
    let g = group.trim_matches('/');
    if g.is_empty() || !g.starts_with("kuke-tui-test-") {
        eprintln!("harness: refusing to remove cgroup {group:?}");
        return;
    }
    let start = Instant::now();
    loop {
        let left: Vec<PathBuf> = cgroup_dirs(group)
            .into_iter()
            .filter(|d| !rmdir_tree(d))
            .collect();
        if left.is_empty() {
            return;
        }
        if start.elapsed() > Duration::from_secs(3) {
            eprintln!("harness: cgroup dirs not removable: {left:?}");
            return;
        }
        kill9(&cgroup_procs(group));
        sleep(Duration::from_millis(30));
    }
}

/// Unmount everything mounted at or below `dir`, deepest first.
fn unmount_under(dir: &Path) {
    for attempt in 0..5 {
        let mut mps: Vec<PathBuf> = mountinfo()
            .into_iter()
            .map(|(mp, ..)| mp)
            .filter(|mp| mp.starts_with(dir))
            .collect();
        if mps.is_empty() {
            return;
        }
        mps.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        mps.dedup();
        for mp in &mps {
            let ok = Command::new("umount")
                .arg(mp)
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if !ok {
                let _ = Command::new("umount")
                    .arg("-l")
                    .arg(mp)
                    .stderr(Stdio::null())
                    .status();
            }
        }
        if attempt == 4 {
            eprintln!("harness: could not unmount {mps:?}");
        }
    }
}

/// The item called `name` in a `get realms -o json` listing.
pub fn realm_item<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list["items"]
        .as_array()
        .expect("an items array")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed: {list}"))
}

// ---------------------------------------------------------------------------
// running the binary under test

/// Runs `c` to completion with `input` on its stdin (or stdin closed) and
/// its output captured. A command still running after `CMD_TIMEOUT` is
/// SIGKILLed and fails the test (see `wait_cmd`).
#[track_caller]
pub fn run_cmd(c: Command, input: Option<&str>) -> Output {
    let what = describe(&c);
    wait_cmd(spawn_cmd(c, input), &what)
}

/// Spawns `c` with stdout and stderr piped (for `wait_cmd`) and `input`
/// written to its stdin (then closed), or with stdin closed.
#[track_caller]
pub fn spawn_cmd(mut c: Command, input: Option<&str>) -> Child {
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", describe(&c)));
    if let Some(text) = input {
        let mut stdin = child.stdin.take().unwrap();
        // The command may fail (or be killed) before reading: a broken pipe
        // is fine then.
        if let Err(e) = stdin.write_all(text.as_bytes()) {
            assert_eq!(e.kind(), ErrorKind::BrokenPipe, "write stdin: {e}");
        }
        // Dropped here: the command sees the end of its input.
    }
    child
}

/// Waits for a child of `spawn_cmd` and collects its output. One still
/// running after `CMD_TIMEOUT` is SIGKILLed (by its pid) and fails the test
/// with its stderr. A watchdog thread does the kill, so the time a command
/// takes is not stretched by polling.
#[track_caller]
pub fn wait_cmd(child: Child, what: &str) -> Output {
    let pid = child.id();
    let (done, wake) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wake.recv_timeout(CMD_TIMEOUT).is_err() {
            kill9(&[pid]);
            return true;
        }
        false
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait {what}: {e}"));
    let _ = done.send(());
    let hung = watchdog.join().unwrap();
    assert!(
        !hung,
        "{what} hung: no exit within {CMD_TIMEOUT:?} (killed); stderr: {}",
        stderr_of(&out)
    );
    out
}

/// `program [args...]` of a command, for messages.
fn describe(c: &Command) -> String {
    format!(
        "{} {:?}",
        c.get_program().to_string_lossy(),
        c.get_args().collect::<Vec<_>>()
    )
}

/// `create registry-credential <realm> --server <server> --username <user>`
/// followed by `extra` (the password source).
pub fn credential_args<'a>(
    realm: &'a str,
    server: &'a str,
    user: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "create",
        "registry-credential",
        realm,
        "--server",
        server,
        "--username",
        user,
    ];
    args.extend_from_slice(extra);
    args
}

/// The command's stderr as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts that the command (`what`) succeeded; returns its stdout, which
/// must be UTF-8.
#[track_caller]
pub fn ok_stdout(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr_of(out)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap_or_else(|e| panic!("{what}: stdout is not UTF-8 ({e})"))
}

/// `text` parsed as JSON (`what` printed it).
#[track_caller]
pub fn json_of(text: &str, what: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}):\n{text}"))
}

/// A refused or failed command: exit `code`, exactly one line on stderr
/// holding every needle, no panic ("internal error") and no raw escape.
/// Returns that line.
#[track_caller]
pub fn one_line_error(out: &Output, code: i32, needles: &[&str]) -> String {
    one_line_error_of("kuke-tui", out, code, needles)
}

/// `one_line_error` for the command `what` (named in the failure).
#[track_caller]
pub fn one_line_error_of(what: &str, out: &Output, code: i32, needles: &[&str]) -> String {
    let err = stderr_of(out);
    assert_eq!(out.status.code(), Some(code), "{what}: stderr: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: exactly one line: {err:?}");
    assert!(!err.contains("internal error"), "{what}: a panic: {err}");
    assert!(!err.contains('\u{1b}'), "{what}: no raw escapes: {err:?}");
    for needle in needles {
        assert!(err.contains(needle), "{what}: {err:?} lacks {needle:?}");
    }
    if std::env::var_os("KUKE_TUI_HARNESS_VERBOSE").is_some() {
        eprint!("harness: error line: {err}");
    }
    err
}
