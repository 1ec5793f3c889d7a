//! Bad input gets one clear line, the right exit code, and changes nothing;
//! a broken record never hides the good ones; an unreachable daemon fails
//! fast with the socket named.

mod common;

use common::Harness;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn kuke(h: &Harness, args: &[&str]) -> Output {
    h.kuke()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run kuke-tui")
}

fn one_line_error(out: &Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert_eq!(err.lines().count(), 1, "exactly one line: {err:?}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains('\u{1b}'), "no raw escapes: {err:?}");
}

fn run_path_entries(h: &Harness) -> Vec<String> {
    match std::fs::read_dir(&h.run_path) {
        Ok(read) => read
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn hostile_names_labels_and_secrets_are_refused() {
    let h = Harness::start();
    let long = "a".repeat(64);
    for name in [
        "../x",
        "a/b",
        "A",
        "-x",
        "x-",
        "a_b",
        ".",
        "..",
        "a b",
        "",
        "\u{1b}[31mred",
        long.as_str(),
    ] {
        let out = kuke(&h, &["create", "realm", name]);
        one_line_error(&out, 2, "lowercase letters, digits and '-'");
    }
    one_line_error(
        &kuke(&h, &["create", "realm", "ok", "--namespace", "bad..ns"]),
        2,
        "invalid namespace",
    );
    // A valid name whose namespace containerd would refuse.
    one_line_error(
        &kuke(&h, &["create", "realm", "a--b"]),
        2,
        "gives namespace \"kukeon-a--b\", which containerd refuses",
    );
    one_line_error(
        &kuke(&h, &["create", "realm", "ok", "--label", "novalue"]),
        2,
        "key=value",
    );
    assert!(
        run_path_entries(&h).is_empty(),
        "nothing created: {:?}",
        run_path_entries(&h)
    );
    assert!(h.ctr_ok(&["namespaces", "ls", "-q"]).trim().is_empty());

    // A namespace already claimed by another realm is refused.
    assert!(kuke(&h, &["create", "realm", "owner"]).status.success());
    one_line_error(
        &kuke(
            &h,
            &["create", "realm", "thief", "--namespace", "kukeon-owner"],
        ),
        2,
        "already belongs to realm \"owner\"",
    );
    assert!(!h.run_path.join("thief").exists());
    assert!(kuke(&h, &["delete", "realm", "owner", "--yes"])
        .status
        .success());

    // The system realm is protected, before anything is asked of containerd.
    one_line_error(
        &kuke(
            &h,
            &["delete", "realm", "kukeon-system", "--cascade", "--yes"],
        ),
        2,
        "--force",
    );

    // Credentials: empty password, bad server, empty username; nothing written.
    let ok = kuke(&h, &["create", "realm", "creds"]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let before = std::fs::read(h.run_path.join("creds/realm.yaml")).unwrap();
    let empty = h.dir.join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let empty = empty.to_str().unwrap();
    let base = ["create", "registry-credential", "creds"];
    let cases: [(&[&str], &str); 4] = [
        (
            &["--server", "r.io", "--username", "u", "--from-file", empty],
            "password is empty",
        ),
        (
            &[
                "--server",
                "bad host",
                "--username",
                "u",
                "--from-file",
                empty,
            ],
            "invalid --server",
        ),
        (
            &["--server", "r.io", "--username", "", "--from-file", empty],
            "invalid --username",
        ),
        (
            &[
                "--server",
                "r.io",
                "--username",
                "u",
                "--from-file",
                "/nonexistent/pw",
            ],
            "/nonexistent/pw",
        ),
    ];
    for (args, needle) in cases {
        let all: Vec<&str> = base.iter().chain(args.iter()).copied().collect();
        let out = kuke(&h, &all);
        let code = if needle == "/nonexistent/pw" { 1 } else { 2 };
        one_line_error(&out, code, needle);
    }
    let out = kuke(
        &h,
        &[
            "create",
            "registry-credential",
            "creds",
            "--server",
            "r.io",
            "--username",
            "u",
            "--password-stdin",
        ],
    );
    one_line_error(&out, 2, "password is empty");
    assert_eq!(
        std::fs::read(h.run_path.join("creds/realm.yaml")).unwrap(),
        before,
        "record unchanged"
    );

    // Existing realms with hostile names can't be used to escape the run path.
    one_line_error(
        &kuke(&h, &["delete", "realm", "../etc", "--yes"]),
        2,
        "single path component",
    );
    one_line_error(
        &kuke(&h, &["get", "registry-credentials", ".."]),
        2,
        "single path component",
    );

    // Usage errors from clap exit 2 too.
    assert_eq!(
        kuke(&h, &["get", "realms", "-o", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        kuke(&h, &["delete", "realm", "x", "--grace", "soon"])
            .status
            .code(),
        Some(2)
    );
    let out = kuke(&h, &["delete", "realm", "creds", "--cascade", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn malformed_record_is_listed_beside_good_ones() {
    let h = Harness::start();
    assert!(kuke(&h, &["create", "realm", "good"]).status.success());
    let broken = h.run_path.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("realm.yaml"),
        "metadata:\n  name: broken\nspec:\n  namespace: [unclosed\n",
    )
    .unwrap();
    std::fs::create_dir_all(h.run_path.join("norecord")).unwrap();
    std::fs::write(h.run_path.join("garbage.yaml"), "not a realm").unwrap();

    let out = kuke(&h, &["get", "realms", "-o", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = list["items"].as_array().unwrap();
    let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["broken", "good", "norecord"]);
    assert_eq!(items[0]["state"], "Invalid");
    let err = items[0]["error"].as_str().unwrap();
    assert!(
        err.contains("broken/realm.yaml:") && err.contains(':'),
        "file and line: {err}"
    );
    assert_eq!(items[1]["state"], "Ready");
    assert!(
        items[2]["error"]
            .as_str()
            .unwrap()
            .contains("record is missing"),
        "{}",
        items[2]
    );

    let out = kuke(&h, &["get", "realms"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("Invalid") && table.contains("good"),
        "{table}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken/realm.yaml:"));

    // An invalid realm can still be deleted.
    let out = kuke(&h, &["delete", "realm", "broken", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!broken.exists());
    assert!(kuke(&h, &["delete", "realm", "good", "--yes"])
        .status
        .success());
}

#[test]
fn unreachable_containerd_fails_fast_with_the_socket_named() {
    let h = Harness::start();
    let missing = h.dir.join("missing.sock");
    let started = Instant::now();
    let out = h
        .kuke()
        .args([
            "get",
            "realms",
            "--containerd-socket",
            missing.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    one_line_error(&out, 1, missing.to_str().unwrap());
    assert!(started.elapsed() < Duration::from_secs(3));

    // A socket that accepts but never answers: bounded by --timeout.
    let silent = h.dir.join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    let started = Instant::now();
    let out = h
        .kuke()
        .args([
            "get",
            "realms",
            "--timeout",
            "1s",
            "--containerd-socket",
            silent.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    one_line_error(&out, 1, silent.to_str().unwrap());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[test]
fn terminal_confirmation_requires_the_exact_realm_name() {
    let h = Harness::start();
    assert!(kuke(&h, &["create", "realm", "typed"]).status.success());
    // `script` gives the command a real pseudo-terminal; our stdin feeds it.
    let confirm = |answer: &str| {
        let cmd = format!(
            "{} delete realm typed --cascade",
            env!("CARGO_BIN_EXE_kuke-tui")
        );
        let mut child = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("KUKEON_RUN_PATH", &h.run_path)
            .env("KUKEON_CONTAINERD_SOCKET", &h.socket)
            .env("KUKEON_CGROUP_ROOT", &h.cgroup_root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("script(1) from util-linux");
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{answer}\n").as_bytes()).unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    };
    let out = confirm("typo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Type the realm name"), "{text}");
    assert!(text.contains("does not match"), "{text}");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        h.run_path.join("typed").exists(),
        "nothing deleted on a wrong answer"
    );

    let out = confirm("typed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("realm \"typed\" deleted"), "{text}");
    assert!(!h.run_path.join("typed").exists());
}

#[test]
fn without_root_the_error_names_what_needs_privilege() {
    let h = Harness::start();
    assert!(kuke(&h, &["create", "realm", "private"]).status.success());
    let as_nobody = |args: &[&str]| {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(env!("CARGO_BIN_EXE_kuke-tui"))
            .args(args)
            .env("KUKEON_RUN_PATH", &h.run_path)
            .env("KUKEON_CONTAINERD_SOCKET", &h.socket)
            .env("KUKEON_CGROUP_ROOT", &h.cgroup_root)
            .stdin(Stdio::null())
            .output()
            .expect("setpriv from util-linux");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The daemon's socket is root's.
    let (code, err) = as_nobody(&["get", "realms"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(h.socket.to_str().unwrap()) && err.contains("root"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Records are 0600 (they hold passwords): reading one needs root.
    let (code, err) = as_nobody(&["get", "registry-credentials", "private"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("private/realm.yaml") && err.contains("run kuke-tui as root"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(kuke(&h, &["delete", "realm", "private", "--yes"])
        .status
        .success());
}
