//! Adapter tests against a private containerd (never the host daemon at
//! /run/containerd): each test that needs one starts its own in a temp dir
//! and a guard stops it by pid, even when the test panics.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

use super::*;

const TIMEOUT: Duration = Duration::from_secs(5);
const IMAGE_REF: &str = "kuke-tui.test/busybox:1";
const INDEX_REF: &str = "kuke-tui.test/busybox-index:1";

/// A private containerd; dropping it removes leftover tasks, stops the daemon
/// by pid, and removes the cgroup tree the test caused.
struct Daemon {
    dir: tempfile::TempDir,
    child: Option<Child>,
    socket: PathBuf,
    /// Top-level cgroup name (under every hierarchy) to remove on drop.
    cgroup: Option<String>,
}

impl Daemon {
    fn start() -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("kuke-rt-")
            .tempdir()
            .expect("temp dir");
        let base = dir.path();
        let socket = base.join("c.sock");
        let config = format!(
            "version = 2\nroot = \"{root}\"\nstate = \"{state}\"\n\
             {disabled}\n\n\
             [grpc]\n  address = \"{sock}\"\n\n\
             [ttrpc]\n  address = \"{sock}.ttrpc\"\n\n\
             [debug]\n  address = \"\"\n\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{opt}\"\n",
            opt = base.join("opt").display(),
            root = base.join("root").display(),
            state = base.join("state").display(),
            sock = socket.display(),
            disabled = super::daemon_config::disabled_plugins_line(),
        );
        let config_path = base.join("config.toml");
        fs::write(&config_path, config).expect("write config");
        let log = fs::File::create(base.join("containerd.log")).expect("log file");
        let child = Command::new("containerd")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log clone"))
            .stderr(log)
            .spawn()
            .expect("spawn containerd (is it installed?)");
        let mut daemon = Daemon {
            dir,
            child: Some(child),
            socket,
            cgroup: None,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !daemon.socket.exists() {
            let exited = daemon
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() > deadline {
                panic!("containerd did not come up: {exited:?}\n{}", daemon.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path().join("containerd.log")).unwrap_or_default()
    }

    fn ctr_output(&self, ns: &str, args: &[&str]) -> std::process::Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["--timeout", "30s", "-n", ns])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run ctr")
    }

    /// Runs ctr and returns stdout; panics with stderr on failure.
    fn ctr(&self, ns: &str, args: &[&str]) -> String {
        let out = self.ctr_output(ns, args);
        assert!(
            out.status.success(),
            "ctr {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn ctr_lines(&self, ns: &str, args: &[&str]) -> Vec<String> {
        let out = self.ctr_output(ns, args);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Stops the daemon (idempotent): force-removes leftover tasks first so
    /// no shim or container process outlives the test.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            for ns in self.ctr_lines("default", &["namespaces", "ls", "-q"]) {
                for id in self.ctr_lines(&ns, &["tasks", "ls", "-q"]) {
                    let _ = self.ctr_output(&ns, &["tasks", "rm", "-f", &id]);
                }
            }
            // SIGTERM by pid, then SIGKILL if it lingers.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
        }
        let _ = child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if let Some(name) = &self.cgroup {
            let mut roots = vec![PathBuf::from("/sys/fs/cgroup").join(name)];
            if let Ok(entries) = fs::read_dir("/sys/fs/cgroup") {
                roots.extend(entries.flatten().map(|e| e.path().join(name)));
            }
            for root in roots.iter().filter(|r| r.is_dir()) {
                let _ = rmdir_tree(root);
            }
        }
    }
}

/// Removes a cgroup directory tree bottom-up (cgroup dirs only rmdir).
fn rmdir_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)?.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            rmdir_tree(&entry.path())?;
        }
    }
    fs::remove_dir(dir)
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("digest")
        .to_string()
}

/// Sizes and digests of the test image's blobs.
struct TestImage {
    tar: PathBuf,
    layer: (String, u64),
    config: (String, u64),
    manifest: (String, u64),
}

/// Adds a file to an OCI layout's blob dir; returns (digest, size).
fn add_blob(layout: &Path, file: &Path) -> (String, u64) {
    let hex = sha256_hex(file);
    let size = fs::metadata(file).expect("blob").len();
    fs::copy(file, layout.join("blobs/sha256").join(&hex)).expect("copy blob");
    (format!("sha256:{hex}"), size)
}

