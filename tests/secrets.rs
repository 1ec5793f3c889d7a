//! Secrets never leave except where asked for. A full CLI scenario with known
//! passwords (stdin, file, update, every listing and describe format, delete
//! plans, error paths after the password was read, help, top, the cascade)
//! and a console session in tmux (credentials tab, YAML tab, add and edit
//! popups while typing, a failing save, the delete dialogs, the scrollback
//! after exit) are searched for each password and for the encodings that
//! could leak it (base64 of `user:password` as a docker `auth` field, base64
//! of the password, its JSON string form). Only `--show-secrets` output may
//! hold one, and it must. Records that hold credentials are mode 0600 in both
//! layouts, also after we write into a record that was 0644, and the temp
//! file of the atomic write is created 0600 (seen with strace: O_CREAT|O_EXCL
//! with mode 0600, no chmod). The password is never taken from argv.
//!
//! Needs root, containerd (scripts/setup.sh), tmux, strace and util-linux
//! `mount` (a read-only bind mount makes a record unwritable even for root).

mod common;

use common::pane::{wait_for, wait_until, Pane};
use common::{credential_args, ok_stdout, one_line_error_of, run_cmd, Harness};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const MASK: &str = "********";
const WAIT: Duration = Duration::from_secs(10);

/// base64 (standard alphabet, padded), as docker writes `auth`.
fn base64(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

/// A password and the forms of it that must not appear: raw, its JSON
/// string body, base64 of `user:password` and of the password alone, and
/// its distinctive middle (a partial print, e.g. a truncated cell).
struct Secret {
    password: &'static str,
    needles: Vec<String>,
}

impl Secret {
    fn new(user: &str, password: &'static str, core: &str) -> Secret {
        assert!(password.contains(core));
        let json = serde_json::to_string(password).unwrap();
        Secret {
            password,
            needles: vec![
                password.to_string(),
                json.trim_matches('"').to_string(),
                base64(format!("{user}:{password}").as_bytes()),
                base64(password.as_bytes()),
                core.to_string(),
            ],
        }
    }

    /// The first needle found in `text`.
    fn found_in(&self, text: &str) -> Option<&str> {
        self.needles
            .iter()
            .find(|n| text.contains(n.as_str()))
            .map(String::as_str)
    }
}

/// Every output of the binary, labelled; `allowed` marks `--show-secrets`.
#[derive(Default)]
struct Transcript {
    entries: Vec<(String, String, bool)>,
}

impl Transcript {
    /// `kuke-tui <args>` (no stdin) that must succeed; its output is kept
    /// under `label` as one that may not show a secret. Returns stdout.
    fn run_ok(&mut self, h: &Harness, args: &[&str], label: &str) -> String {
        let out = kuke(h, args, None);
        let stdout = ok_stdout(&out, label);
        self.add(label, &out, false);
        stdout
    }

    fn add(&mut self, label: &str, out: &Output, allowed: bool) {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        self.entries.push((label.to_string(), text, allowed));
    }

    fn bytes(&self) -> usize {
        self.entries.iter().map(|(_, t, _)| t.len()).sum()
    }

    /// No secret in any output that did not ask for it.
    fn assert_clean(&self, secrets: &[&Secret]) {
        for (label, text, allowed) in &self.entries {
            if *allowed {
                continue;
            }
            for s in secrets {
                if let Some(needle) = s.found_in(text) {
                    panic!("`{label}` prints a secret ({needle:?}):\n{text}");
                }
            }
        }
    }
}

/// Directories the binary could write logs, caches or state to, all empty
/// and private to the test: HOME, XDG_*, TMPDIR.
fn private_env(h: &Harness, cmd: &mut Command) -> PathBuf {
    let home = h.dir.join("home");
    for sub in ["", "config", "cache", "state", "data", "runtime", "tmp"] {
        fs::create_dir_all(home.join(sub)).unwrap();
    }
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home.join("runtime"))
        .env("TMPDIR", home.join("tmp"))
        .env_remove("KUKE_TUI_BACKTRACE")
        .env_remove("RUST_BACKTRACE");
    home
}

/// Every file below `dir` (recursively).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(read) = fs::read_dir(dir) {
        for entry in read.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// `kuke-tui <args>` with `stdin` fed (or none), at the harness, with a
