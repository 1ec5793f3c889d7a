//! Daemon mode against a real kukeonv1 peer (Go's own `net/rpc/jsonrpc`,
//! `tests/peer/kukeond`): on a run path in Kukeon's layout, while the peer
//! answers, `create realm`, `delete realm [--cascade] [--force]` and the
//! registry-credential commands go to it in Kukeon's wire format and change
//! nothing locally; its errors, hangs and dropped connections give one line;
//! `--direct` is refused while it answers (unless `--force`); without it the
//! same commands work directly; `get realms` and the console show its state.
//!
//! The peer decodes into structs with Kukeon's exported field names and json
//! tags and records what it decoded, so every assertion on a request is on
//! what a Go daemon would have seen.

mod common;

use common::kukeond::Peer;
use common::pane::{wait_for, Pane};
use common::{json_of, ok_stdout, one_line_error, run_cmd, stderr_of, Harness};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SECRET: &str = "s3cret-Pa55-daemon";

/// `kuke-tui <args>` at the harness, the layout detected from the instance
/// file and the cgroup root taken from it.
fn cmd(h: &Harness, args: &[&str]) -> Command {
    let mut c = h.kuke_instance_root();
    c.args(args);
    c
}

fn kuke(h: &Harness, args: &[&str]) -> Output {
    run_cmd(cmd(h, args), None)
}

fn kuke_in(h: &Harness, args: &[&str], input: &str) -> Output {
    run_cmd(cmd(h, args), Some(input))
}

fn kuke_ok(h: &Harness, args: &[&str]) -> String {
    ok_stdout(&kuke(h, args), &format!("kuke-tui {args:?}"))
}

/// Kukeon's layout: the instance file, a cgroup root below the harness'.
fn kukeon_host(h: &Harness) -> String {
    let root = format!("{}/kk", h.cgroup_root);
    fs::create_dir_all(h.run_path.join("data")).unwrap();
    fs::write(
        h.run_path.join(".kukeon-instance.json"),
        format!("{{\n  \"containerdNamespaceSuffix\": \"kukeon.io\",\n  \"cgroupRoot\": \"{root}\"\n}}\n"),
    )
    .unwrap();
    root
}

/// Every file under the run path with its bytes: "nothing changed locally".
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                walk(&p, out);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// A realm record as Kukeon writes it, with one credential.
fn put_realm(h: &Harness, name: &str, root: &str) -> PathBuf {
    let doc = serde_json::json!({
        "apiVersion": "v1beta1",
        "kind": "Realm",
        "metadata": {"name": name, "labels": {"team": "platform"}},
        "spec": {
            "namespace": format!("{name}.kukeon.io"),
            "registryCredentials": [
                {"username": "robot", "password": SECRET, "serverAddress": "registry.example.com"}
            ]
        },
        "status": {"state": "Ready", "cgroupPath": format!("{root}/{name}"), "createdAt": "2026-01-02T03:04:05Z"}
    });
    let path = h.run_path.join("data").join(name).join("metadata.json");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
    path
}

/// The ApplyDocuments request's YAML, checked against its base64 `RawYAML`.
fn applied_yaml(req: &Value) -> serde_yaml_ng::Value {
    assert_eq!(req["method"], "KukeonV1.ApplyDocuments");
    let text = req["rawYAML"].as_str().expect("the peer decoded RawYAML");
    let raw = req["args"]["RawYAML"]
        .as_str()
        .expect("RawYAML is base64 text");
    assert_eq!(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, raw).unwrap(),
        text.as_bytes(),
        "RawYAML travels as Go's base64 of the YAML"
    );
    serde_yaml_ng::from_str(text).expect("RawYAML is YAML")
}