fn write_json(path: &Path, value: &serde_json::Value) {
    fs::write(path, serde_json::to_vec(value).expect("json")).expect("write json");
}

/// Builds a one-layer OCI image layout tar holding busybox (sh and sleep
/// as symlinks), whose default command is `sleep 3600`.
fn build_image(work: &Path) -> TestImage {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox missing: apt-get install -y busybox-static"
    );
    let rootfs = work.join("rootfs");
    fs::create_dir_all(rootfs.join("bin")).unwrap();
    fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for link in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(link)).unwrap();
    }
    let layer_tar = work.join("layer.tar");
    let status = Command::new("tar")
        .args(["--owner=0", "--group=0", "--numeric-owner", "-C"])
        .arg(&rootfs)
        .arg("-cf")
        .arg(&layer_tar)
        .arg("bin")
        .status()
        .expect("tar");
    assert!(status.success());

    let layout = work.join("layout");
    fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let layer = add_blob(&layout, &layer_tar);

    let config_file = work.join("config.json");
    write_json(
        &config_file,
        &json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sleep", "3600"]},
            "rootfs": {"type": "layers", "diff_ids": [layer.0]},
        }),
    );
    let config = add_blob(&layout, &config_file);

    let manifest_file = work.join("manifest.json");
    write_json(
        &manifest_file,
        &json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0, "size": config.1},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.0, "size": layer.1}],
        }),
    );
    let manifest = add_blob(&layout, &manifest_file);

    write_json(
        &layout.join("index.json"),
        &json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest.0,
                "size": manifest.1,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"org.opencontainers.image.ref.name": IMAGE_REF},
            }],
        }),
    );
    write_json(
        &layout.join("oci-layout"),
        &json!({"imageLayoutVersion": "1.0.0"}),
    );
    let tar = work.join("image.tar");
    let status = Command::new("tar")
        .args(["--owner=0", "--group=0", "--numeric-owner", "-C"])
        .arg(&layout)
        .arg("-cf")
        .arg(&tar)
        .args(["oci-layout", "index.json", "blobs"])
        .status()
        .expect("tar");
    assert!(status.success());
    TestImage {
        tar,
        layer,
        config,
        manifest,
    }
}

/// Parses ctr's human size ("1.9 MiB") back to bytes and the unit's size.
fn parse_ctr_size(num: &str, unit: &str) -> (f64, f64) {
    let mult = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => panic!("unexpected ctr size unit {other}"),
    };
    (num.parse::<f64>().expect("size number") * mult, mult)
}

fn assert_one_line(e: &RuntimeError) {
    assert!(!e.to_string().contains('\n'), "multi-line error: {e:?}");
}

/// The handle must be shareable across tasks, and its futures spawnable.
#[allow(dead_code)]
fn handle_is_send_sync_clone(rt: &Runtime) {
    fn check<T: Send + Sync + Clone + 'static>() {}
    fn send<T: Send>(_: T) {}
    check::<Runtime>();
    send(rt.list_images("x"));
    send(rt.list_containers("x"));
    send(rt.image_size(
        "x",
        &ImageInfo {
            name: String::new(),
            digest: String::new(),
            media_type: String::new(),
            created_at: None,
            labels: BTreeMap::new(),
        },
    ));
    send(rt.wait_task("x", "y", TIMEOUT));
    send(rt.subscribe_events(Vec::new()));
}