/// private HOME/XDG/TMPDIR; `prefix` wraps it (setpriv, strace).
fn kuke_with(h: &Harness, prefix: &[&str], args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = h.kuke_via(prefix);
    cmd.args(args);
    private_env(h, &mut cmd);
    run_cmd(cmd, stdin)
}

fn kuke(h: &Harness, args: &[&str], stdin: Option<&str>) -> Output {
    kuke_with(h, &[], args, stdin)
}

/// Exit `code`, one stderr line containing `needle`, nothing on stdout.
fn one_line_refusal(out: &Output, code: i32, needle: &str, what: &str) {
    one_line_error_of(what, out, code, &[needle]);
    assert!(out.stdout.is_empty(), "{what}: stdout {:?}", out.stdout);
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Writes `text` at `path` with mode 0644 (another tool's record).
fn put_0644(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o644)).unwrap();
}

/// A read-only bind mount of a directory over itself, undone on drop: the
/// record below cannot be written even by root.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn new(dir: &Path) -> ReadOnly {
        let run = |args: &[&str]| {
            let out = Command::new("mount").args(args).output().expect("mount");
            assert!(
                out.status.success(),
                "mount {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let d = dir.to_str().unwrap();
        run(&["--bind", d, d]);
        let guard = ReadOnly(dir.to_path_buf());
        run(&["-o", "remount,bind,ro", d]);
        guard
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// The JSON list of `get registry-credentials -o json`.
fn creds_json(out: &str) -> Vec<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {out}"))
        .clone()
}

#[test]
fn cli_scenario_prints_passwords_only_with_show_secrets() {
    let started = Instant::now();
    let h = Harness::start();
    const SERVER: &str = "registry.secrets.test:5000";
    const USER: &str = "robot-sec";
    const SERVER2: &str = "ghcr.secrets.test";
    const USER2: &str = "deployer";
    let first = Secret::new(USER, "pw1-Qz7Kx41-first.Pass", "Qz7Kx41");
    let file = Secret::new(USER2, "pw2-Wv9Hm52-file_Pass", "Wv9Hm52");
    let updated = Secret::new(USER, "pw3-Jt3Rb63-updated.Pass", "Jt3Rb63");
    let long = Secret::new(
        "longpw",
        "pw6-Gh4Tn96-a-much-longer-password-of-sixty-characters-x",
        "Gh4Tn96",
    );
    let refused = Secret::new(USER, "pw4-Ln8Ys74-refused", "Ln8Ys74");
    let misplaced = Secret::new(USER, "pw5-Dc2Fa85-misplaced", "Dc2Fa85");
    let all = [&first, &file, &updated, &long, &refused, &misplaced];
    let mut t = Transcript::default();
    let record = h.run_path.join("sec/realm.yaml");

    t.run_ok(&h, &["create", "realm", "sec"], "create realm sec");

    // Add with --password-stdin, add with --from-file, update the first.
    let out = kuke(
        &h,
        &credential_args("sec", SERVER, USER, &["--password-stdin"]),
        Some(&format!("{}\n", first.password)),
    );
    assert!(ok_stdout(&out, "add (stdin)").contains("added"));
    t.add("add --password-stdin", &out, false);
    assert_eq!(mode(&record), 0o600);

    let pw_file = h.dir.join("pw.txt");
    fs::write(&pw_file, format!("{}\n", file.password)).unwrap();
    let out = kuke(
        &h,
        &credential_args(
            "sec",
            SERVER2,
            USER2,
            &["--from-file", pw_file.to_str().unwrap()],
        ),
        None,
    );
    assert!(ok_stdout(&out, "add (file)").contains("added"));
    t.add("add --from-file", &out, false);

    let out = kuke(
        &h,
        &credential_args(
            "sec",
            "longpw.secrets.test",
            "longpw",
            &["--password-stdin"],
        ),
        Some(long.password),
    );
    ok_stdout(&out, "add (long)");
    t.add("add long password", &out, false);

    let out = kuke(
        &h,
        &credential_args("sec", SERVER, USER, &["--password-stdin"]),
        Some(&format!("{}\n", updated.password)),
    );
    assert!(ok_stdout(&out, "update").contains("updated"));
    t.add("update --password-stdin", &out, false);

    let text = fs::read_to_string(&record).unwrap();
    assert!(
        text.contains(updated.password) && text.contains(file.password),
        "{text}"
    );
    assert!(
        !text.contains(first.password),
        "the update kept the old password:\n{text}"
    );
    assert_eq!(mode(&record), 0o600, "record after the update");

    // Listings: masked with the fixed mask whatever the length.
    for format in ["table", "wide", "json", "yaml"] {
        let out = kuke(
            &h,
            &["get", "registry-credentials", "sec", "-o", format],
            None,
        );
        let stdout = ok_stdout(&out, "get registry-credentials");
        assert!(stdout.contains(MASK), "{format}: {stdout}");
        t.add(
            &format!("get registry-credentials -o {format}"),
            &out,
            false,
        );
    }
    let out = kuke(
        &h,
        &["get", "registry-credentials", "sec", "-o", "json"],
        None,
    );
    let list = creds_json(&ok_stdout(&out, "get registry-credentials -o json"));
    assert_eq!(list.len(), 3, "{list:?}");
    for c in &list {
        assert_eq!(c["password"], MASK, "fixed mask, not length-revealing: {c}");
    }

    // Asked for: shown, in every format.
    for format in ["table", "json", "yaml"] {
        let out = kuke(
            &h,
            &[
                "get",
                "registry-credentials",
                "sec",
                "--show-secrets",
                "-o",
                format,
            ],
            None,
        );
        let stdout = ok_stdout(&out, "--show-secrets");
        for s in [&updated, &file, &long] {
            assert!(
                stdout.contains(s.password),
                "--show-secrets -o {format} lacks {}: {stdout}",
                s.password
            );
        }
        t.add(
            &format!("get registry-credentials --show-secrets -o {format}"),
            &out,
            true,
        );
    }
    let out = kuke(
        &h,
        &["get", "realm", "sec", "--show-secrets", "-o", "yaml"],
        None,
    );
    assert!(ok_stdout(&out, "get realm --show-secrets").contains(updated.password));
    t.add("get realm --show-secrets", &out, true);

    // Realms and the realm document in every format, delete plans.
    for format in ["table", "wide", "json", "yaml"] {
        t.run_ok(
            &h,
            &["get", "realms", "-o", format],
            &format!("get realms -o {format}"),
        );
    }
    for format in ["json", "yaml"] {
        let out = kuke(&h, &["get", "realm", "sec", "-o", format], None);
        assert!(ok_stdout(&out, "get realm").contains(MASK));
        t.add(&format!("get realm sec -o {format}"), &out, false);
    }
    let out = kuke(&h, &["get", "realm", "sec", "-o", "table"], None);
    one_line_refusal(&out, 2, "-o yaml or -o json", "get realm -o table");
    t.add("get realm sec -o table", &out, false);
    for format in ["table", "json", "yaml"] {
        for cascade in [false, true] {
            let mut args = vec!["delete", "realm", "sec", "--dry-run", "-o", format];
            if cascade {
                args.push("--cascade");
            }
            t.run_ok(&h, &args, &args.join(" "));
        }
    }
    for args in [
        &["get", "images", "--realm", "sec"][..],
        &["get", "tasks", "--realm", "sec", "-o", "json"],
        &["get", "containers", "--realm", "sec", "-o", "yaml"],
        &["top", "--count", "2", "--interval", "200ms"],
        &["top", "--count", "2", "--interval", "200ms", "-o", "json"],
    ] {
        t.run_ok(&h, args, &args.join(" "));
    }
    for args in [
        &["--help"][..],
        &["-h"],
        &["create", "registry-credential", "--help"],
        &["get", "registry-credentials", "--help"],
        &["get", "realms", "--help"],
        &["delete", "realm", "--help"],
        &["top", "--help"],
        &["--version"],
    ] {
        t.run_ok(&h, args, &args.join(" "));
    }
    let out = kuke(&h, &["create", "registry-credential", "--help"], None);
    assert!(
        !ok_stdout(&out, "help").contains("--password "),
        "the refused --password is not offered"
    );

    // Error paths that fail after the password was read (or given): one
    // line, the right code, the record untouched, the password not echoed.
    let before = fs::read(&record).unwrap();
    let add = |realm: &str, server: &str, extra: &[&str], stdin: Option<&str>| {
        kuke(&h, &credential_args(realm, server, USER, extra), stdin)
    };
    let stdin_pw = format!("{}\n", refused.password);
    let refused_file = h.dir.join("refused.txt");
    fs::write(&refused_file, &stdin_pw).unwrap();
    let cases: Vec<(&str, Output, i32, &str)> = vec![
        (
            "bad server",
            add("sec", "bad host", &["--password-stdin"], Some(&stdin_pw)),
            2,
            "server",
        ),
        (
            "missing realm (stdin)",
            add("nosuch", SERVER, &["--password-stdin"], Some(&stdin_pw)),
            1,
            "not found",
        ),
        (
            "missing realm (file)",
            add(
                "nosuch",
                SERVER,
                &["--from-file", refused_file.to_str().unwrap()],
                None,
            ),
            1,
            "not found",
        ),
        (
            "--password VALUE",
            add("sec", SERVER, &["--password", refused.password], None),
            2,
            "--password-stdin",
        ),
        (
            "--password=VALUE",
            add(
                "sec",
                SERVER,
                &[&format!("--password={}", refused.password)],
                None,
            ),
            2,
            "visible to every user in ps",
        ),
        (
            "--password VALUE with --password-stdin",
            add(
                "sec",
                SERVER,
                &["--password", refused.password, "--password-stdin"],
                Some(&stdin_pw),
            ),
            2,
            "not accepted",
        ),
        (
            "no password source",
            add("sec", SERVER, &[], None),
            2,
            "no password given",
        ),
        (
            "empty stdin",
            add("sec", SERVER, &["--password-stdin"], Some("")),
            2,
            "password is empty",
        ),
        (
            "password file missing",
            add(
                "sec",
                SERVER,
                &["--from-file", "/nonexistent/kuke-tui-pw"],
                None,
            ),
            1,
            "cannot read the password file",
        ),
    ];
    for (what, out, code, needle) in &cases {
        one_line_refusal(out, *code, needle, what);
        t.add(what, out, false);
    }
    {
        let _ro = ReadOnly::new(&h.run_path.join("sec"));
        let out = add("sec", SERVER, &["--password-stdin"], Some(&stdin_pw));
        one_line_refusal(&out, 1, "Read-only file system", "read-only record");
        t.add("read-only record", &out, false);
    }
    // Not root: the record is 0600, so the read fails after stdin was read.
    let out = kuke_with(
        &h,
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ],
        &credential_args("sec", SERVER, USER, &["--password-stdin"]),
        Some(&stdin_pw),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    t.add("add as nobody", &out, false);
    assert_eq!(
        fs::read(&record).unwrap(),
        before,
        "a failed add changed the record"
    );
    assert_eq!(mode(&record), 0o600);

    // A hand-edited record with a password where a credential belongs: the
    // parse error names the file and line, not the value.
    let leaky = h.run_path.join("leaky/realm.yaml");
    put_0644(
        &leaky,
        &format!(
            "metadata:\n  name: leaky\nspec:\n  registryCredentials:\n  - {}\n",
            misplaced.password
        ),
    );
    for args in [
        &["get", "realms"][..],
        &["get", "realms", "-o", "json"],
        &["get", "registry-credentials", "leaky"],
        &["get", "realm", "leaky"],
        &["delete", "realm", "leaky", "--dry-run"],
    ] {
        let out = kuke(&h, args, None);
        let all_text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all_text.contains("leaky"), "{args:?}: {all_text}");
        t.add(&format!("leaky: {}", args.join(" ")), &out, false);
    }
    fs::remove_dir_all(h.run_path.join("leaky")).unwrap();

    // The end: cascade delete, then nothing is left anywhere.
    t.run_ok(
        &h,
        &["delete", "realm", "sec", "--cascade", "--yes"],
        "delete realm sec --cascade --yes",
    );
    assert!(!h.run_path.join("sec").exists());

    t.assert_clean(&all);
    // containerd saw every call; none carried a password.
    let daemon_log = fs::read_to_string(&h.log).unwrap_or_default();
    for s in all {
        assert!(
            s.found_in(&daemon_log).is_none(),
            "containerd's log holds a password"
        );
    }
    // No log, cache or state file anywhere the binary could have put one,
    // and nothing left in the run path.
    let written = files_under(&h.dir.join("home"));
    assert!(written.is_empty(), "the binary wrote files: {written:?}");
    let left = files_under(&h.run_path);
    assert!(left.is_empty(), "left in the run path: {left:?}");
    eprintln!(
        "secrets: {} outputs ({} bytes) searched for {} passwords x {} forms in {:?}",
        t.entries.len(),
        t.bytes(),
        all.len(),
        all[0].needles.len(),
        started.elapsed()
    );
}

