//! Kukeon's shipping layout, v0.5 and later (`<run>/data/<realm>/metadata.json`, the
//! `.kukeon-instance.json` file, the sidecar `metadata.json.lock`) through the
//! CLI against a private containerd: detection, listing next to reserved
//! directories and a torn record, creating under the instance's cgroup root,
//! credential round trips that keep what the console does not know, writers
//! racing each other and Kukeon's own lock holders, a cascade that also drains
//! BuildKit's `<ns>_history` companion, and the system realm `kuke-system`.
//!
//! Fixtures (tests/fixtures/kukeon/) are written as Kukeon writes them: Go's
//! `json.MarshalIndent(doc, "", "  ")` plus a newline, struct field order,
//! HTML characters escaped as `\u003c`, mode 0644. `@CGROUP_ROOT@` in them is
//! replaced by the instance's `cgroupRoot`, which is always below the
//! harness's own unique cgroup root so the harness removes it.
//!
//! Every command runs without `KUKEON_CGROUP_ROOT` and `KUKEON_LAYOUT` (unless
//! a test sets them on purpose), so the layout is detected and the cgroup root
//! comes from the instance file; each command is bounded, so a hang fails the
//! test instead of stalling the suite.

mod common;

use common::{
    credential_args, json_of, ok_stdout, run_cmd, spawn_cmd, stderr_of, wait_cmd, Harness,
};
use serde_json::{json, Value};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::thread::sleep;
use std::time::Duration;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kukeon");
/// The password of `main`'s credential in the fixture.
const MAIN_SECRET: &str = "main-Pa55word-1";
const MASK: &str = "********";
/// `main`'s `metadata.generation` in the fixture.
const MAIN_GENERATION: i64 = 3;

// ---------------------------------------------------------------------------
// running the binary

/// `kuke-tui <args>` at the harness, the layout detected and the cgroup root
/// taken from the instance file.
fn cmd(h: &Harness, args: &[&str]) -> Command {
    let mut c = h.kuke_instance_root();
    c.args(args);
    c
}

fn kuke(h: &Harness, args: &[&str]) -> Output {
    run_cmd(cmd(h, args), None)
}

fn kuke_ok(h: &Harness, args: &[&str]) -> String {
    ok_stdout(&kuke(h, args), &format!("kuke-tui {args:?}"))
}