#[test]
fn error_messages_are_one_line_and_name_the_socket() {
    let sock = Path::new("/run/containerd/containerd.sock");
    let e = RuntimeError::from_io(sock, &io::Error::from_raw_os_error(libc::ENOENT));
    assert_eq!(e.kind, RuntimeErrorKind::Unavailable);
    assert_eq!(
        e.to_string(),
        "cannot reach containerd at /run/containerd/containerd.sock: No such file or directory; \
         start containerd or pass --containerd-socket / KUKEON_CONTAINERD_SOCKET"
    );
    let e = RuntimeError::from_io(sock, &io::Error::from_raw_os_error(libc::EACCES));
    assert_eq!(e.kind, RuntimeErrorKind::PermissionDenied);
    assert_eq!(
        e.to_string(),
        "permission denied on /run/containerd/containerd.sock: run kuke-tui as root (sudo)"
    );
    let e = RuntimeError::timeout(sock, Duration::from_secs(5), "list images in x");
    assert_eq!(
        e.to_string(),
        "containerd at /run/containerd/containerd.sock did not answer within 5s (list images in x); \
         check that the daemon is healthy or raise --timeout"
    );
    let cases = [
        (tonic::Code::NotFound, RuntimeErrorKind::NotFound),
        (tonic::Code::AlreadyExists, RuntimeErrorKind::AlreadyExists),
        (
            tonic::Code::FailedPrecondition,
            RuntimeErrorKind::FailedPrecondition,
        ),
        (tonic::Code::DeadlineExceeded, RuntimeErrorKind::Timeout),
        (tonic::Code::Unavailable, RuntimeErrorKind::Unavailable),
        (tonic::Code::Internal, RuntimeErrorKind::Other),
    ];
    for (code, kind) in cases {
        let status = tonic::Status::new(code, "first line\nsecond line");
        let e = RuntimeError::from_status(sock, "some call", &status);
        assert_eq!(e.kind, kind, "{code:?}");
        assert_one_line(&e);
    }
    let e = RuntimeError::from_status(
        sock,
        "delete namespace x",
        &tonic::Status::not_found("gone"),
    );
    assert_eq!(e.to_string(), "delete namespace x: gone");
}

#[test]
fn request_rejects_bad_namespace_without_panicking() {
    assert!(request((), "kukeon-main").is_ok());
    for bad in ["bad\nns", "", "ünïcode", "nul\0ns", "tab\tns", "sp ace"] {
        let e = request((), bad).unwrap_err();
        assert_eq!(e.kind, RuntimeErrorKind::Other);
        assert_one_line(&e);
    }
}

#[tokio::test]
async fn missing_socket_is_unavailable_fast() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("missing.sock");
    let t0 = Instant::now();
    let err = Runtime::connect(&sock, TIMEOUT).await.unwrap_err();
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(500), "took {took:?}");
    assert_eq!(err.kind, RuntimeErrorKind::Unavailable, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&sock.display().to_string()), "{msg}");
    assert!(msg.contains("No such file or directory"), "{msg}");
    assert!(msg.contains("KUKEON_CONTAINERD_SOCKET"), "{msg}");
    assert_one_line(&err);
}

#[tokio::test]
async fn silent_socket_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("silent.sock");
    // Bound but never accepted or answered: the kernel queues the connect.
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let timeout = Duration::from_millis(500);
    let t0 = Instant::now();
    let err = match Runtime::connect(&sock, timeout).await {
        Err(e) => e,
        Ok(rt) => rt.version().await.unwrap_err(),
    };
    let took = t0.elapsed();
    assert!(took < timeout + Duration::from_secs(1), "took {took:?}");
    assert_eq!(err.kind, RuntimeErrorKind::Timeout, "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&sock.display().to_string()), "{msg}");
    assert!(msg.contains("did not answer within 500ms"), "{msg}");
    drop(listener);
}