/// `strace` of one credential write: the temp file is opened O_CREAT|O_EXCL
/// with mode 0600 (private from its first byte), nothing is chmod-ed, and
/// it is renamed over the record.
fn assert_private_temp_file(h: &Harness, record_name: &str, args: &[&str], stdin: &str) {
    let trace = h.dir.join("strace.txt");
    let trace_arg = trace.to_str().unwrap().to_string();
    let out = kuke_with(
        h,
        &[
            "strace",
            "-f",
            "-qq",
            "-o",
            &trace_arg,
            "-e",
            "trace=openat,open,creat,chmod,fchmod,fchmodat,rename,renameat,renameat2",
        ],
        args,
        Some(stdin),
    );
    ok_stdout(&out, "add under strace");
    let trace_text = fs::read_to_string(&trace).unwrap();
    let tmp_prefix = format!(".{record_name}.tmp-");
    let opens: Vec<&str> = trace_text
        .lines()
        .filter(|l| l.contains("open") && l.contains(&tmp_prefix))
        .collect();
    assert_eq!(opens.len(), 1, "one temp file open:\n{trace_text}");
    assert!(
        opens[0].contains("O_CREAT|O_EXCL") && opens[0].contains(", 0600)"),
        "temp file not created private: {}",
        opens[0]
    );
    let chmods: Vec<&str> = trace_text.lines().filter(|l| l.contains("chmod")).collect();
    assert!(chmods.is_empty(), "chmod after creation: {chmods:?}");
    assert!(
        trace_text
            .lines()
            .any(|l| l.contains("rename") && l.contains(&tmp_prefix) && l.contains("= 0")),
        "no rename of the temp file:\n{trace_text}"
    );
    let _ = fs::remove_file(&trace);
}