fn kuke_json(h: &Harness, args: &[&str]) -> Value {
    json_of(&kuke_ok(h, args), &format!("kuke-tui {args:?}"))
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// a Kukeon v0.5 host on disk

/// Writes `<run>/.kukeon-instance.json` as Kukeon does; returns its
/// `cgroupRoot` (below the harness's cgroup root, so the harness cleans it).
fn instance(h: &Harness, suffix: &str) -> String {
    let root = format!("{}/kk", h.cgroup_root);
    fs::write(
        h.run_path.join(".kukeon-instance.json"),
        format!(
            "{{\n  \"containerdNamespaceSuffix\": \"{suffix}\",\n  \"cgroupRoot\": \"{root}\"\n}}\n"
        ),
    )
    .unwrap();
    root
}

/// A fixture file with `@CGROUP_ROOT@` replaced.
fn fixture(name: &str, cgroup_root: &str) -> String {
    let path = Path::new(FIXTURES).join(name);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .replace("@CGROUP_ROOT@", cgroup_root)
}

/// Writes `<run>/<rel>` with Kukeon's mode (0644), creating directories.
fn put(h: &Harness, rel: &str, text: &str) -> PathBuf {
    let path = h.run_path.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    path
}

/// The full host of the listing test: instance file; realms `main` (one
/// credential, a space > stack > cell below it, reserved directories, its
/// lock and a temp file), `kuke-system` and `broken` (a torn write); reserved
/// directories, a lock file and dot-temp entries next to the realms.
/// Returns the instance's cgroup root.
fn seed_host(h: &Harness) -> String {
    let root = instance(h, "kukeon.io");
    for (rel, name) in [
        ("data/main/metadata.json", "realm-main.json"),
        ("data/kuke-system/metadata.json", "realm-kuke-system.json"),
        ("data/broken/metadata.json", "realm-broken.json"),
        ("data/main/default/metadata.json", "space-default.json"),
        ("data/main/default/web/metadata.json", "stack-web.json"),
        ("data/main/default/web/api/metadata.json", "cell-api.json"),
    ] {
        put(h, rel, &fixture(name, &root));
    }
    // Kukeon's sidecar lock and a temp file its atomic write left behind.
    put(h, "data/main/metadata.json.lock", "");
    put(h, "data/main/.meta-2818203847.tmp", "{\n  \"apiVer");
    // Reserved directories inside a scope are not spaces, even with a record
    // (at the top level they are realm names: see
    // `folder_names_kukeon_keeps_in_scopes_are_realms_at_the_top`).
    for dir in ["secrets", "blueprints", "configs", "volumes", "volume-meta"] {
        put(h, &format!("data/main/{dir}/metadata.json"), "{}\n");
    }
    put(h, "data/metadata.json.lock", "");
    put(h, "data/.meta-1234567.tmp", "{\n");
    put(h, "data/.staging/metadata.json", "{}\n");
    root
}

fn record_path(h: &Harness, realm: &str) -> PathBuf {
    h.run_path.join("data").join(realm).join("metadata.json")
}

/// The realm's `metadata.json`, text and parsed.
fn record(h: &Harness, realm: &str) -> (String, Value) {
    let path = record_path(h, realm);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse ({e}):\n{text}", path.display()));
    (text, value)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// What Kukeon writes and reads: two-space indented JSON, one trailing
/// newline, apiVersion and kind first, no tabs, no CR, no trailing blanks.
fn assert_kukeon_json(text: &str) {
    assert!(
        text.starts_with("{\n  \"apiVersion\": \"v1beta1\",\n  \"kind\": \"Realm\",\n"),
        "not Kukeon's field order:\n{text}"
    );
    assert!(
        text.ends_with("}\n") && !text.ends_with("\n\n"),
        "not one trailing newline: {text:?}"
    );
    assert!(!text.contains('\t') && !text.contains('\r'), "{text:?}");
    let mut depth: usize = 0;
    for (n, line) in text.lines().enumerate() {
        let body = line.trim_start_matches(' ');
        assert_eq!(body.trim_end(), body, "trailing blank on line {}", n + 1);
        if body.starts_with('}') || body.starts_with(']') {
            depth = depth.checked_sub(1).expect("unbalanced");
        }
        assert_eq!(
            line.len() - body.len(),
            2 * depth,
            "line {} is not indented by two spaces per level: {line:?}\n{text}",
            n + 1
        );
        if body.ends_with('{') || body.ends_with('[') {
            depth += 1;
        }
    }
    assert_eq!(depth, 0, "unbalanced document:\n{text}");
}

/// Holds a flock on `path` (as a Kukeon reader or writer would) until dropped.
fn flock(path: &Path, operation: libc::c_int) -> fs::File {
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .unwrap();
    // SAFETY: flock on a descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
    assert_eq!(rc, 0, "flock {}", path.display());
    file
}

/// Replaces a file the way Kukeon does: temp file in the same directory,
/// fsync, rename.
fn kukeon_write(path: &Path, doc: &Value) {
    let mut bytes = serde_json::to_vec_pretty(doc).unwrap();
    bytes.push(b'\n');
    let tmp = path.with_file_name(".meta-4242.tmp");
    let mut f = fs::File::create(&tmp).unwrap();
    f.write_all(&bytes).unwrap();
    f.sync_all().unwrap();
    fs::rename(&tmp, path).unwrap();
}

fn still_running(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_none()
}

fn credential(doc: &Value, server: &str) -> Option<Value> {
    doc["spec"]["registryCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["serverAddress"] == server)
        .cloned()
}

fn add_credential(h: &Harness, realm: &str, server: &str, user: &str, password: &str) -> String {
    let args = credential_args(realm, server, user, &["--password-stdin"]);
    ok_stdout(
        &run_cmd(cmd(h, &args), Some(&format!("{password}\n"))),
        &format!("{args:?}"),
    )
}

// ---------------------------------------------------------------------------
// 1. listing

#[test]
fn detects_and_lists_a_kukeon_host() {
    let h = Harness::start();
    let root = seed_host(&h);
    h.ctr_ok(&["namespaces", "create", "main.kukeon.io"]);

    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    // Reserved directories, dot entries and lock files are not realms.
    assert_eq!(names(&list), ["broken", "kuke-system", "main"], "{list}");

    let main = common::realm_item(&list, "main");
    assert_eq!(main["valid"], true, "{main}");
    assert_eq!(main["namespace"], "main.kukeon.io");
    assert_eq!(main["cgroupPath"], format!("{root}/main").as_str());
    assert_eq!(main["observed"]["namespaceExists"], true);
    // `default` only: reserved directories are not spaces, dot files not either.
    assert_eq!(main["counts"]["spaces"], 1, "{main}");
    assert_eq!(main["counts"]["registryCredentials"], 1);
    assert_eq!(main["labels"]["team"], "platform");
    assert_eq!(main["createdAt"], "2026-01-02T03:04:05.123456789Z");
    assert!(main["ageSeconds"].as_u64().unwrap() > 0, "{main}");

    let system = common::realm_item(&list, "kuke-system");
    assert_eq!(system["valid"], true, "{system}");
    assert_eq!(system["namespace"], "kuke-system.kukeon.io");

    // The torn record: Invalid, with the file and the line; the namespace and
    // cgroup fall back to the layout's defaults (suffix, instance cgroupRoot).
    let broken = common::realm_item(&list, "broken");
    assert_eq!(broken["state"], "Invalid");
    assert_eq!(broken["valid"], false);
    let error = broken["error"].as_str().unwrap();
    assert!(
        error.contains("data/broken/metadata.json:5:"),
        "error names neither file nor line: {error}"
    );
    assert_eq!(broken["namespace"], "broken.kukeon.io");
    assert_eq!(broken["cgroupPath"], format!("{root}/broken").as_str());

    // The table says the same and warns about the torn record on stderr.
    let out = kuke(&h, &["get", "realms", "-o", "wide"]);
    let table = ok_stdout(&out, "get realms");
    assert!(
        table.contains("main.kukeon.io") && table.contains("kuke-system.kukeon.io"),
        "{table}"
    );
    assert!(
        stderr_of(&out).contains("\"broken\"") && stderr_of(&out).contains("metadata.json:5:"),
        "{}",
        stderr_of(&out)
    );

    // Describing masks the password everywhere and keeps unknown keys visible.
    let text = kuke_ok(&h, &["get", "realm", "main", "-o", "json"]);
    assert!(!text.contains(MAIN_SECRET), "password leaked:\n{text}");
    let detail: Value = serde_json::from_str(&text).unwrap();
    let cred = &detail["spec"]["registryCredentials"][0];
    assert_eq!(cred["password"], MASK, "{detail}");
    assert_eq!(cred["serverAddress"], "registry.example.com");
    assert_eq!(detail["metadata"]["generation"], MAIN_GENERATION);
    assert_eq!(
        detail["metadata"]["annotations"]["kukeon.io/owner"],
        "ops@example.com"
    );
    assert_eq!(detail["observed"]["namespace"], "main.kukeon.io");
    assert_eq!(detail["observed"]["spaces"], json!(["default"]));
    for args in [
        &["get", "realm", "main"][..],
        &["get", "realms", "-o", "yaml"],
        &["get", "registry-credentials", "main"],
        &["get", "registry-credentials", "main", "-o", "json"],
    ] {
        let text = kuke_ok(&h, args);
        assert!(!text.contains(MAIN_SECRET), "{args:?} leaked:\n{text}");
    }
    let shown = kuke_ok(&h, &["get", "realm", "main", "--show-secrets"]);
    assert!(shown.contains(MAIN_SECRET), "--show-secrets shows it");

    // Reading wrote nothing: no lock file appeared for kuke-system, and the
    // records are byte for byte the fixtures.
    let mut entries: Vec<String> = fs::read_dir(h.run_path.join("data/kuke-system"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["metadata.json"]);
    assert_eq!(record(&h, "main").0, fixture("realm-main.json", &root));
    assert!(!h.run_path.join("main").exists() && !h.run_path.join("data/realm.yaml").exists());
}

// ---------------------------------------------------------------------------
// 2. creating

#[test]
fn creates_a_realm_in_kukeon_format_under_the_instance_cgroup_root() {
    let h = Harness::start();
    let root = instance(&h, "kukeon.io");
    fs::create_dir_all(h.run_path.join("data")).unwrap();

    let out = kuke_ok(&h, &["create", "realm", "fresh"]);
    for step in ["record", "namespace", "cgroup"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(step) && l.contains("created")),
            "{step} not created:\n{out}"
        );
    }
    let path = record_path(&h, "fresh");
    let (text, doc) = record(&h, "fresh");
    assert_kukeon_json(&text);
    // Kukeon's modes: record (no credentials in it) and sidecar 0644, the
    // realm folder setgid 0750.
    assert_eq!(mode(&path), 0o644);
    assert_eq!(mode(&path.with_file_name("metadata.json.lock")), 0o644);
    assert_eq!(
        fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o2750
    );
    // Kukeon's own create labels the realm with its namespace.
    assert_eq!(
        doc["metadata"]["labels"]["realm.kukeon.io"], "fresh.kukeon.io",
        "{text}"
    );
    // cgroup v2 controller names, also on a v1 or hybrid host.
    let controllers: Vec<&str> = doc["status"]["subtreeControllers"]
        .as_array()
        .unwrap_or_else(|| panic!("no subtreeControllers: {text}"))
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(!controllers.is_empty(), "{text}");
    for c in &controllers {
        assert!(
            ["cpu", "memory", "io", "pids", "cpuset", "hugetlb", "rdma", "misc"].contains(c),
            "{c} is not a cgroup v2 controller name: {text}"
        );
    }
    assert_eq!(doc["apiVersion"], "v1beta1");
    assert_eq!(doc["kind"], "Realm");
    assert_eq!(doc["metadata"]["name"], "fresh");
    assert_eq!(doc["metadata"]["generation"], 1, "{text}");
    assert_eq!(doc["spec"]["namespace"], "fresh.kukeon.io");
    let status = &doc["status"];
    assert_eq!(status["state"], "Ready", "{text}");
    assert_eq!(status["cgroupPath"], format!("{root}/fresh").as_str());
    for key in ["createdAt", "readyAt", "updatedAt"] {
        let at = status[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {text}"));
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{key} {at}"
        );
    }
    assert!(
        !h.run_path.join("fresh").exists(),
        "nothing in the docs layout"
    );

    assert!(h.namespaces().contains(&"fresh.kukeon.io".to_string()));
    assert!(!h.namespaces().contains(&"kukeon-fresh".to_string()));
    let group = format!("{root}/fresh");
    assert!(!h.cgroup_dirs(&group).is_empty(), "no cgroup {group}");
    assert!(
        h.cgroup_dirs("/kukeon/fresh").is_empty(),
        "made under /kukeon instead of the instance's cgroupRoot"
    );

    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    let fresh = common::realm_item(&list, "fresh");
    assert_eq!(fresh["state"], "Ready", "{fresh}");
    assert_eq!(fresh["observed"]["cgroupExists"], true);
}

#[test]
fn recreating_a_kukeon_realm_keeps_times_and_generation() {
    let h = Harness::start();
    instance(&h, "kukeon.io");
    kuke_ok(&h, &["create", "realm", "fresh"]);
    let (text, doc) = record(&h, "fresh");
    let status = &doc["status"];

    // Re-running changes nothing: set-once times, same generation, same bytes.
    let out = kuke_ok(&h, &["create", "realm", "fresh"]);
    assert_eq!(out.matches("already existed").count(), 3, "{out}");
    let (again_text, again) = record(&h, "fresh");
    assert_eq!(again["status"]["createdAt"], status["createdAt"]);
    assert_eq!(again["status"]["readyAt"], status["readyAt"]);
    assert_eq!(again["metadata"]["generation"], 1);
    assert_eq!(again_text, text, "an idempotent create rewrote the record");

    // A repair (namespace removed behind its back) is a status change only.
    h.ctr_ok(&["namespaces", "rm", "fresh.kukeon.io"]);
    let out = kuke_ok(&h, &["create", "realm", "fresh"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("namespace") && l.contains("repaired")),
        "{out}"
    );
    let (text, repaired) = record(&h, "fresh");
    assert_kukeon_json(&text);
    assert_eq!(repaired["metadata"]["generation"], 1, "{text}");
    assert_eq!(repaired["status"]["createdAt"], status["createdAt"]);
    assert_eq!(repaired["status"]["readyAt"], status["readyAt"]);
    assert!(h.namespaces().contains(&"fresh.kukeon.io".to_string()));
}

// ---------------------------------------------------------------------------
// 3. credentials keep what the console does not know

#[test]
fn credential_round_trips_keep_unknown_fields() {
    let h = Harness::start();
    seed_host(&h);
    let path = record_path(&h, "main");
    let (_, original) = record(&h, "main");

    // Everything but updatedAt, the generation and the credentials must stay.
    let check = |doc: &Value, text: &str, generation: i64, creds: Value| {
        assert_kukeon_json(text);
        assert_eq!(mode(&path), 0o600, "the record holds passwords");
        let mut want = original.clone();
        want["metadata"]["generation"] = json!(generation);
        want["spec"]["registryCredentials"] = creds;
        let mut got = doc.clone();
        let updated = got["status"]["updatedAt"].take();
        assert_ne!(
            updated, original["status"]["updatedAt"],
            "updatedAt not bumped"
        );
        want["status"]["updatedAt"] = Value::Null;
        assert_eq!(
            got, want,
            "the record changed beyond the credential:\n{text}"
        );
    };
    let robot = original["spec"]["registryCredentials"][0].clone();
    assert_eq!(robot["insecureSkipVerify"], true);

    let out = add_credential(&h, "main", "ghcr.io", "bot", "first-Pa55");
    assert!(out.contains("added"), "{out}");
    let (text, doc) = record(&h, "main");
    let bot = json!({"username": "bot", "password": "first-Pa55", "serverAddress": "ghcr.io"});
    check(&doc, &text, MAIN_GENERATION + 1, json!([robot, bot]));

    let out = add_credential(&h, "main", "ghcr.io", "bot", "second-Pa55");
    assert!(out.contains("updated"), "{out}");
    let (text, doc) = record(&h, "main");
    let bot = json!({"username": "bot", "password": "second-Pa55", "serverAddress": "ghcr.io"});
    check(&doc, &text, MAIN_GENERATION + 2, json!([robot, bot]));

    // The pre-existing credential with its extra field, updated in place.
    let out = add_credential(&h, "main", "registry.example.com", "robot", "rotated");
    assert!(out.contains("updated"), "{out}");
    let (text, doc) = record(&h, "main");
    let mut rotated = robot.clone();
    rotated["password"] = json!("rotated");
    check(&doc, &text, MAIN_GENERATION + 3, json!([rotated, bot]));

    kuke_ok(
        &h,
        &[
            "delete",
            "registry-credential",
            "main",
            "--server",
            "ghcr.io",
        ],
    );
    let (text, doc) = record(&h, "main");
    check(&doc, &text, MAIN_GENERATION + 4, json!([rotated]));

    // A refused change writes nothing at all.
    let before = fs::read(&path).unwrap();
    let out = kuke(
        &h,
        &[
            "delete",
            "registry-credential",
            "main",
            "--server",
            "ghcr.io",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(fs::read(&path).unwrap(), before);

    // No temp files of ours were left next to the record.
    let leftovers: Vec<String> = fs::read_dir(h.run_path.join("data/main"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".metadata.json"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// ---------------------------------------------------------------------------
// 4. concurrency and Kukeon's lock

#[test]
fn concurrent_credential_writers_lose_nothing() {
    let h = Harness::start();
    seed_host(&h);
    let pw = h.dir.join("pw");
    fs::write(&pw, "concurrent-Pa55\n").unwrap();
    let pw = pw.to_str().unwrap().to_string();
    const THREADS: usize = 2;
    const EACH: usize = 25;

    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (h, pw) = (&h, &pw);
            scope.spawn(move || {
                for i in 0..EACH {
                    let server = format!("s{t}-{i}.io");
                    let args = [
                        "create",
                        "registry-credential",
                        "main",
                        "--server",
                        &server,
                        "--username",
                        "u",
                        "--from-file",
                        pw,
                    ];
                    let out = kuke(h, &args);
                    assert!(
                        out.status.success(),
                        "{server}: {} (a writer lost the race instead of waiting)",
                        stderr_of(&out)
                    );
                }
            });
        }
    });

    let (text, doc) = record(&h, "main");
    assert_kukeon_json(&text);
    let creds = doc["spec"]["registryCredentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1 + THREADS * EACH, "credentials lost");
    for t in 0..THREADS {
        for i in 0..EACH {
            let c = credential(&doc, &format!("s{t}-{i}.io"))
                .unwrap_or_else(|| panic!("s{t}-{i}.io lost"));
            assert_eq!(c["password"], "concurrent-Pa55");
        }
    }
    assert_eq!(creds[0]["insecureSkipVerify"], true);
    // One spec change per invocation, none counted twice or skipped.
    assert_eq!(
        doc["metadata"]["generation"],
        MAIN_GENERATION + (THREADS * EACH) as i64
    );
}

#[test]
fn writers_and_readers_honour_kukeons_sidecar_lock() {
    let h = Harness::start();
    seed_host(&h);
    let path = record_path(&h, "main");
    let lock = h.run_path.join("data/main/metadata.json.lock");

    // A Kukeon reader holds the lock shared: our writer waits for it.
    let reader = flock(&lock, libc::LOCK_SH);
    let before = fs::read(&path).unwrap();
    let mut child = spawn_cmd(
        cmd(
            &h,
            &credential_args("main", "shared.io", "u", &["--password-stdin"]),
        ),
        Some("pw\n"),
    );
    sleep(Duration::from_millis(700));
    assert!(
        still_running(&mut child),
        "wrote while a reader held the lock shared"
    );
    assert_eq!(fs::read(&path).unwrap(), before);
    drop(reader);
    ok_stdout(&wait_cmd(child, "add shared.io"), "add shared.io");
    assert!(credential(&record(&h, "main").1, "shared.io").is_some());

    // A Kukeon writer holds it exclusively: our reader waits too.
    let writer = flock(&lock, libc::LOCK_EX);
    let mut child = spawn_cmd(
        cmd(&h, &["get", "registry-credentials", "main", "-o", "json"]),
        None,
    );
    sleep(Duration::from_millis(500));
    assert!(
        still_running(&mut child),
        "read while a writer held the lock"
    );
    drop(writer);
    let listed: Value = serde_json::from_str(&ok_stdout(
        &wait_cmd(child, "get credentials"),
        "get credentials",
    ))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");

    // Kukeon changes the record while our writer waits for the lock: our
    // write starts from Kukeon's bytes, so neither change is lost.
    let writer = flock(&lock, libc::LOCK_EX);
    let mut child = spawn_cmd(
        cmd(
            &h,
            &credential_args("main", "late.io", "u", &["--password-stdin"]),
        ),
        Some("pw\n"),
    );
    sleep(Duration::from_millis(500));
    assert!(still_running(&mut child));
    let (_, mut doc) = record(&h, "main");
    let generation = doc["metadata"]["generation"].as_i64().unwrap();
    doc["metadata"]["generation"] = json!(generation + 1);
    doc["metadata"]["annotations"]["kukeon.io/written-by"] = json!("daemon");
    doc["spec"]["registryCredentials"]
        .as_array_mut()
        .unwrap()
        .push(json!({"username": "k", "password": "daemon-pw", "serverAddress": "daemon.io"}));
    kukeon_write(&path, &doc);
    drop(writer);
    ok_stdout(&wait_cmd(child, "add late.io"), "add late.io");
    let (text, doc) = record(&h, "main");
    assert_kukeon_json(&text);
    assert!(
        credential(&doc, "daemon.io").is_some(),
        "Kukeon's change lost:\n{text}"
    );
    assert!(credential(&doc, "late.io").is_some(), "ours lost:\n{text}");
    assert_eq!(
        doc["metadata"]["annotations"]["kukeon.io/written-by"],
        "daemon"
    );
    assert_eq!(doc["metadata"]["generation"], generation + 2);
}

// ---------------------------------------------------------------------------
// 5. the whole cascade, companion namespace included

const CAS_NS: &str = "cas.kukeon.io";
const CAS_HISTORY: &str = "cas.kukeon.io_history";

/// Realm `cas` made by the CLI, with a running task in its cgroup, an image,
/// a space, and BuildKit's companion namespace holding a lease and an image.
/// Returns the realm's cgroup group.
fn seed_cascade(h: &Harness) -> String {
    let root = instance(h, "kukeon.io");
    kuke_ok(h, &["create", "realm", "cas"]);
    let group = format!("{root}/cas");
    assert!(h.namespaces().contains(&CAS_NS.to_string()));
    assert!(!h.cgroup_dirs(&group).is_empty());
    h.import_image(CAS_NS);
    h.run_task(
        CAS_NS,
        "t1",
        &format!("{group}/t1"),
        &["/bin/sleep", "3600"],
    );
    h.ctr_ok(&["namespaces", "create", CAS_HISTORY]);
    h.ctr_ok(&[
        "-n",
        CAS_HISTORY,
        "leases",
        "create",
        "--id",
        "buildkit-lease",
    ]);
    h.import_image(CAS_HISTORY);
    put(
        h,
        "data/cas/default/metadata.json",
        &fixture("space-default.json", &root).replace("\"main\"", "\"cas\""),
    );
    group
}

#[test]
fn cascade_plan_names_the_history_companion() {
    let h = Harness::start();
    let group = seed_cascade(&h);
    let (ns, history) = (CAS_NS, CAS_HISTORY);

    // The plan names the companion and everything in it, and changes nothing.
    let plan = kuke_ok(&h, &["delete", "realm", "cas", "--cascade", "--dry-run"]);
    for needle in [
        format!("companion namespace {history}"),
        "lease buildkit-lease".to_string(),
        format!("image {}", h.image_ref),
        "t1".to_string(),
        "spaces (1)".to_string(),
        "data/cas/metadata.json".to_string(),
        "data/cas/default/metadata.json".to_string(),
        ns.to_string(),
    ] {
        assert!(plan.contains(&needle), "plan lacks {needle}:\n{plan}");
    }
    let plan_json = kuke_json(&h, &["delete", "realm", "cas", "--dry-run", "-o", "json"]);
    assert_eq!(plan_json["namespace"], ns);
    assert_eq!(plan_json["cgroupPath"], group.as_str());
    assert_eq!(plan_json["companion"]["namespace"], history);
    let objects: Vec<&str> = plan_json["companion"]["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap())
        .collect();
    assert!(objects.contains(&"lease buildkit-lease"), "{objects:?}");
    assert!(
        objects.iter().any(|o| o.starts_with("content sha256:")),
        "{objects:?}"
    );
    assert!(h.namespaces().contains(&history.to_string()));

    // Without --cascade: refused, naming the contents and the companion.
    let out = kuke(&h, &["delete", "realm", "cas", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    for needle in [
        "not empty",
        "1 task(s)",
        "1 space(s)",
        &format!("in {history}"),
        "--cascade",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(h.namespaces().contains(&history.to_string()));
    assert_eq!(h.task_status(ns, "t1").as_deref(), Some("RUNNING"));
    assert!(record_path(&h, "cas").is_file());
}

#[test]
fn cascade_deletes_realm_and_history_companion() {
    let h = Harness::start();
    let group = seed_cascade(&h);
    let (ns, history) = (CAS_NS, CAS_HISTORY);
    let out = kuke_ok(
        &h,
        &[
            "delete",
            "realm",
            "cas",
            "--cascade",
            "--yes",
            "--grace",
            "1s",
        ],
    );
    assert!(out.contains(&format!("({history})")), "{out}");
    assert!(out.contains("realm \"cas\" deleted"), "{out}");
    let left = h.namespaces();
    assert!(
        !left.contains(&ns.to_string()) && !left.contains(&history.to_string()),
        "namespaces left: {left:?}"
    );
    assert!(
        h.cgroup_dirs(&group).is_empty(),
        "cgroup left: {:?}",
        h.cgroup_dirs(&group)
    );
    assert!(!h.run_path.join("data/cas").exists());
    assert!(h.run_path.join("data").is_dir(), "data/ itself stays");
    assert!(h.leftover_shims().is_empty(), "{:?}", h.leftover_shims());

    let out = kuke_ok(&h, &["delete", "realm", "cas", "--cascade", "--yes"]);
    assert!(out.contains("nothing to delete"), "{out}");
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    assert!(names(&list).is_empty(), "{list}");
}

// ---------------------------------------------------------------------------
// 6. the system realm

#[test]
fn kuke_system_is_not_deleted_without_force() {
    let h = Harness::start();
    seed_host(&h);
    h.ctr_ok(&["namespaces", "create", "kuke-system.kukeon.io"]);
    let before = fs::read(record_path(&h, "kuke-system")).unwrap();
    for args in [
        &["delete", "realm", "kuke-system", "--yes"][..],
        &["delete", "realm", "kuke-system", "--cascade", "--yes"],
    ] {
        let out = kuke(&h, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains("--force"), "{}", stderr_of(&out));
    }
    let plan = kuke_ok(&h, &["delete", "realm", "kuke-system", "--dry-run"]);
    assert!(plan.contains("system realm"), "{plan}");
    assert_eq!(fs::read(record_path(&h, "kuke-system")).unwrap(), before);
    assert!(h
        .namespaces()
        .contains(&"kuke-system.kukeon.io".to_string()));
}

/// A realm whose record points at the system realm's namespace deletes the
/// daemon's containers just the same; it is protected like `kuke-system`.
#[test]
fn realm_on_the_system_namespace_is_protected() {
    let h = Harness::start();
    let root = seed_host(&h);
    let doc = fixture("realm-kuke-system.json", &root)
        .replace("\"name\": \"kuke-system\"", "\"name\": \"daemon\"");
    put(&h, "data/daemon/metadata.json", &doc);
    h.ctr_ok(&["namespaces", "create", "kuke-system.kukeon.io"]);
    let plan = kuke_json(
        &h,
        &["delete", "realm", "daemon", "--dry-run", "-o", "json"],
    );
    assert_eq!(plan["namespace"], "kuke-system.kukeon.io");
    assert_eq!(plan["systemRealm"], true, "{plan}");
    let out = kuke(&h, &["delete", "realm", "daemon", "--cascade", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(h
        .namespaces()
        .contains(&"kuke-system.kukeon.io".to_string()));
}

// ---------------------------------------------------------------------------
// 7. forcing the documented layout on a Kukeon run path

#[test]
fn forced_docs_layout_does_not_read_kukeon_records() {
    let h = Harness::start();
    seed_host(&h);
    let list = kuke_json(&h, &["--layout", "docs", "get", "realms", "-o", "json"]);
    // The documented layout looks for <run>/<realm>/realm.yaml and never reads
    // metadata.json: no Kukeon realm shows up. Today `data` itself is listed,
    // as a realm whose realm.yaml is missing; hiding it would be fine too.
    let listed = names(&list);
    assert!(listed.iter().all(|n| n == "data"), "{list}");
    if let Some(data) = list["items"].as_array().unwrap().first() {
        assert_eq!(data["state"], "Invalid");
        let error = data["error"].as_str().unwrap();
        assert!(
            error.contains("data/realm.yaml") && error.contains("missing"),
            "{error}"
        );
        assert_eq!(data["namespace"], "kukeon-data", "docs default namespace");
        assert_eq!(
            data["cgroupPath"], "/kukeon/data",
            "the instance's cgroupRoot is Kukeon's, unused by the docs layout"
        );
    }
    // The same through the environment variable.
    let mut c = cmd(&h, &["get", "realms", "-o", "json"]);
    c.env("KUKEON_LAYOUT", "docs");
    let list: Value =
        serde_json::from_str(&ok_stdout(&run_cmd(c, None), "KUKEON_LAYOUT=docs")).unwrap();
    assert_eq!(names(&list), listed, "{list}");
    // And `--layout kukeon` agrees with detection.
    let list = kuke_json(&h, &["--layout", "kukeon", "get", "realms", "-o", "json"]);
    assert_eq!(names(&list), ["broken", "kuke-system", "main"], "{list}");
}

/// `data` seen through the documented layout is an invalid realm with no
/// spaces and no workloads, so a plain delete (no --cascade) removes the
/// whole Kukeon store below it.
#[test]
fn forced_docs_layout_does_not_delete_kukeon_data() {
    let h = Harness::start();
    seed_host(&h);
    // The harness's KUKEON_CGROUP_ROOT stays set: nothing under /kukeon is touched.
    let mut c = h.kuke();
    c.args(["--layout", "docs", "delete", "realm", "data", "--yes"]);
    let out = run_cmd(c, None);
    assert!(
        record_path(&h, "main").exists(),
        "Kukeon's records were deleted: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    assert!(!out.status.success(), "should have been refused");
}

// ---------------------------------------------------------------------------
// more: suffix, precedence, forcing the Kukeon layout, detection pitfalls

#[test]
fn instance_suffix_and_cgroup_root_precedence() {
    let h = Harness::start();
    let root = instance(&h, "corp.example");
    // Kukeon's minimal document: the namespace comes from the suffix.
    put(
        &h,
        "data/mini/metadata.json",
        "{\n  \"apiVersion\": \"v1beta1\",\n  \"kind\": \"Realm\",\n  \"metadata\": {\n    \"name\": \"mini\"\n  },\n  \"spec\": {}\n}\n",
    );
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    let mini = common::realm_item(&list, "mini");
    assert_eq!(mini["valid"], true, "{mini}");
    assert_eq!(mini["namespace"], "mini.corp.example");
    assert_eq!(mini["cgroupPath"], format!("{root}/mini").as_str());

    kuke_ok(&h, &["create", "realm", "fresh"]);
    assert!(h.namespaces().contains(&"fresh.corp.example".to_string()));
    let (_, doc) = record(&h, "fresh");
    assert_eq!(doc["spec"]["namespace"], "fresh.corp.example");
    assert_eq!(
        doc["status"]["cgroupPath"],
        format!("{root}/fresh").as_str()
    );

    // KUKEON_CGROUP_ROOT (and --cgroup-root) win over the instance file.
    let env_root = format!("{}/env", h.cgroup_root);
    let mut c = cmd(&h, &["create", "realm", "other"]);
    c.env("KUKEON_CGROUP_ROOT", &env_root);
    ok_stdout(&run_cmd(c, None), "create other");
    let (_, doc) = record(&h, "other");
    assert_eq!(
        doc["status"]["cgroupPath"],
        format!("{env_root}/other").as_str()
    );
    assert!(!h.cgroup_dirs(&format!("{env_root}/other")).is_empty());
    assert!(h.cgroup_dirs(&format!("{root}/other")).is_empty());
    let flag_root = format!("{}/flag", h.cgroup_root);
    let list = kuke_json(
        &h,
        &["--cgroup-root", &flag_root, "get", "realms", "-o", "json"],
    );
    // A record's own cgroupPath wins; one without falls back to the flag.
    assert_eq!(
        common::realm_item(&list, "fresh")["cgroupPath"],
        format!("{root}/fresh").as_str()
    );
    assert_eq!(
        common::realm_item(&list, "mini")["cgroupPath"],
        format!("{flag_root}/mini").as_str()
    );
}

#[test]
fn forced_kukeon_layout_on_an_empty_run_path() {
    let h = Harness::start();
    // No instance file, no data/: only the flag or the variable says Kukeon.
    let mut c = h.kuke();
    c.args(["create", "realm", "solo"])
        .env("KUKEON_LAYOUT", "kukeon");
    ok_stdout(&run_cmd(c, None), "create solo");
    let (text, doc) = record(&h, "solo");
    assert_kukeon_json(&text);
    assert_eq!(doc["spec"]["namespace"], "solo.kukeon.io");
    // Without an instance file the harness's KUKEON_CGROUP_ROOT applies.
    assert_eq!(
        doc["status"]["cgroupPath"],
        format!("{}/solo", h.cgroup_root).as_str()
    );
    assert!(!h.run_path.join("solo").exists());
    assert!(h.namespaces().contains(&"solo.kukeon.io".to_string()));
    // From now on data/ is there and detection finds it.
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    assert_eq!(names(&list), ["solo"], "{list}");
    let mut c = h.kuke();
    c.args(["delete", "realm", "solo", "--yes", "--layout", "kukeon"]);
    ok_stdout(&run_cmd(c, None), "delete solo");
    assert!(!h.namespaces().contains(&"solo.kukeon.io".to_string()));
    assert!(!h.run_path.join("data/solo").exists());
}

/// `data` is a valid realm name in the documented layout; creating it must
/// not turn the host into a "Kukeon layout" host on the next command.
#[test]
fn docs_realm_named_data_does_not_flip_detection() {
    let h = Harness::start();
    kuke_ok(&h, &["create", "realm", "alpha"]);
    kuke_ok(&h, &["create", "realm", "data"]);
    assert!(h.run_path.join("data/realm.yaml").is_file());
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    assert_eq!(names(&list), ["alpha", "data"], "{list}");
}

/// Go's encoder writes a nil map as `null` (`labels` has no omitempty in
/// Kukeon's RealmMetadata) and a zero time.Time as `0001-01-01T00:00:00Z`
/// (omitempty never applies to structs).
#[test]
fn go_encoder_nulls_and_zero_times_are_read() {
    let h = Harness::start();
    let root = instance(&h, "kukeon.io");
    put(
        &h,
        "data/gorealm/metadata.json",
        &format!(
            "{{\n  \"apiVersion\": \"v1beta1\",\n  \"kind\": \"Realm\",\n  \"metadata\": {{\n    \"name\": \"gorealm\",\n    \"generation\": 1,\n    \"labels\": null\n  }},\n  \"spec\": {{\n    \"namespace\": \"gorealm.kukeon.io\"\n  }},\n  \"status\": {{\n    \"state\": \"Creating\",\n    \"cgroupPath\": \"{root}/gorealm\",\n    \"createdAt\": \"2026-01-02T03:04:05Z\",\n    \"updatedAt\": \"2026-01-02T03:04:05Z\",\n    \"readyAt\": \"0001-01-01T00:00:00Z\"\n  }}\n}}\n"
        ),
    );
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    let realm = common::realm_item(&list, "gorealm");
    assert_eq!(realm["valid"], true, "{realm}");
    assert_eq!(realm["state"], "Creating");
    // And a credential write keeps it readable by Kukeon.
    add_credential(&h, "gorealm", "ghcr.io", "bot", "pw");
    let (text, doc) = record(&h, "gorealm");
    assert_kukeon_json(&text);
    assert_eq!(doc["metadata"]["generation"], 2);
}

// ---------------------------------------------------------------------------
// 7. Kukeon's reader and writer, difference by difference

/// A realm record as Kukeon writes it, with `extra` status fields
/// (`"state": 2` included, as v0.4 daemons wrote it).
fn realm_json(name: &str, generation: Option<i64>, status: &str) -> String {
    let generation = generation
        .map(|g| format!(",\n    \"generation\": {g}"))
        .unwrap_or_default();
    format!(
        "{{\n  \"apiVersion\": \"v1beta1\",\n  \"kind\": \"Realm\",\n  \"metadata\": {{\n    \"name\": \"{name}\",\n    \"labels\": null{generation}\n  }},\n  \"spec\": {{\n    \"namespace\": \"{name}.kukeon.io\"\n  }},\n  \"status\": {{\n{status}\n  }}\n}}\n"
    )
}

#[test]
fn integer_states_are_read_as_kukeon_reads_them() {
    let h = Harness::start();
    instance(&h, "kukeon.io");
    put(
        &h,
        "data/old/metadata.json",
        &realm_json("old", Some(1), "    \"state\": 2"),
    );
    put(
        &h,
        "data/odd/metadata.json",
        &realm_json("odd", Some(1), "    \"state\": 9"),
    );
    put(&h, "data/old/metadata.json.lock", "");
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    let old = common::realm_item(&list, "old");
    assert_eq!(old["valid"], true, "{old}");
    // Recorded Ready (2 in Kukeon's order); no namespace or cgroup: Degraded.
    assert_eq!(old["state"], "Degraded", "{old}");
    let detail = kuke_json(&h, &["get", "realm", "old", "-o", "json"]);
    assert_eq!(detail["status"]["state"], "Ready", "{detail}");
    // Out of Kukeon's range: refused, as Kukeon refuses it.
    let odd = common::realm_item(&list, "odd");
    assert_eq!(odd["state"], "Invalid", "{odd}");
    assert!(
        odd["error"].as_str().unwrap().contains("out of range"),
        "{odd}"
    );
    // A read-modify-write writes the name (what Kukeon v0.5+ writes).
    add_credential(&h, "old", "ghcr.io", "bot", "pw");
    let (text, doc) = record(&h, "old");
    assert_kukeon_json(&text);
    assert_eq!(doc["status"]["state"], "Ready", "{text}");
}

#[test]
fn folder_names_kukeon_keeps_in_scopes_are_realms_at_the_top() {
    let h = Harness::start();
    instance(&h, "kukeon.io");
    for name in ["volumes", "secrets", "blueprints", "configs", "volume-meta"] {
        put(
            &h,
            &format!("data/{name}/metadata.json"),
            &realm_json(name, Some(1), "    \"state\": \"Ready\""),
        );
    }
    // Inside a realm the same name is Kukeon's folder, not a space.
    put(&h, "data/volumes/secrets/metadata.json", "{}\n");
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    assert_eq!(
        names(&list),
        ["blueprints", "configs", "secrets", "volume-meta", "volumes"],
        "{list}"
    );
    let volumes = common::realm_item(&list, "volumes");
    assert_eq!(volumes["valid"], true, "{volumes}");
    assert_eq!(volumes["counts"]["spaces"], 0, "{volumes}");
    let detail = kuke_json(&h, &["get", "realm", "volumes", "-o", "json"]);
    assert_eq!(detail["metadata"]["name"], "volumes");
    // Delete agrees with get: a realm, planned and removed.
    let plan = kuke_json(
        &h,
        &["delete", "realm", "secrets", "--dry-run", "-o", "json"],
    );
    assert_eq!(plan["realm"], "secrets", "{plan}");
    kuke_ok(&h, &["delete", "realm", "secrets", "--yes"]);
    assert!(!h.run_path.join("data/secrets").exists());
    // And creating one is allowed in Kukeon's layout.
    kuke_ok(&h, &["create", "realm", "configs"]);
    kuke_ok(&h, &["create", "realm", "volume-meta"]);
    assert!(h
        .namespaces()
        .contains(&"volume-meta.kukeon.io".to_string()));
}

#[test]
fn go_zero_created_at_ages_from_the_directory() {
    let h = Harness::start();
    instance(&h, "kukeon.io");
    put(
        &h,
        "data/zero/metadata.json",
        &realm_json(
            "zero",
            Some(1),
            "    \"state\": \"Ready\",\n    \"createdAt\": \"0001-01-01T00:00:00Z\",\n    \"updatedAt\": \"0001-01-01T00:00:00Z\",\n    \"readyAt\": \"0001-01-01T00:00:00Z\"",
        ),
    );
    let list = kuke_json(&h, &["get", "realms", "-o", "json"]);
    let zero = common::realm_item(&list, "zero");
    assert_eq!(zero["createdAt"], Value::Null, "{zero}");
    let age = zero["ageSeconds"].as_u64().unwrap();
    assert!(age < 3600, "aged from year 1, not from the folder: {age}s");
    let table = kuke_ok(&h, &["get", "realms"]);
    let row = table.lines().find(|l| l.starts_with("zero")).unwrap();
    assert!(!row.contains("739"), "{row}");
}

#[test]
fn generation_on_records_without_one_counts_from_zero() {
    let h = Harness::start();
    instance(&h, "kukeon.io");
    // A v0.6 host (the sidecar is there) and a record from before generations.
    put(
        &h,
        "data/gen/metadata.json",
        &realm_json("gen", None, "    \"state\": \"Creating\""),
    );
    put(&h, "data/gen/metadata.json.lock", "");
    h.ctr_ok(&["namespaces", "create", "gen.kukeon.io"]);
    // create repairs it: a status-only write leaves the generation absent.
    kuke_ok(&h, &["create", "realm", "gen"]);
    let (text, doc) = record(&h, "gen");
    assert_eq!(doc["status"]["state"], "Ready", "{text}");
    assert!(doc["metadata"].get("generation").is_none(), "{text}");
    // A spec change: absent counts as 0, so 1.
    add_credential(&h, "gen", "ghcr.io", "bot", "pw");
    let (text, doc) = record(&h, "gen");
    assert_eq!(doc["metadata"]["generation"], 1, "{text}");
    // Written where Kukeon's struct has it: after labels.
    let labels = text.find("\"labels\"").unwrap();
    let generation = text.find("\"generation\"").unwrap();
    let spec = text.find("\"spec\"").unwrap();
    assert!(labels < generation && generation < spec, "{text}");
}

/// A v0.5 host: records without `generation` and no sidecar anywhere.
fn seed_v05(h: &Harness) {
    instance(h, "kukeon.io");
    put(
        h,
        "data/kuke-system/metadata.json",
        &realm_json("kuke-system", None, "    \"state\": \"Ready\""),
    );
    put(
        h,
        "data/app/metadata.json",
        &realm_json("app", None, "    \"state\": \"Ready\""),
    );
}

/// Kukeon v0.5's delete of a realm's files: the record, then the folder
/// when it is empty. Returns whether the folder went.
fn v05_delete(h: &Harness, realm: &str) -> bool {
    fs::remove_file(record_path(h, realm)).unwrap();
    fs::remove_dir(h.run_path.join("data").join(realm)).is_ok()
}

#[test]
fn a_v05_host_gets_only_what_v05_writes() {
    let h = Harness::start();
    seed_v05(&h);
    add_credential(&h, "app", "ghcr.io", "bot", "pw");
    kuke_ok(
        &h,
        &[
            "delete",
            "registry-credential",
            "app",
            "--server",
            "ghcr.io",
        ],
    );
    kuke_ok(&h, &["create", "realm", "fresh"]);
    for realm in ["app", "fresh"] {
        let dir = h.run_path.join("data").join(realm);
        let entries: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(entries, ["metadata.json"], "{realm}: no sidecar on v0.5");
        let (text, doc) = record(&h, realm);
        assert_kukeon_json(&text);
        assert!(doc["metadata"].get("generation").is_none(), "{text}");
        // So Kukeon v0.5's own delete removes the folder, and its listing
        // does not report a missing metadata file afterwards.
        assert!(v05_delete(&h, realm), "{realm}'s folder kept alive");
    }
    // The same steps on a v0.6 host keep Kukeon's sidecar and generation.
    put(&h, "data/kuke-system/metadata.json.lock", "");
    add_credential(&h, "kuke-system", "ghcr.io", "bot", "pw");
    assert!(h
        .run_path
        .join("data/kuke-system/metadata.json.lock")
        .exists());
    assert_eq!(record(&h, "kuke-system").1["metadata"]["generation"], 1);
}

#[test]
fn create_keeps_the_reason_kukeon_wrote() {
    let h = Harness::start();
    instance(&h, "kukeon.io");
    kuke_ok(&h, &["create", "realm", "why"]);
    // Kukeon records a reason of its own (as its reconciler does).
    let path = record_path(&h, "why");
    let (_, mut doc) = record(&h, "why");
    doc["status"]["reason"] = json!("ReconcileDrift");
    doc["status"]["message"] = json!("observed by kukeond");
    kukeon_write(&path, &doc);
    // A repair rewrites the record (the namespace went missing) ...
    h.ctr_ok(&["namespaces", "rm", "why.kukeon.io"]);
    let out = kuke_ok(&h, &["create", "realm", "why"]);
    assert!(out.contains("repaired"), "{out}");
    let (text, doc) = record(&h, "why");
    // ... and keeps Kukeon's reason and message.
    assert_eq!(doc["status"]["reason"], "ReconcileDrift", "{text}");
    assert_eq!(doc["status"]["message"], "observed by kukeond", "{text}");
}

#[test]
fn a_write_keeps_every_key_where_kukeon_had_it() {
    let h = Harness::start();
    instance(&h, "kukeon.io");
    // Keys Kukeon's struct does not have, between and before known ones.
    let before = "{\n  \"apiVersion\": \"v1beta1\",\n  \"kind\": \"Realm\",\n  \"metadata\": {\n    \"name\": \"keys\",\n    \"annotations\": {\n      \"z\": \"1\",\n      \"a\": \"keep \\u003cme\\u003e \\u0026 co\"\n    },\n    \"labels\": {\n      \"team\": \"x\"\n    },\n    \"generation\": 4\n  },\n  \"future\": true,\n  \"spec\": {\n    \"quota\": 2,\n    \"namespace\": \"keys.kukeon.io\"\n  },\n  \"status\": {\n    \"custom\": 1,\n    \"state\": \"Ready\"\n  }\n}\n";
    let path = put(&h, "data/keys/metadata.json", before);
    put(&h, "data/keys/metadata.json.lock", "");
    add_credential(&h, "keys", "r.io", "u", "pw");
    // The one key the write adds besides the credential: updatedAt, where
    // Kukeon's struct has it (after state here).
    let after = fs::read_to_string(&path).unwrap();
    let at = after
        .find(",\n    \"updatedAt\": \"")
        .unwrap_or_else(|| panic!("no updatedAt after state:\n{after}"));
    let end = at + 2 + after[at + 2..].find('\n').unwrap();
    let after = format!("{}{}", &after[..at], &after[end..]);
    let want = before
        .replace("\"generation\": 4", "\"generation\": 5")
        .replace(
            "    \"namespace\": \"keys.kukeon.io\"\n  },",
            "    \"namespace\": \"keys.kukeon.io\",\n    \"registryCredentials\": [\n      {\n        \"username\": \"u\",\n        \"password\": \"pw\",\n        \"serverAddress\": \"r.io\"\n      }\n    ]\n  },",
        );
    assert_eq!(after, want, "keys moved or bytes differ from Go's encoder");
}