fn credentials_of(doc: &serde_yaml_ng::Value) -> Vec<(String, String, String)> {
    doc["spec"]["registryCredentials"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|c| {
                    (
                        c["serverAddress"].as_str().unwrap_or("").to_string(),
                        c["username"].as_str().unwrap_or("").to_string(),
                        c["password"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn create_goes_through_the_daemon_and_changes_nothing_locally() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    let peer = Peer::start(&h);
    let before = tree(&h.run_path);
    let out = kuke_ok(&h, &["create", "realm", "alpha", "--label", "team=web"]);
    assert!(out.contains("through kukeond v0.6.1-peer"), "{out}");
    assert!(
        out.contains("kukeond: existed no, created yes, exists yes"),
        "{out}"
    );
    assert_eq!(peer.methods(), ["KukeonV1.Ping", "KukeonV1.CreateRealm"]);
    let args = &peer.requests()[1]["args"];
    let doc = &args["Doc"];
    assert_eq!(doc["apiVersion"], "v1beta1");
    assert_eq!(doc["kind"], "Realm");
    assert_eq!(doc["metadata"]["name"], "alpha");
    assert_eq!(doc["metadata"]["labels"]["team"], "web");
    // As `kuke create realm` without --namespace: the daemon picks it.
    assert_eq!(doc["spec"]["namespace"], "");
    // Nothing of ours: no record, no namespace, no cgroup.
    assert_eq!(tree(&h.run_path), before);
    assert!(!h.namespaces().contains(&"alpha.kukeon.io".to_string()));
    assert!(h.cgroup_dirs(&format!("{root}/alpha")).is_empty());

    // --namespace travels as spec.namespace.
    peer.clear();
    kuke_ok(&h, &["create", "realm", "beta", "--namespace", "beta-ns"]);
    assert_eq!(
        peer.requests()[1]["args"]["Doc"]["spec"]["namespace"],
        "beta-ns"
    );
    // Bad input is refused before the daemon is asked at all.
    peer.clear();
    one_line_error(
        &kuke(&h, &["create", "realm", "bad_name"]),
        2,
        &["bad_name"],
    );
    assert!(peer.methods().is_empty(), "{:?}", peer.methods());
}

#[test]
fn delete_cascade_and_force_go_through_the_daemon() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    // The realm and a running task, made directly (no daemon yet).
    kuke_ok(&h, &["create", "realm", "cas"]);
    let ns = "cas.kukeon.io";
    h.import_image(ns);
    h.run_task(ns, "t1", &format!("{root}/cas/t1"), &["/bin/sleep", "3600"]);
    let peer = Peer::start(&h);
    let before = tree(&h.run_path);

    // The dry run is local: no call at all.
    let plan = kuke_ok(&h, &["delete", "realm", "cas", "--dry-run"]);
    assert!(plan.contains("t1"), "{plan}");
    assert!(peer.methods().is_empty(), "{:?}", peer.methods());
    // Without --cascade the local plan refuses; DeleteRealm is never sent.
    one_line_error(
        &kuke(&h, &["delete", "realm", "cas", "--yes"]),
        1,
        &["--cascade"],
    );
    assert_eq!(peer.methods(), ["KukeonV1.Ping"]);

    peer.clear();
    let out = kuke_ok(&h, &["delete", "realm", "cas", "--cascade", "--yes"]);
    assert!(out.contains("through kukeond v0.6.1-peer"), "{out}");
    // What the daemon reported: its Deleted list and flags.
    assert!(out.contains("deleted: space/default, realm/cas"), "{out}");
    assert_eq!(peer.methods(), ["KukeonV1.Ping", "KukeonV1.DeleteRealm"]);
    let args = &peer.requests()[1]["args"];
    assert_eq!(args["Doc"]["metadata"]["name"], "cas");
    assert_eq!(args["Doc"]["spec"]["namespace"], ns);
    assert_eq!(args["Cascade"], true);
    assert_eq!(args["Force"], false);
    // The daemon owns the teardown: our side touched nothing.
    assert_eq!(h.task_status(ns, "t1").as_deref(), Some("RUNNING"));
    assert_eq!(tree(&h.run_path), before);

    peer.clear();
    kuke_ok(
        &h,
        &["delete", "realm", "cas", "--cascade", "--force", "--yes"],
    );
    let args = &peer.requests()[1]["args"];
    assert_eq!(
        (args["Cascade"].clone(), args["Force"].clone()),
        (Value::Bool(true), Value::Bool(true))
    );
    assert_eq!(tree(&h.run_path), before);
}

#[test]
fn credentials_go_through_get_realm_and_apply_documents() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    let record = put_realm(&h, "main", &root);
    let peer = Peer::start(&h);
    let before = tree(&h.run_path);
    let add = |server: &str, user: &str, password: &str| {
        peer.clear();
        let args = common::credential_args("main", server, user, &["--password-stdin"]);
        let out = kuke_in(&h, &args, password);
        let text = ok_stdout(&out, "create registry-credential");
        assert_eq!(
            peer.methods(),
            [
                "KukeonV1.Ping",
                "KukeonV1.GetRealm",
                "KukeonV1.ApplyDocuments"
            ]
        );
        let reqs = peer.requests();
        assert_eq!(reqs[1]["args"]["Doc"]["metadata"]["name"], "main");
        (text, applied_yaml(&reqs[2]))
    };

    // A new server is appended to what GetRealm returned.
    let (text, doc) = add("ghcr.io", "bot", "pw-new-1");
    assert!(text.contains("added"), "{text}");
    assert_eq!(doc["apiVersion"], "v1beta1");
    assert_eq!(doc["kind"], "Realm");
    assert_eq!(doc["metadata"]["name"], "main");
    assert_eq!(doc["metadata"]["labels"]["team"], "platform");
    assert_eq!(doc["spec"]["namespace"], "main.kukeon.io");
    // Status reset as kuke does (Go's zero status is `state: Pending`).
    assert_eq!(doc["status"]["state"], "Pending");
    assert!(doc["status"]["cgroupPath"].is_null());
    let creds = credentials_of(&doc);
    assert_eq!(creds.len(), 2);
    assert_eq!(
        creds[0],
        ("registry.example.com".into(), "robot".into(), SECRET.into())
    );
    assert!(
        creds[1] == ("ghcr.io".into(), "bot".into(), "pw-new-1".into()),
        "the new entry"
    );

    // The same server and username: the password is replaced in place.
    let (text, doc) = add("registry.example.com", "robot", "pw-rotated");
    assert!(text.contains("updated"), "{text}");
    let creds = credentials_of(&doc);
    assert_eq!(creds.len(), 1);
    assert!(
        creds[0]
            == (
                "registry.example.com".into(),
                "robot".into(),
                "pw-rotated".into()
            )
    );

    // Kukeon keys by server alone: another username replaces the entry, and says so.
    let (text, doc) = add("registry.example.com", "someone-else", "pw-other");
    assert!(text.contains("replaced the server's entry"), "{text}");
    let creds = credentials_of(&doc);
    assert_eq!(creds.len(), 1);
    assert!(
        creds[0]
            == (
                "registry.example.com".into(),
                "someone-else".into(),
                "pw-other".into()
            )
    );

    // Remove: the entry is gone from the applied document.
    peer.clear();
    let out = kuke_ok(
        &h,
        &[
            "delete",
            "registry-credential",
            "main",
            "--server",
            "registry.example.com",
        ],
    );
    assert!(out.contains("removed 1"), "{out}");
    assert_eq!(
        peer.methods(),
        [
            "KukeonV1.Ping",
            "KukeonV1.GetRealm",
            "KukeonV1.ApplyDocuments"
        ]
    );
    assert!(credentials_of(&applied_yaml(&peer.requests()[2])).is_empty());
    // A server it does not have: refused after GetRealm, nothing applied.
    peer.clear();
    one_line_error(
        &kuke(
            &h,
            &[
                "delete",
                "registry-credential",
                "main",
                "--server",
                "nope.io",
            ],
        ),
        1,
        &["nope.io"],
    );
    assert_eq!(peer.methods(), ["KukeonV1.Ping", "KukeonV1.GetRealm"]);

    // The record on disk is the daemon's to change: untouched, and no output carried a secret.
    assert_eq!(tree(&h.run_path), before);
    assert!(fs::read_to_string(record).unwrap().contains(SECRET));
}

#[test]
fn direct_mode_keys_credentials_by_server_on_kukeon_layout() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    let record = put_realm(&h, "main", &root);
    // No daemon: the same commands change the record directly, same semantics.
    let args = common::credential_args(
        "main",
        "registry.example.com",
        "someone-else",
        &["--password-stdin"],
    );
    let out = ok_stdout(&kuke_in(&h, &args, "pw-direct"), "direct add");
    assert!(out.contains("replaced the server's entry"), "{out}");
    assert!(!out.contains("kukeond"), "{out}");
    let doc: Value = serde_json::from_str(&fs::read_to_string(&record).unwrap()).unwrap();
    let creds = doc["spec"]["registryCredentials"].as_array().unwrap();
    assert_eq!(creds.len(), 1, "one entry per server");
    assert_eq!(creds[0]["username"], "someone-else");
    assert!(creds[0]["password"] == "pw-direct");
}

/// A daemon failure of each kind: one line naming the socket, exit 1, and
/// nothing changed on our side.
#[test]
fn daemon_errors_hangs_and_drops_give_one_line_and_change_nothing() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    put_realm(&h, "main", &root);
    let peer = Peer::start(&h);
    let sock = h.daemon_socket().display().to_string();
    let before = tree(&h.run_path);
    let cred = common::credential_args(
        "main",
        "ghcr.io",
        "bot",
        &["--password-stdin", "--timeout", "1s"],
    );
    let cases: [(&str, &str, &[&str]); 3] = [
        (
            "error",
            "refused",
            &["ResourceHasDependencies", "it has spaces"],
        ),
        ("hang", "did not answer", &[&sock, "within", "restart"]),
        ("drop", "closed the connection", &[&sock, "journalctl"]),
    ];
    for (mode, what, needles) in cases {
        peer.control(&format!(
            r#"{{"*": {{"mode": "{mode}", "kind": "ResourceHasDependencies", "message": "it has spaces"}}, "Ping": {{}}, "GetRealm": {{}}}}"#
        ));
        for args in [
            vec!["create", "realm", "gamma", "--timeout", "1s"],
            vec![
                "delete",
                "realm",
                "main",
                "--yes",
                "--timeout",
                "1s",
                "--grace",
                "1s",
            ],
        ] {
            let started = Instant::now();
            let out = kuke(&h, &args);
            let line = one_line_error(&out, 1, needles);
            assert!(line.contains(what), "{mode} {args:?}: {line}");
            if mode == "hang" {
                // --timeout bounds a call; a delete's bound adds --grace per container (none here).
                let bound = if args[0] == "delete" {
                    "within 2s"
                } else {
                    "within 1s"
                };
                assert!(line.contains(bound), "{line}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{mode}: bounded"
            );
        }
        let out = kuke_in(&h, &cred, "pw");
        let line = one_line_error(&out, 1, needles);
        assert!(!line.contains("pw"), "{line}");
        assert_eq!(tree(&h.run_path), before, "{mode}: nothing changed locally");
    }
    // A socket that accepts but does not answer Ping: mutations refused with
    // the socket and the fix, reads still work.
    peer.control(r#"{"Ping": {"mode": "hang"}}"#);
    one_line_error(
        &kuke(&h, &["create", "realm", "delta", "--timeout", "1s"]),
        1,
        &[&sock, "does not answer", "--direct"],
    );
    let list = json_of(
        &kuke_ok(&h, &["get", "realms", "-o", "json", "--timeout", "1s"]),
        "get realms",
    );
    assert_eq!(list["daemon"]["state"], "notAnswering");
    assert_eq!(list["daemon"]["mutations"], "refused");
    assert_eq!(list["items"][0]["name"], "main");
    assert_eq!(tree(&h.run_path), before);
}

#[test]
fn direct_is_refused_while_the_daemon_answers_unless_forced() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    let peer = Peer::start(&h);
    let line = one_line_error(
        &kuke(&h, &["--direct", "create", "realm", "x1"]),
        2,
        &["--direct", "reconcile", "--force"],
    );
    assert!(
        line.contains(&h.daemon_socket().display().to_string()),
        "{line}"
    );
    assert_eq!(peer.methods(), ["KukeonV1.Ping"]);
    assert!(!h.run_path.join("data/x1").exists());
    // Kukeon's KUKEON_NO_DAEMON means --direct, and is refused the same way.
    let mut by_env = cmd(&h, &["create", "realm", "x1"]);
    by_env.env("KUKEON_NO_DAEMON", "true");
    one_line_error(&run_cmd(by_env, None), 2, &["--direct", "reconcile"]);
    assert!(!h.run_path.join("data/x1").exists());
    // With --force it acts directly: a real realm, and no CreateRealm sent.
    kuke_ok(&h, &["--direct", "create", "realm", "x1", "--force"]);
    assert!(h.run_path.join("data/x1/metadata.json").is_file());
    assert!(h.namespaces().contains(&"x1.kukeon.io".to_string()));
    assert!(!h.cgroup_dirs(&format!("{root}/x1")).is_empty());
    assert!(!peer.methods().contains(&"KukeonV1.CreateRealm".to_string()));
}

#[test]
fn without_a_daemon_changes_are_direct() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    // No socket at all.
    let list = json_of(&kuke_ok(&h, &["get", "realms", "-o", "json"]), "get realms");
    assert_eq!(list["daemon"]["state"], "absent");
    assert_eq!(list["daemon"]["mutations"], "direct");
    let out = kuke(&h, &["get", "realms", "-o", "wide"]);
    assert!(
        stderr_of(&out).contains("daemon: no daemon at"),
        "{}",
        stderr_of(&out)
    );
    kuke_ok(&h, &["create", "realm", "solo"]);
    assert!(h.run_path.join("data/solo/metadata.json").is_file());
    // A stale socket file (the daemon died): connection refused, still direct.
    drop(std::os::unix::net::UnixListener::bind(h.daemon_socket()).unwrap());
    assert!(h.daemon_socket().exists());
    kuke_ok(&h, &["delete", "realm", "solo", "--yes"]);
    assert!(!h.run_path.join("data/solo").exists());
    assert!(h.cgroup_dirs(&format!("{root}/solo")).is_empty());
    // An ssh:// host: one line for a change, reads still work.
    let mut c = cmd(&h, &["create", "realm", "x"]);
    c.env("KUKEON_HOST", "ssh://root@far");
    one_line_error(
        &run_cmd(c, None),
        2,
        &["ssh://", "not supported yet", "unix://"],
    );
    let mut c = cmd(&h, &["get", "realms", "-o", "json"]);
    c.env("KUKEON_HOST", "ssh://root@far");
    let list = json_of(&ok_stdout(&run_cmd(c, None), "get realms"), "get realms");
    assert_eq!(list["daemon"]["state"], "unsupported");
}