#[tokio::test]
async fn namespaces_version_events_and_daemon_loss() {
    let mut daemon = Daemon::start();
    let rt = Runtime::connect(&daemon.socket, TIMEOUT)
        .await
        .expect("connect");
    assert_eq!(rt.socket(), daemon.socket.as_path());
    let version = rt.version().await.expect("version");
    // 1.6 here, 1.7 and 2.x (`2.1.9+unknown`) on newer hosts.
    let major: u32 = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("version {version:?} has no major number"));
    assert!(major >= 1, "version {version}");

    let ns = format!("kuke-tui-rt-{}-ns", std::process::id());
    let labels = BTreeMap::from([("kukeon.io/realm".to_string(), "main".to_string())]);
    assert!(rt.create_namespace(&ns, &labels).await.expect("create"));
    assert!(!rt
        .create_namespace(&ns, &labels)
        .await
        .expect("create again"));
    let listed = rt.list_namespaces().await.expect("list");
    let info = listed.iter().find(|n| n.name == ns).expect("listed");
    assert_eq!(info.labels, labels);
    // An empty namespace answers empty lists.
    assert!(rt.list_images(&ns).await.unwrap().is_empty());
    assert!(rt.list_containers(&ns).await.unwrap().is_empty());
    assert!(rt.list_tasks(&ns).await.unwrap().is_empty());
    assert!(rt.list_leases(&ns).await.unwrap().is_empty());
    assert!(rt.list_content(&ns).await.unwrap().is_empty());
    assert!(rt.delete_namespace(&ns).await.expect("delete"));
    assert!(!rt.delete_namespace(&ns).await.expect("delete again"));
    assert!(!rt
        .list_namespaces()
        .await
        .unwrap()
        .iter()
        .any(|n| n.name == ns));

    // Bad namespace names are errors, never panics.
    for bad in ["bad\nns", ""] {
        let e = rt
            .create_namespace(bad, &BTreeMap::new())
            .await
            .unwrap_err();
        assert_one_line(&e);
        assert!(rt.list_images(bad).await.is_err());
        assert!(rt.delete_namespace(bad).await.is_err());
    }

    // Events: subscribe returns only once an event arrives, so the stream
    // runs in its own task while namespaces are created until one shows up.
    let events = rt.subscribe_events(vec![r#"topic~="/namespaces/""#.to_string()]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        while let Some(ev) = events.next().await {
            if tx.send(ev).is_err() {
                break;
            }
        }
    });
    let mut created = Vec::new();
    let mut seen = None;
    for i in 0..50 {
        let name = format!("{ns}-ev{i}");
        assert!(rt.create_namespace(&name, &BTreeMap::new()).await.unwrap());
        created.push(name);
        if let Ok(Some(ev)) = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
            seen = Some(ev.expect("event"));
            break;
        }
    }
    reader.abort();
    let ev = seen.expect("a /namespaces/create event");
    assert_eq!(ev.topic, "/namespaces/create");
    assert!(created.contains(&ev.namespace), "{ev:?}");
    assert!(ev.timestamp.is_some());
    assert!(ev.event.is_some());
    for name in &created {
        assert!(rt.delete_namespace(name).await.unwrap());
    }

    // Losing the daemon turns into Unavailable naming the socket, quickly.
    daemon.stop();
    let t0 = Instant::now();
    let err = rt.version().await.unwrap_err();
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(err.kind, RuntimeErrorKind::Unavailable, "{err}");
    assert!(
        err.to_string()
            .contains(&daemon.socket.display().to_string()),
        "{err}"
    );
    assert_one_line(&err);
}