#[test]
fn records_with_credentials_are_private_in_both_layouts() {
    let started = Instant::now();
    let have_strace = Command::new("strace").arg("-V").output().is_ok();
    assert!(
        have_strace,
        "strace not found: run scripts/setup.sh as root"
    );
    let h = Harness::start();
    let short = Secret::new("u", "Zp1", "Zp1");
    let main_secret = Secret::new("robot", "main-Pa55word-1", "Pa55word");
    let added = Secret::new("robot2", "pw7-Kc5Vb17-kukeon", "Kc5Vb17");
    let mut t = Transcript::default();

    // Documented layout: a record another tool wrote 0644, no credentials.
    let docs = h.run_path.join("docs/realm.yaml");
    put_0644(&docs, "apiVersion: v1beta1\nkind: Realm\nmetadata:\n  name: docs\nspec:\n  namespace: kukeon-docs\n");
    assert_eq!(mode(&docs), 0o644);
    assert_private_temp_file(
        &h,
        "realm.yaml",
        &credential_args("docs", "r.docs.test", "u", &["--password-stdin"]),
        short.password,
    );
    assert_eq!(mode(&docs), 0o600, "tightened when credentials went in");
    assert_eq!(mode(&h.run_path.join("docs/realm.yaml.lock")), 0o600);
    let out = kuke(
        &h,
        &["get", "registry-credentials", "docs", "-o", "json"],
        None,
    );
    let list = creds_json(&ok_stdout(&out, "get docs creds"));
    assert_eq!(
        list[0]["password"], MASK,
        "a 3-char password shows the same mask"
    );
    t.add("docs: get registry-credentials -o json", &out, false);
    fs::remove_dir_all(h.run_path.join("docs")).unwrap();

    // Kukeon's layout: instance file, Kukeon's record for `main` written
    // 0644 with a credential in it, and its sidecar lock.
    let kk_root = format!("{}/kk", h.cgroup_root);
    fs::write(
        h.run_path.join(".kukeon-instance.json"),
        format!("{{\n  \"containerdNamespaceSuffix\": \"kukeon.io\",\n  \"cgroupRoot\": \"{kk_root}\"\n}}\n"),
    )
    .unwrap();
    let fixture = fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kukeon/realm-main.json"
    ))
    .unwrap()
    .replace("@CGROUP_ROOT@", &kk_root);
    assert!(fixture.contains(main_secret.password));
    let main = h.run_path.join("data/main/metadata.json");
    put_0644(&main, &fixture);
    put_0644(&h.run_path.join("data/main/metadata.json.lock"), "");

    // Reading does not touch the mode; listings are masked.
    for args in [
        &["get", "registry-credentials", "main"][..],
        &["get", "registry-credentials", "main", "-o", "yaml"],
        &["get", "realms", "-o", "json"],
        &["get", "realm", "main", "-o", "yaml"],
        &["get", "realm", "main", "-o", "json"],
        &[
            "delete",
            "realm",
            "main",
            "--dry-run",
            "--cascade",
            "-o",
            "json",
        ],
    ] {
        t.run_ok(&h, args, &format!("kukeon: {}", args.join(" ")));
    }
    assert_eq!(mode(&main), 0o644, "a read changed the mode");

    assert_private_temp_file(
        &h,
        "metadata.json",
        &credential_args("main", "r2.kukeon.test", "robot2", &["--password-stdin"]),
        added.password,
    );
    assert_eq!(
        mode(&main),
        0o600,
        "Kukeon's 0644 record tightened by our write"
    );
    let text = fs::read_to_string(&main).unwrap();
    assert!(text.contains(added.password) && text.contains(main_secret.password));
    let out = kuke(
        &h,
        &["get", "registry-credentials", "main", "-o", "json"],
        None,
    );
    let list = creds_json(&ok_stdout(&out, "get main creds"));
    assert_eq!(list.len(), 2);
    for c in &list {
        assert_eq!(c["password"], MASK, "{c}");
    }
    t.add("kukeon: after the add", &out, false);
    let out = kuke(
        &h,
        &[
            "get",
            "registry-credentials",
            "main",
            "--show-secrets",
            "-o",
            "json",
        ],
        None,
    );
    let shown = ok_stdout(&out, "show");
    assert!(shown.contains(added.password) && shown.contains(main_secret.password));
    t.add("kukeon: --show-secrets", &out, true);

    // Removing a credential is a write too: still 0600, nothing left over.
    t.run_ok(
        &h,
        &[
            "delete",
            "registry-credential",
            "main",
            "--server",
            "r2.kukeon.test",
        ],
        "kukeon: delete registry-credential",
    );
    assert_eq!(mode(&main), 0o600);
    let temps: Vec<_> = files_under(&h.run_path.join("data"))
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(temps.is_empty(), "temp files left: {temps:?}");

    t.assert_clean(&[&short, &main_secret, &added]);
    eprintln!(
        "secrets: record modes and temp-file creation checked in both layouts in {:?}",
        started.elapsed()
    );
}