#[test]
fn get_realms_and_the_console_show_the_daemon() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    put_realm(&h, "main", &root);
    let peer = Peer::start(&h);
    let list = json_of(&kuke_ok(&h, &["get", "realms", "-o", "json"]), "get realms");
    let d = &list["daemon"];
    assert_eq!(d["state"], "answering");
    assert_eq!(d["version"], "v0.6.1-peer");
    assert_eq!(d["mutations"], "daemon");
    assert_eq!(d["socket"], h.daemon_socket().display().to_string());
    let out = kuke(&h, &["get", "realms", "-o", "wide"]);
    let err = stderr_of(&out);
    assert!(
        err.contains("daemon: kukeond v0.6.1-peer at") && err.contains("changes go through it"),
        "{err}"
    );
    // The plain table does not ask.
    peer.clear();
    kuke_ok(&h, &["get", "realms"]);
    assert!(peer.methods().is_empty());

    // The console's header.
    let pane = Pane::start(&h, None, &[]);
    wait_for(&pane, "kukeond v0.6.1-peer", Duration::from_secs(15));
    drop(pane);
    drop(peer);
    let pane = Pane::start(&h, None, &[]);
    wait_for(&pane, "no daemon", Duration::from_secs(15));
}

/// The closing figures: calls sent per operation, and a cascade through the
/// peer against the same cascade made directly. Prints them.
#[test]
fn measure_cascade_through_the_daemon_against_direct() {
    let tasks = 6;
    let seed = |h: &Harness| {
        let root = kukeon_host(h);
        kuke_ok(h, &["create", "realm", "bench"]);
        let ns = "bench.kukeon.io";
        h.import_image(ns);
        for i in 0..tasks {
            h.run_task(
                ns,
                &format!("t{i}"),
                &format!("{root}/bench/t{i}"),
                &["/bin/sleep", "3600"],
            );
        }
    };
    let timed = |h: &Harness| {
        let started = Instant::now();
        kuke_ok(
            h,
            &[
                "delete",
                "realm",
                "bench",
                "--cascade",
                "--yes",
                "--grace",
                "2s",
            ],
        );
        started.elapsed()
    };
    let h = Harness::start();
    seed(&h);
    let direct = timed(&h);
    assert!(h.task_status("bench.kukeon.io", "t0").is_none());
    let h2 = Harness::start();
    seed(&h2);
    let peer = Peer::start(&h2);
    let via = timed(&h2);
    let calls = peer.methods();
    assert_eq!(calls, ["KukeonV1.Ping", "KukeonV1.DeleteRealm"]);
    eprintln!(
        "measure: cascade of a realm with {tasks} running tasks: direct {:?}, through the kukeond peer {:?} ({} calls: {:?}; the peer tears nothing down, so this is kuke-tui's own cost: the local plan plus the calls)",
        direct,
        via,
        calls.len(),
        calls
    );
}