#[tokio::test]
async fn image_container_task_lifecycle_and_teardown() {
    let mut daemon = Daemon::start();
    let pid = std::process::id();
    let cgroup_top = format!("kuke-tui-rt-{pid}");
    daemon.cgroup = Some(cgroup_top.clone());
    let rt = Runtime::connect(&daemon.socket, TIMEOUT)
        .await
        .expect("connect");
    let ns = format!("kuke-tui-rt-{pid}-life");
    assert!(rt.create_namespace(&ns, &BTreeMap::new()).await.unwrap());

    // Image: import, list, size (== ctr images ls SIZE).
    let work = daemon.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let img = build_image(&work);
    daemon.ctr(
        &ns,
        &[
            "images",
            "import",
            "--all-platforms",
            "--index-name",
            INDEX_REF,
            img.tar.to_str().unwrap(),
        ],
    );
    let images = rt.list_images(&ns).await.unwrap();
    assert_eq!(images.len(), 2, "{images:?}");
    let image = images.iter().find(|i| i.name == IMAGE_REF).expect("image");
    let index = images
        .iter()
        .find(|i| i.name == INDEX_REF)
        .expect("index image");
    assert_eq!(index.media_type, "application/vnd.oci.image.index.v1+json");
    assert_eq!(image.name, IMAGE_REF);
    assert!(image.digest.starts_with("sha256:"));
    assert!(image.created_at.is_some());
    let size = rt.image_size(&ns, image).await.unwrap().expect("size");
    let expected = img.layer.1 + img.config.1;
    // Target is the manifest (ctr import unwraps a one-entry index) or the
    // index itself; either way the walk adds the blobs it passes through.
    if image.digest == img.manifest.0 {
        assert_eq!(size, expected + img.manifest.1);
    } else {
        assert!(size > expected + img.manifest.1);
    }
    // The index image walks index -> amd64 manifest -> config + layer.
    let index_size = rt
        .image_size(&ns, index)
        .await
        .unwrap()
        .expect("index size");
    let index_blob = rt
        .list_content(&ns)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.digest == index.digest)
        .expect("index blob");
    assert_eq!(index_size, index_blob.size + img.manifest.1 + expected);
    let listing = daemon.ctr(&ns, &["images", "ls"]);
    for (name, ours) in [(IMAGE_REF, size), (INDEX_REF, index_size)] {
        let row: Vec<&str> = listing
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .expect("ctr row")
            .split_whitespace()
            .collect();
        let (ctr_bytes, unit) = parse_ctr_size(row[3], row[4]);
        assert!(
            (ours as f64 - ctr_bytes).abs() <= 0.05 * unit + 1.0,
            "{name}: ours {ours} vs ctr {} {}",
            row[3],
            row[4]
        );
    }
    // A missing manifest blob means "cannot size", not an error.
    let ghost = ImageInfo {
        digest: format!("sha256:{}", "0".repeat(64)),
        ..image.clone()
    };
    assert_eq!(rt.image_size(&ns, &ghost).await.unwrap(), None);

    // Non-empty namespace: delete is refused with FailedPrecondition.
    let e = rt.delete_namespace(&ns).await.unwrap_err();
    assert_eq!(e.kind, RuntimeErrorKind::FailedPrecondition, "{e}");

    // Container + task through ctr, in our own cgroup and runc root.
    let cgroup = format!("/{cgroup_top}/t1");
    let runc_root = daemon.path().join("runc");
    daemon.ctr(
        &ns,
        &[
            "run",
            "-d",
            "--null-io",
            "--runc-root",
            runc_root.to_str().unwrap(),
            "--cgroup",
            &cgroup,
            "--label",
            "kukeon.io/cell=t1",
            IMAGE_REF,
            "t1",
        ],
    );
    let containers = rt.list_containers(&ns).await.unwrap();
    assert_eq!(containers.len(), 1, "{containers:?}");
    let c = &containers[0];
    assert_eq!(c.id, "t1");
    assert_eq!(c.image, IMAGE_REF);
    assert_eq!(
        c.labels.get("kukeon.io/cell").map(String::as_str),
        Some("t1")
    );
    assert_eq!(c.cgroups_path.as_deref(), Some(cgroup.as_str()));
    assert_eq!(c.snapshotter, "overlayfs");
    assert_eq!(c.snapshot_key, "t1");
    assert_eq!(c.runtime_name, "io.containerd.runc.v2");
    assert!(c.created_at.is_some());

    let tasks = rt.list_tasks(&ns).await.unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let t = &tasks[0];
    assert_eq!(t.container_id, "t1");
    assert_eq!(t.status, TaskStatus::Running);
    assert!(t.pid > 0);
    assert_eq!(t.exit_status, None);
    assert_eq!(t.exited_at, None);
    let procs = fs::read_to_string(format!("/sys/fs/cgroup/pids{cgroup}/cgroup.procs"))
        .or_else(|_| fs::read_to_string(format!("/sys/fs/cgroup{cgroup}/cgroup.procs")))
        .expect("task cgroup");
    assert!(
        procs.lines().any(|l| l.trim() == t.pid.to_string()),
        "{procs}"
    );

    // A live task is not deleted, and waiting is bounded by `max`.
    assert!(rt.delete_task(&ns, "t1").await.is_err());
    let t0 = Instant::now();
    assert_eq!(
        rt.wait_task(&ns, "t1", Duration::from_millis(300))
            .await
            .unwrap(),
        None
    );
    assert!(t0.elapsed() < Duration::from_secs(2));

    // Teardown: SIGTERM (sleep as pid 1 ignores it), then SIGKILL.
    rt.kill_task(&ns, "t1", 15, false).await.unwrap();
    let mut status = rt
        .wait_task(&ns, "t1", Duration::from_secs(1))
        .await
        .unwrap();
    if status.is_none() {
        rt.kill_task(&ns, "t1", 9, true).await.unwrap();
        status = rt
            .wait_task(&ns, "t1", Duration::from_secs(10))
            .await
            .unwrap();
    }
    let status = status.expect("task exited");
    let tasks = rt.list_tasks(&ns).await.unwrap();
    assert_eq!(tasks[0].status, TaskStatus::Stopped);
    assert_eq!(tasks[0].exit_status, Some(status));
    assert!(tasks[0].exited_at.is_some());
    let e = rt.resume_task(&ns, "t1").await.unwrap_err();
    assert_one_line(&e);
    assert!(rt.delete_task(&ns, "t1").await.unwrap());
    assert!(!rt.delete_task(&ns, "t1").await.unwrap());
    assert!(rt.list_tasks(&ns).await.unwrap().is_empty());
    assert!(rt
        .kill_task(&ns, "t1", 9, false)
        .await
        .unwrap_err()
        .is_not_found());

    // Snapshots: the container's active one and the committed layer. Looked
    // at while the container still holds its snapshot: once the container is
    // gone, containerd's garbage collector may take the snapshot first.
    let snapshotters = rt.snapshotters().await.unwrap();
    assert!(
        snapshotters.iter().any(|s| s == "overlayfs"),
        "{snapshotters:?}"
    );
    let snaps = rt.list_snapshots(&ns, "overlayfs").await.unwrap();
    let active = snaps.iter().find(|s| s.key == "t1").expect("t1 snapshot");
    assert_eq!(active.kind, "Active");
    let parent = active.parent.clone().expect("parent");
    let layer_snap = snaps
        .iter()
        .find(|s| s.key == parent)
        .expect("layer snapshot");
    assert_eq!(layer_snap.kind, "Committed");
    assert_eq!(layer_snap.parent, None);
    let e = rt
        .remove_snapshot(&ns, "overlayfs", &parent)
        .await
        .unwrap_err();
    assert_eq!(e.kind, RuntimeErrorKind::FailedPrecondition, "{e}");
    remove_all_snapshots(&rt, &ns, &snapshotters).await;
    assert!(!rt.remove_snapshot(&ns, "overlayfs", "t1").await.unwrap());
    assert!(rt.delete_container(&ns, "t1").await.unwrap());
    assert!(!rt.delete_container(&ns, "t1").await.unwrap());

    // Content: the three blobs with their sizes; delete one.
    let content = rt.list_content(&ns).await.unwrap();
    for (digest, size) in [&img.layer, &img.config, &img.manifest] {
        assert!(
            content
                .iter()
                .any(|c| &c.digest == digest && c.size == *size),
            "{digest} {size} in {content:?}"
        );
    }
    assert!(rt.delete_content(&ns, &img.config.0).await.unwrap());
    assert!(!rt.delete_content(&ns, &img.config.0).await.unwrap());

    // Leases: make one with ctr, delete it.
    daemon.ctr(&ns, &["leases", "create", "--id", "kuke-test-lease"]);
    assert!(rt
        .list_leases(&ns)
        .await
        .unwrap()
        .contains(&"kuke-test-lease".to_string()));

    // Images, then whatever leases, content and snapshots remain.
    assert!(rt.delete_image(&ns, INDEX_REF, false).await.unwrap());
    assert!(rt.delete_image(&ns, IMAGE_REF, true).await.unwrap());
    assert!(!rt.delete_image(&ns, IMAGE_REF, true).await.unwrap());
    assert!(rt.list_images(&ns).await.unwrap().is_empty());
    for id in rt.list_leases(&ns).await.unwrap() {
        assert!(rt.delete_lease(&ns, &id).await.unwrap());
    }
    assert!(!rt.delete_lease(&ns, "kuke-test-lease").await.unwrap());
    for blob in rt.list_content(&ns).await.unwrap() {
        rt.delete_content(&ns, &blob.digest).await.unwrap();
    }
    remove_all_snapshots(&rt, &ns, &snapshotters).await;
    assert!(rt.delete_namespace(&ns).await.expect("namespace now empty"));
}

/// Removes every snapshot of `ns`, children before parents.
async fn remove_all_snapshots(rt: &Runtime, ns: &str, snapshotters: &[String]) {
    for sn in snapshotters {
        for _round in 0..100 {
            let snaps = rt.list_snapshots(ns, sn).await.unwrap();
            if snaps.is_empty() {
                break;
            }
            let parents: HashSet<&str> = snaps.iter().filter_map(|s| s.parent.as_deref()).collect();
            for s in snaps.iter().filter(|s| !parents.contains(s.key.as_str())) {
                rt.remove_snapshot(ns, sn, &s.key).await.unwrap();
            }
        }
    }
}
