//! Bad input gets one clear line, the right exit code, and changes nothing;
//! a broken record never hides the good ones; an unreachable daemon fails
//! fast with the socket named.

mod common;

use common::{credential_args, one_line_error, run_cmd, Harness};
use std::time::{Duration, Instant};

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
        let out = h.run(&["create", "realm", name]);
        one_line_error(&out, 2, &["lowercase letters, digits and '-'"]);
    }
    one_line_error(
        &h.run(&["create", "realm", "ok", "--namespace", "bad..ns"]),
        2,
        &["invalid namespace"],
    );
    // A valid name whose namespace containerd would refuse.
    one_line_error(
        &h.run(&["create", "realm", "a--b"]),
        2,
        &["gives namespace \"kukeon-a--b\", which containerd refuses"],
    );
    one_line_error(
        &h.run(&["create", "realm", "ok", "--label", "novalue"]),
        2,
        &["key=value"],
    );
    assert!(
        run_path_entries(&h).is_empty(),
        "nothing created: {:?}",
        run_path_entries(&h)
    );
    assert!(h.ctr_ok(&["namespaces", "ls", "-q"]).trim().is_empty());

    // A namespace already claimed by another realm is refused.
    h.run_ok(&["create", "realm", "owner"]);
    one_line_error(
        &h.run(&["create", "realm", "thief", "--namespace", "kukeon-owner"]),
        2,
        &["already belongs to realm \"owner\""],
    );
    assert!(!h.run_path.join("thief").exists());
    h.run_ok(&["delete", "realm", "owner", "--yes"]);

    // The system realm is protected, before anything is asked of containerd.
    one_line_error(
        &h.run(&["delete", "realm", "kukeon-system", "--cascade", "--yes"]),
        2,
        &["--force"],
    );

    // Credentials: empty password, bad server, empty username; nothing written.
    h.run_ok(&["create", "realm", "creds"]);
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
        let out = h.run(&all);
        let code = if needle == "/nonexistent/pw" { 1 } else { 2 };
        one_line_error(&out, code, &[needle]);
    }
    let out = h.run(&credential_args(
        "creds",
        "r.io",
        "u",
        &["--password-stdin"],
    ));
    one_line_error(&out, 2, &["password is empty"]);
    assert_eq!(
        std::fs::read(h.run_path.join("creds/realm.yaml")).unwrap(),
        before,
        "record unchanged"
    );

    // Existing realms with hostile names can't be used to escape the run path.
    one_line_error(
        &h.run(&["delete", "realm", "../etc", "--yes"]),
        2,
        &["single path component"],
    );
    one_line_error(
        &h.run(&["get", "registry-credentials", ".."]),
        2,
        &["single path component"],
    );

    // Usage errors from clap exit 2 too.
    assert_eq!(
        h.run(&["get", "realms", "-o", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        h.run(&["delete", "realm", "x", "--grace", "soon"])
            .status
            .code(),
        Some(2)
    );
    h.run_ok(&["delete", "realm", "creds", "--cascade", "--yes"]);
}

#[test]
fn malformed_record_is_listed_beside_good_ones() {
    let h = Harness::start();
    h.run_ok(&["create", "realm", "good"]);
    let broken = h.run_path.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("realm.yaml"),
        "metadata:\n  name: broken\nspec:\n  namespace: [unclosed\n",
    )
    .unwrap();
    std::fs::create_dir_all(h.run_path.join("norecord")).unwrap();
    std::fs::write(h.run_path.join("garbage.yaml"), "not a realm").unwrap();

    let list = h.run_json(&["get", "realms", "-o", "json"]);
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

    let out = h.run(&["get", "realms"]);
    assert!(out.status.success());
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("Invalid") && table.contains("good"),
        "{table}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("broken/realm.yaml:"));

    // An invalid realm can still be deleted.
    h.run_ok(&["delete", "realm", "broken", "--yes"]);
    assert!(!broken.exists());
    h.run_ok(&["delete", "realm", "good", "--yes"]);
}

#[test]
fn unreachable_containerd_fails_fast_with_the_socket_named() {
    let h = Harness::start();
    let missing = h.dir.join("missing.sock");
    let started = Instant::now();
    let out = h.run(&[
        "get",
        "realms",
        "--containerd-socket",
        missing.to_str().unwrap(),
    ]);
    one_line_error(&out, 1, &[missing.to_str().unwrap()]);
    assert!(started.elapsed() < Duration::from_secs(3));

    // A socket that accepts but never answers: bounded by --timeout.
    let silent = h.dir.join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    let started = Instant::now();
    let out = h.run(&[
        "get",
        "realms",
        "--timeout",
        "1s",
        "--containerd-socket",
        silent.to_str().unwrap(),
    ]);
    one_line_error(&out, 1, &[silent.to_str().unwrap()]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[test]
fn terminal_confirmation_requires_the_exact_realm_name() {
    let h = Harness::start();
    h.run_ok(&["create", "realm", "typed"]);
    // `script` gives the command a real pseudo-terminal; our stdin feeds it.
    let confirm = |answer: &str| h.run_on_terminal("delete realm typed --cascade", answer);
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
    h.run_ok(&["create", "realm", "private"]);
    let as_nobody = |args: &[&str]| {
        let mut c = h.kuke_via(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]);
        c.args(args);
        let out = run_cmd(c, None);
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
    h.run_ok(&["delete", "realm", "private", "--yes"]);
}