/// The console routes the same way as the CLI: create and delete from the
/// console reach the peer, and nothing local changes.
#[test]
fn console_changes_go_through_the_daemon() {
    let h = Harness::start();
    let root = kukeon_host(&h);
    put_realm(&h, "main", &root);
    let peer = Peer::start(&h);
    let before = tree(&h.run_path);
    let wait = Duration::from_secs(15);
    let pane = Pane::start(&h, None, &[]);
    wait_for(&pane, "kukeond v0.6.1-peer", wait);
    pane.keys(&["c"]);
    wait_for(&pane, "Create realm", wait);
    pane.type_text("viad");
    wait_for(&pane, "[viad", wait);
    pane.keys(&["Enter"]);
    let screen = wait_for(&pane, "is Ready", wait);
    assert!(
        screen.contains("(kukeond: existed"),
        "the daemon's flags: {screen}"
    );
    let creates: Vec<Value> = peer
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "KukeonV1.CreateRealm")
        .collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0]["args"]["Doc"]["metadata"]["name"], "viad");
    pane.keys(&["Enter"]);
    common::pane::wait_until(&pane, "the form closed", wait, |s| {
        !s.contains("Create realm")
    });

    pane.keys(&["d"]);
    wait_for(&pane, "y delete", wait);
    pane.keys(&["y"]);
    wait_for(&pane, "realm main deleted", wait);
    let deletes: Vec<Value> = peer
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "KukeonV1.DeleteRealm")
        .collect();
    assert_eq!(deletes.len(), 1, "{:?}", peer.methods());
    assert_eq!(deletes[0]["args"]["Doc"]["metadata"]["name"], "main");
    assert_eq!(tree(&h.run_path), before);
}

/// The documented layout is not the daemon's: changes there are direct and
/// the daemon is not even asked (a hung socket cannot slow them).
#[test]
fn documented_layout_is_changed_directly() {
    let h = Harness::start();
    let peer = Peer::start(&h);
    peer.control(r#"{"Ping": {"mode": "hang"}}"#);
    let started = Instant::now();
    kuke_ok(&h, &["create", "realm", "docs", "--timeout", "3s"]);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the hung daemon was waited on"
    );
    assert!(h.run_path.join("docs/realm.yaml").is_file());
    assert!(peer.methods().is_empty(), "{:?}", peer.methods());
    // `get realms -o json` still reports it, and that changes go direct.
    let list = json_of(
        &kuke_ok(&h, &["get", "realms", "-o", "json", "--timeout", "1s"]),
        "get realms",
    );
    assert_eq!(list["daemon"]["state"], "notAnswering");
    assert_eq!(list["daemon"]["mutations"], "direct");
    kuke_ok(&h, &["delete", "realm", "docs", "--yes"]);
    assert!(!h.run_path.join("docs").exists());
}