#[test]
fn console_screens_and_scrollback_never_show_a_password() {
    let started = Instant::now();
    let h = Harness::start();
    let one = Secret::new("alpha", "pw8-Mq6Xe28-console", "Mq6Xe28");
    let two = Secret::new("beta", "pw9-Rf2Up39-typed", "Rf2Up39");
    let three = Secret::new("alpha", "pwA-Nb7Ko4A-edited", "Nb7Ko4A");
    let failed = Secret::new("gamma", "pwB-Yw3Jd5B-failed", "Yw3Jd5B");
    let record = h.run_path.join("con/realm.yaml");

    ok_stdout(&kuke(&h, &["create", "realm", "con"], None), "create realm");
    ok_stdout(
        &kuke(
            &h,
            &credential_args("con", "reg.one.test", "alpha", &["--password-stdin"]),
            Some(one.password),
        ),
        "add alpha",
    );

    let pane = Pane::start(&h, None, &[]);
    wait_until(&pane, "realm con listed", WAIT, |s| {
        s.lines().any(|l| l.trim_start().starts_with("con "))
    });
    pane.keys(&["Enter"]);
    wait_for(&pane, "Credentials (1)", WAIT);
    pane.keys(&["3"]);
    let screen = wait_until(&pane, "alpha with the mask", WAIT, |s| {
        s.lines().any(|l| l.contains("alpha") && l.contains(MASK))
    });
    assert!(screen.contains("reg.one.test"), "{screen}");
    pane.keys(&["4"]);
    wait_until(&pane, "the record as YAML, masked", WAIT, |s| {
        s.contains("registryCredentials")
            && (s.contains(&format!("password: '{MASK}'"))
                || s.contains(&format!("password: \"{MASK}\""))
                || s.contains(&format!("password: {MASK}")))
    });

    // Add: masked while typing, half-typed and fully typed.
    pane.keys(&["3"]);
    wait_for(&pane, "a add", WAIT);
    pane.keys(&["a"]);
    wait_for(&pane, "Add credential in con", WAIT);
    pane.type_text("reg.two.test");
    pane.keys(&["Tab"]);
    pane.type_text("beta");
    pane.keys(&["Tab"]);
    let (head, tail) = two.password.split_at(8);
    pane.type_text(head);
    wait_for(
        &pane,
        &format!("[{}", "•".repeat(head.chars().count())),
        WAIT,
    );
    pane.type_text(tail);
    wait_for(
        &pane,
        &format!("[{}", "•".repeat(two.password.chars().count())),
        WAIT,
    );
    pane.keys(&["Enter"]);
    wait_for(&pane, "credential for reg.two.test (beta) added", WAIT);
    wait_for(&pane, "Credentials (2)", WAIT);

    // Edit alpha (the first row): only the password is typed.
    pane.keys(&["g", "e"]);
    wait_for(&pane, "Edit credential", WAIT);
    pane.type_text(three.password);
    wait_for(
        &pane,
        &format!("[{}", "•".repeat(three.password.chars().count())),
        WAIT,
    );
    pane.keys(&["Enter"]);
    wait_for(&pane, "credential for reg.one.test (alpha) updated", WAIT);

    // A save that fails after the password was typed: the record is on a
    // read-only mount; the error shows, the password does not.
    {
        let _ro = ReadOnly::new(&h.run_path.join("con"));
        pane.keys(&["a"]);
        wait_for(&pane, "Add credential in con", WAIT);
        pane.type_text("reg.three.test");
        pane.keys(&["Tab"]);
        pane.type_text("gamma");
        pane.keys(&["Tab"]);
        pane.type_text(failed.password);
        wait_for(
            &pane,
            &format!("[{}", "•".repeat(failed.password.chars().count())),
            WAIT,
        );
        pane.keys(&["Enter"]);
        // The error names the record's path, so where the popup wraps it
        // depends on the temp dir's length: "Read-only file system" may be
        // split over two rows. Match one word, never split, on the ✗ row.
        wait_until(&pane, "the read-only error", WAIT, |s| {
            s.lines().any(|l| l.contains('✗')) && s.contains("Read-only")
        });
        pane.keys(&["Escape"]);
        wait_until(&pane, "the form closed", WAIT, |s| {
            !s.contains("Add credential")
        });
    }
    let text = fs::read_to_string(&record).unwrap();
    assert!(
        text.contains(two.password) && text.contains(three.password),
        "{text}"
    );
    assert!(
        !text.contains(one.password) && !text.contains(failed.password),
        "{text}"
    );
    assert_eq!(mode(&record), 0o600);

    // The remove dialog (kept), then the realm's delete dialog (done).
    pane.keys(&["x"]);
    wait_for(&pane, "Remove the credential for", WAIT);
    pane.keys(&["n"]);
    wait_until(&pane, "the dialog closed", WAIT, |s| {
        !s.contains("Remove the credential")
    });
    pane.keys(&["d"]);
    wait_for(&pane, "y delete", WAIT);
    pane.keys(&["y"]);
    wait_for(&pane, "realm con deleted", Duration::from_secs(30));
    pane.keys(&["Enter"]);
    wait_for(&pane, "No realms found", WAIT);
    pane.keys(&["q"]);
    wait_for(&pane, "EXITED:0", WAIT);

    // After exit: the whole scrollback, the alternate screen (gone), and
    // every screen seen on the way.
    let history = pane.tmux_ok(&["capture-pane", "-p", "-S", "-", "-E", "-", "-t", "kuke"]);
    assert!(history.contains("EXITED:0"), "{history}");
    assert!(
        !history.contains("Credentials ("),
        "the console's screen is left in the scrollback:\n{history}"
    );
    let alternate = pane.tmux(&["capture-pane", "-p", "-a", "-t", "kuke"]);
    let alt_text = String::from_utf8_lossy(&alternate.stdout).into_owned();
    let screens = pane.screens.borrow().clone();
    drop(pane);
    let mut all_text: Vec<(String, &str)> = screens
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("screen {i}"), s.as_str()))
        .collect();
    all_text.push(("scrollback".into(), &history));
    all_text.push(("alternate screen".into(), &alt_text));
    for (label, text) in &all_text {
        for s in [&one, &two, &three, &failed] {
            if let Some(needle) = s.found_in(text) {
                panic!("{label} shows a password ({needle:?}):\n{text}");
            }
        }
    }
    assert!(!h.run_path.join("con").exists());
    eprintln!(
        "secrets: {} console screens + scrollback searched in {:?}",
        screens.len(),
        started.elapsed()
    );
}
