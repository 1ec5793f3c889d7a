//! Hostile data, typed and already present: names, labels, namespaces,
//! credential servers and usernames, image references and container labels
//! holding path traversal, NUL and control characters, ANSI escape sequences
//! (CSI and OSC, 7-bit and C1), bidirectional and zero-width Unicode, and
//! 10,000-character strings. Typed, they are refused with one inert line and
//! change nothing; already present (written by others into the run path or
//! containerd), they are listed faithfully in JSON/YAML and inert in tables
//! and the console, whose columns keep lining up. Nothing lands outside the
//! run path.

mod common;

use common::pane::{wait_for, wait_until, Pane};
use common::{credential_args, ok_stdout, one_line_error_of, stderr_of, Harness};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use unicode_width::UnicodeWidthChar;

const WAIT: Duration = Duration::from_secs(15);
/// The target of every traversal attempt; it must never appear.
const ESCAPE: &str = "kt-hostile-escape";

/// Every hostile class, as typed on a command line (NUL cannot be: argv is
/// C strings; it is tested through files, stdin and the terminal below).
fn hostile() -> Vec<(&'static str, String)> {
    vec![
        ("traversal", format!("../{ESCAPE}")),
        ("deep traversal", format!("../../../../../tmp/{ESCAPE}")),
        ("C0 controls", "a\tb\rc\u{7}d\u{8}e".into()),
        ("CSI color", "\u{1b}[31mred".into()),
        ("OSC title", "\u{1b}]0;pwned\u{7}".into()),
        ("C1 CSI", "x\u{9b}2J".into()),
        ("bidi override", "abc\u{202e}gpj.exe".into()),
        ("bidi isolate", "\u{2066}iso\u{2069}".into()),
        ("zero width", "zw\u{200b}j".into()),
        ("BOM", "\u{feff}bom".into()),
        ("10,000 chars", "a".repeat(10_000)),
    ]
}

/// The first character that must never reach a terminal raw: C0 controls
/// other than newline, DEL, C1 controls, bidi controls, zero-width and
/// other invisible formatting characters.
fn hidden_char(text: &str) -> Option<char> {
    text.chars().find(|&c| {
        (c.is_control() && c != '\n')
            || matches!(c,
                '\u{ad}' | '\u{61c}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}' | '\u{feff}' | '\u{e0000}'..='\u{e007f}')
    })
}

fn assert_inert(text: &str, what: &str) {
    if let Some(c) = hidden_char(text) {
        let at = text.find(c).unwrap();
        let from = text[..at]
            .char_indices()
            .rev()
            .nth(40)
            .map_or(0, |(i, _)| i);
        panic!(
            "{what}: raw {c:?} reaches the terminal near {:?}",
            &text[from..(at + 40).min(text.len())]
        );
    }
}

/// Controls only (C0 but newline, C1): what a serializer must escape.
fn assert_no_controls(text: &str, what: &str) {
    if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\n') {
        panic!("{what}: raw {c:?} in serialized output");
    }
}

/// A command that succeeded with an inert stderr; its stdout.
fn ok_inert(out: Output, what: &str) -> String {
    let text = ok_stdout(&out, what);
    assert_inert(&stderr_of(&out), &format!("{what} stderr"));
    text
}

/// One refused or failed command: the code, one readable inert line on
/// stderr, nothing on stdout.
fn refused(out: &Output, code: i32, what: &str) -> String {
    let err = one_line_error_of(what, out, code, &[]);
    assert!(err.starts_with("error: "), "{what}: {err:?}");
    assert!(
        err.chars().count() < 600,
        "{what}: a readable line, not {} characters",
        err.chars().count()
    );
    assert_inert(&err, what);
    assert!(
        out.stdout.is_empty(),
        "{what}: stdout {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    err
}

/// Each display column's character ('\0' for the second half of a wide one).
fn display_cols(line: &str) -> Vec<char> {
    let mut cols = Vec::new();
    for c in line.chars() {
        let w = c.width().unwrap_or(0);
        if w == 0 {
            continue;
        }
        cols.push(c);
        cols.extend(std::iter::repeat_n('\0', w - 1));
    }
    cols
}

/// Column starts of a header line: where a word begins.
fn column_starts(header: &[char]) -> Vec<usize> {
    (0..header.len())
        .filter(|&i| header[i] != ' ' && (i == 0 || header[i - 1] == ' '))
        .collect()
}

/// Every row of a CLI table has a cell starting exactly under each header
/// (after a space), no row is wider than capped cells allow, and the table
/// has `rows` rows (a newline in a value did not split one).
fn assert_aligned(table: &str, rows: usize, what: &str) {
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), rows + 1, "{what}: line count\n{table}");
    let header = display_cols(lines[0]);
    let starts = column_starts(&header);
    for line in &lines[1..] {
        let row = display_cols(line);
        for &s in &starts[1..] {
            assert!(
                row.get(s - 1) == Some(&' ') && row.get(s).is_some_and(|c| *c != ' '),
                "{what}: no cell starts at column {s} in {line:?}\n{table}"
            );
        }
        assert!(
            row.len() <= starts.len() * (kuke_tui::cli::output::MAX_CELL_WIDTH + 3),
            "{what}: a {}-column row",
            row.len()
        );
    }
}

/// Every path under the harness dir except the run paths and containerd's
/// own state, without following links.
fn outside_run(h: &Harness) -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, skip: &[PathBuf], out: &mut BTreeSet<PathBuf>) {
        let Ok(read) = std::fs::read_dir(dir) else {
            return;
        };
        for e in read.flatten() {
            let p = e.path();
            if skip.contains(&p) {
                continue;
            }
            out.insert(p.clone());
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&p, skip, out);
            }
        }
    }
    let skip: Vec<PathBuf> = [
        "run",
        "run-kukeon",
        "root",
        "state",
        "runc",
        "logs",
        "tmux.sock",
    ]
    .iter()
    .map(|d| h.dir.join(d))
    .collect();
    let mut out = BTreeSet::new();
    walk(&h.dir, &skip, &mut out);
    out
}

/// The traversal targets do not exist: next to the run path, above the
/// harness dir, in /tmp, or as a cgroup beside the realms.
fn assert_nothing_escaped(h: &Harness) {
    for p in [
        h.dir.join(ESCAPE),
        h.dir.parent().unwrap().join(ESCAPE),
        PathBuf::from("/tmp").join(ESCAPE),
        PathBuf::from("/").join(ESCAPE),
    ] {
        assert!(!p.exists(), "{} was created", p.display());
    }
    for group in [format!("/{ESCAPE}"), format!("/tmp/{ESCAPE}")] {
        assert!(common::cgroup_dirs(&group).is_empty(), "cgroup {group}");
    }
    assert!(
        h.namespaces().iter().all(|n| !n.contains(ESCAPE)),
        "{:?}",
        h.namespaces()
    );
}

/// Nothing appeared or vanished outside the run paths since `before`, and
/// no traversal target exists.
fn assert_contained(h: &Harness, before: &BTreeSet<PathBuf>, what: &str) {
    assert_eq!(&outside_run(h), before, "{what}");
    assert_nothing_escaped(h);
}

fn run_path_entries(path: &Path) -> BTreeSet<String> {
    std::fs::read_dir(path)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn typed_hostile_arguments_are_refused_inert_and_change_nothing() {
    let started = Instant::now();
    let h = Harness::start();
    ok_inert(h.run(&["create", "realm", "tgt"]), "create tgt");
    let pw = h.dir.join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    let pw = pw.to_str().unwrap().to_string();
    let record = h.run_path.join("tgt/realm.yaml");
    let record_before = std::fs::read(&record).unwrap();
    let namespaces_before = h.namespaces();
    let cgroups_before = common::cgroup_dirs(&h.cgroup_root).len();
    let outside_before = outside_run(&h);

    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let mut count = 0;
    for (class, v) in hostile() {
        let traversal = class.contains("traversal");
        let long = v.len() > 255;
        // A name that cannot be a realm directory is refused (2); any other
        // may be one another tool wrote, so looking it up says "not found" (1).
        let lookup = if traversal || long { 2 } else { 1 };
        let v = v.as_str();
        let mut cases: Vec<(String, Vec<String>, i32)> = vec![
            ("create realm NAME".into(), s(&["create", "realm", v]), 2),
            (
                "--namespace".into(),
                s(&["create", "realm", "ok", "--namespace", v]),
                2,
            ),
            (
                "--label KEY".into(),
                s(&["create", "realm", "ok", "--label", &format!("{v}=x")]),
                2,
            ),
            (
                "get realm NAME".into(),
                s(&["get", "realm", v, "-o", "json"]),
                lookup,
            ),
            (
                "get registry-credentials REALM".into(),
                s(&["get", "registry-credentials", v]),
                lookup,
            ),
            (
                "get images --realm".into(),
                s(&["get", "images", "--realm", v]),
                lookup,
            ),
            (
                "get containers --realm".into(),
                s(&["get", "containers", "--realm", v]),
                lookup,
            ),
            (
                "get tasks --realm".into(),
                s(&["get", "tasks", "--realm", v, "-o", "yaml"]),
                lookup,
            ),
            (
                "create registry-credential REALM".into(),
                s(&credential_args(v, "r.io", "u", &["--from-file", &pw])),
                lookup,
            ),
            (
                "delete registry-credential REALM".into(),
                s(&["delete", "registry-credential", v, "--server", "r.io"]),
                lookup,
            ),
            // Removing matches an existing entry exactly: not found, nothing changed.
            (
                "delete registry-credential --server".into(),
                s(&["delete", "registry-credential", "tgt", "--server", v]),
                1,
            ),
            (
                "delete registry-credential --username".into(),
                s(&[
                    "delete",
                    "registry-credential",
                    "tgt",
                    "--server",
                    "r.io",
                    "--username",
                    v,
                ]),
                1,
            ),
            ("-o".into(), s(&["get", "realms", "-o", v]), 2),
            ("--layout".into(), s(&["get", "realms", "--layout", v]), 2),
        ];
        if traversal || long {
            cases.push((
                "delete realm NAME".into(),
                s(&["delete", "realm", v, "--yes", "--cascade"]),
                2,
            ));
        }
        // `../x` is plain text as a label value, server or username (none is
        // a path); every other class is refused there.
        if !traversal {
            cases.extend([
                (
                    "--label VALUE".into(),
                    s(&["create", "realm", "ok", "--label", &format!("k={v}")]),
                    2,
                ),
                (
                    "--server".into(),
                    s(&credential_args("tgt", v, "u", &["--from-file", &pw])),
                    2,
                ),
                (
                    "--username".into(),
                    s(&credential_args("tgt", "r.io", v, &["--from-file", &pw])),
                    2,
                ),
            ]);
        }
        for (arg, args, code) in cases {
            refused(&h.run(&args), code, &format!("{arg} with {class}"));
            count += 1;
        }
        // A hostile name that is not a realm: nothing to delete, said inert.
        if !traversal && !long {
            let out = h.run(&s(&["delete", "realm", v, "--yes"]));
            let text = ok_inert(out, &format!("delete realm with {class}"));
            assert!(text.contains("does not exist"), "{text}");
            assert_inert(&text, &format!("delete realm with {class}"));
            count += 1;
        }
    }

    // NUL can arrive in a password file, on stdin, and typed at the
    // confirmation prompt. A password is opaque bytes to the registry, so it
    // is kept exactly (the YAML serializer escapes it) and never printed.
    std::fs::write(h.dir.join("pw"), "se\0cret\n").unwrap();
    let out = h.run(&credential_args(
        "tgt",
        "nul.io",
        "u",
        &["--from-file", &pw],
    ));
    let text = ok_inert(out, "password with NUL from a file");
    assert!(!text.contains('\0') && !text.contains("se"), "{text:?}");
    let yaml = std::fs::read_to_string(&record).unwrap();
    assert!(!yaml.contains('\0'), "the record escapes NUL");
    let listed: Value = serde_json::from_slice(
        &h.run(&[
            "get",
            "registry-credentials",
            "tgt",
            "-o",
            "json",
            "--show-secrets",
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(listed[0]["password"], "se\0cret", "{listed}");
    let table = ok_inert(
        h.run(&["get", "registry-credentials", "tgt", "--show-secrets"]),
        "shown NUL password",
    );
    assert_inert(&table, "credential table with a NUL password");
    assert!(table.contains("se\\u{0}cret"), "{table}");
    let child = h
        .kuke()
        .args([
            "create",
            "registry-credential",
            "tgt",
            "--server",
            "nul.io",
            "--username",
            "u\0x",
        ])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    // argv cannot carry NUL: the OS refuses to start the command at all.
    assert!(child.is_err(), "a NUL in argv must not reach the program");
    let out = h.run(&["delete", "registry-credential", "tgt", "--server", "nul.io"]);
    ok_inert(out, "remove the NUL credential");
    assert!(!std::fs::read(&record).unwrap().is_empty());

    // The confirmation typed on a terminal, with a NUL or an escape in it.
    for answer in ["tg\0t", "tgt\u{1b}[D"] {
        let out = h.run_on_terminal("delete realm tgt --cascade", answer);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_ne!(out.status.code(), Some(0), "{answer:?}: {text}");
        assert!(text.contains("does not match"), "{answer:?}: {text}");
        assert!(h.run_path.join("tgt").is_dir(), "{answer:?} deleted tgt");
    }

    // Nothing changed anywhere.
    assert_eq!(
        run_path_entries(&h.run_path),
        BTreeSet::from(["tgt".to_string()])
    );
    let record_after = std::fs::read(&record).unwrap();
    let strip = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| !l.contains("updatedAt"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&record_after),
        strip(&record_before),
        "record content"
    );
    assert_eq!(h.namespaces(), namespaces_before);
    assert_eq!(common::cgroup_dirs(&h.cgroup_root).len(), cgroups_before);
    let outside_after = outside_run(&h);
    assert_eq!(
        outside_after
            .symmetric_difference(&outside_before)
            .collect::<Vec<_>>(),
        Vec::<&PathBuf>::new(),
        "files appeared or vanished outside the run path"
    );
    assert_nothing_escaped(&h);
    eprintln!(
        "hostile: {count} typed hostile arguments refused inert in {:?}",
        started.elapsed()
    );
}

/// Realm names that are legal directory names but hostile on a terminal.
fn hostile_realm_names() -> Vec<String> {
    vec![
        "\u{1b}[31mred".into(),
        "\u{1b}]0;pwned\u{7}".into(),
        "bidi\u{202e}gpj.exe".into(),
        "zw\u{200b}\u{feff}x".into(),
        "nl\nrow".into(),
        "c1\u{9b}2J".into(),
        "tab\tx".into(),
        "日本語".into(),
        "l".repeat(255),
    ]
}

/// A record another tool wrote: escapes and bidi in labels, namespace,
/// state and credentials, a 10,000-character label value and username.
fn hostile_record(name: &str, i: usize) -> Value {
    json!({
        "apiVersion": "v1beta1",
        "kind": "Realm",
        "metadata": {
            "name": name,
            "labels": {
                "team": "\u{1b}[2J\u{1b}[H",
                "note": "\u{202e}evil\u{200b}",
                "big": "b".repeat(10_000),
            }
        },
        "spec": {
            "namespace": format!("ns\u{1b}[1m{i}"),
            "registryCredentials": [
                {"serverAddress": "r\u{1b}[31m.io", "username": "u\u{202e}x", "password": "pw"},
                {"serverAddress": "zw\u{200b}.io", "username": "x".repeat(10_000), "password": "pw"}
            ]
        },
        "status": {"state": "Ready\u{1b}[5m", "createdAt": "2024-01-01T00:00:00Z"}
    })
}

/// Writes the hostile realms into `realms_root` (`file` is the record's
/// name in the layout), plus one whose metadata.name has a NUL (a mismatch,
/// so Invalid). Returns every directory name written.
fn seed_records(realms_root: &Path, file: &str) -> Vec<String> {
    let mut names = hostile_realm_names();
    for (i, name) in names.iter().enumerate() {
        let dir = realms_root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        // JSON is YAML too: the Docs layout reads it as well. YAML forbids
        // raw C1 controls (a YAML writer escapes them), JSON allows them.
        let mut text = serde_json::to_string_pretty(&hostile_record(name, i)).unwrap();
        if file == "realm.yaml" {
            text = text
                .chars()
                .map(|c| match c {
                    '\u{80}'..='\u{9f}' => format!("\\u{:04x}", c as u32),
                    c => c.to_string(),
                })
                .collect();
        }
        std::fs::write(dir.join(file), text).unwrap();
    }
    let nul = realms_root.join("nul");
    std::fs::create_dir_all(&nul).unwrap();
    std::fs::write(
        nul.join(file),
        serde_json::to_string(&hostile_record("nul\0", 99)).unwrap(),
    )
    .unwrap();
    names.push("nul".into());
    names
}

/// Drops what changes from one read to the next.
fn stable(mut list: Value) -> Value {
    for item in list["items"].as_array_mut().unwrap() {
        item.as_object_mut().unwrap().remove("ageSeconds");
    }
    list
}

fn check_listing(h: &Harness, extra: &[&str], names: &[String], what: &str) {
    let args = |more: &[&str]| -> Vec<String> {
        more.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    for format in ["table", "wide"] {
        let out = h.run(&args(&["get", "realms", "-o", format]));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let table = ok_inert(out, &format!("{what} get realms -o {format}"));
        assert_inert(&table, &format!("{what} {format}"));
        assert_aligned(&table, names.len(), &format!("{what} {format}"));
        assert!(table.contains("\\u{1b}[31mred"), "{table}");
        assert!(table.contains("bidi\\u{202e}gpj.exe"), "{table}");
        assert!(table.contains("nl\\u{a}row"), "{table}");
        assert!(
            table.contains("Ready\\u{1b}[5m"),
            "the recorded state: {table}"
        );
        assert!(
            table.contains('…'),
            "the 255-character name is cut: {table}"
        );
        // The NUL realm is Invalid: its warning names the mismatch, inert.
        assert!(err.contains("nul\\0"), "{err}");
    }
    let json_text = ok_inert(h.run(&args(&["get", "realms", "-o", "json"])), "json");
    assert_inert(&json_text, &format!("{what} -o json"));
    let list: Value = serde_json::from_str(&json_text).expect("valid JSON");
    let listed: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(listed, want, "{what}: every realm, names faithful");
    let red = common::realm_item(&list, "\u{1b}[31mred");
    assert_eq!(red["labels"]["team"], "\u{1b}[2J\u{1b}[H");
    assert_eq!(red["labels"]["note"], "\u{202e}evil\u{200b}");
    assert_eq!(red["labels"]["big"].as_str().unwrap().len(), 10_000);
    assert_eq!(red["namespace"], "ns\u{1b}[1m0");
    assert_eq!(red["state"], "Ready\u{1b}[5m");
    let yaml_text = ok_inert(h.run(&args(&["get", "realms", "-o", "yaml"])), "yaml");
    assert_no_controls(&yaml_text, &format!("{what} -o yaml"));
    let from_yaml: Value = serde_yaml_ng::from_str(&yaml_text).expect("valid YAML");
    assert_eq!(
        stable(from_yaml),
        stable(list),
        "{what}: YAML carries the same data"
    );

    for name in names.iter().filter(|n| *n != "nul") {
        let doc: Value = serde_json::from_str(&ok_inert(
            h.run(&args(&["get", "realm", name, "-o", "json"])),
            "describe",
        ))
        .unwrap();
        assert_eq!(doc["metadata"]["name"], name.as_str());
        let creds = doc["spec"]["registryCredentials"].as_array().unwrap();
        assert_eq!(creds[0]["username"], "u\u{202e}x");
        assert_eq!(creds[1]["username"].as_str().unwrap().len(), 10_000);
        assert!(creds.iter().all(|c| c["password"] == "********"));
        let yaml_text = ok_inert(
            h.run(&args(&["get", "realm", name, "-o", "yaml"])),
            "describe yaml",
        );
        assert_no_controls(&yaml_text, &format!("{what} describe -o yaml"));
        let from_yaml: Value = serde_yaml_ng::from_str(&yaml_text).unwrap();
        assert_eq!(from_yaml["metadata"], doc["metadata"]);

        let table = ok_inert(
            h.run(&args(&["get", "registry-credentials", name])),
            "credentials",
        );
        assert_inert(&table, &format!("{what} credentials of {name:?}"));
        assert_aligned(&table, 2, &format!("{what} credentials"));
        assert!(table.contains("r\\u{1b}[31m.io") && table.contains("u\\u{202e}x"));
    }
    let plan = ok_inert(
        h.run(&args(&[
            "delete",
            "realm",
            "bidi\u{202e}gpj.exe",
            "--dry-run",
        ])),
        "dry run",
    );
    assert_inert(&plan, &format!("{what} delete --dry-run"));
}

#[test]
fn records_written_by_others_are_listed_faithfully_and_shown_inert() {
    let started = Instant::now();
    let h = Harness::start();
    let outside_before = outside_run(&h);

    // The documented layout, in the harness run path.
    let names = seed_records(&h.run_path, "realm.yaml");
    check_listing(&h, &[], &names, "docs layout");

    // Kukeon's layout, in a second run path.
    let kk = h.dir.join("run-kukeon");
    std::fs::create_dir_all(kk.join("data")).unwrap();
    std::fs::write(
        kk.join(".kukeon-instance.json"),
        json!({"containerdNamespaceSuffix": "kukeon.io", "cgroupRoot": format!("{}/kk", h.cgroup_root)})
            .to_string(),
    )
    .unwrap();
    let kk_names = seed_records(&kk.join("data"), "metadata.json");
    let run_path = kk.to_str().unwrap().to_string();
    check_listing(
        &h,
        &["--run-path", &run_path, "--layout", "kukeon"],
        &kk_names,
        "kukeon layout",
    );

    assert_contained(&h, &outside_before, "nothing outside the run paths");
    eprintln!(
        "hostile: {} hostile records per layout listed in table/wide/json/yaml, 2 layouts, in {:?}",
        names.len(),
        started.elapsed()
    );
}

/// Tags the test image in `ns` under every hostile-but-containerd-legal
/// reference; returns those containerd took (and prints those it refused).
fn tag_hostile_images(h: &Harness, ns: &str) -> Vec<String> {
    let long = format!("localhost/{}:1", "a".repeat(10_000));
    let candidates = [
        "localhost/\u{1b}[31mred:1".to_string(),
        "\u{1b}]0;pwned\u{7}".into(),
        "bidi\u{202e}gpj.exe".into(),
        "zw\u{200b}\u{feff}:x".into(),
        "c1\u{9b}2J".into(),
        "nl\nrow".into(),
        format!("../../{ESCAPE}:1"),
        long,
    ];
    let mut taken = Vec::new();
    let results = name_images_via_api(h, ns, &candidates);
    for (r, result) in candidates.into_iter().zip(results) {
        match result {
            Ok(()) => taken.push(r),
            Err(e) => eprintln!(
                "hostile: containerd refused image name {:?}: {e}",
                r.chars().take(40).collect::<String>(),
            ),
        }
    }
    taken
}

/// Creates image records named `names` pointing at the test image, through
/// containerd's Images API as any client may. `ctr images tag` is not used:
/// ctr 2.x refuses invalid references before asking the daemon, which still
/// accepts them (so other tools can write them and we must show them inert).
fn name_images_via_api(h: &Harness, ns: &str, names: &[String]) -> Vec<Result<(), String>> {
    use containerd_client::services::v1::images_client::ImagesClient;
    use containerd_client::services::v1::{CreateImageRequest, GetImageRequest, Image};
    use containerd_client::with_namespace;
    use tonic::Request;
    const CALL: Duration = Duration::from_secs(10);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let channel = tokio::time::timeout(CALL, containerd_client::connect(&h.socket))
            .await
            .expect("connect timed out")
            .expect("connect to the harness containerd");
        let mut client = ImagesClient::new(channel);
        let get = GetImageRequest {
            name: h.image_ref.clone(),
        };
        let source = tokio::time::timeout(CALL, client.get(with_namespace!(get, ns)))
            .await
            .expect("get image timed out")
            .expect("get the test image")
            .into_inner()
            .image
            .expect("image record");
        let mut out = Vec::new();
        for name in names {
            let image = Image {
                name: name.clone(),
                labels: Default::default(),
                target: source.target.clone(),
                created_at: None,
                updated_at: None,
            };
            let req = CreateImageRequest {
                image: Some(image),
                source_date_epoch: None,
            };
            let r = match tokio::time::timeout(CALL, client.create(with_namespace!(req, ns))).await
            {
                Err(_) => Err(format!("no answer within {CALL:?}")),
                Ok(Err(status)) => Err(status.message().to_string()),
                Ok(Ok(_)) => Ok(()),
            };
            out.push(r);
        }
        out
    })
}

#[test]
fn images_containers_and_labels_written_by_others_are_shown_inert() {
    let started = Instant::now();
    let h = Harness::start();
    let outside_before = outside_run(&h);
    ok_inert(h.run(&["create", "realm", "wl"]), "create wl");
    let ns = "kukeon-wl";
    h.import_image(ns);
    let refs = tag_hostile_images(&h, ns);
    // containerd takes any non-empty name: escapes, bidi, 10,000 characters.
    for must in ["localhost/\u{1b}[31mred:1", "bidi\u{202e}gpj.exe"] {
        assert!(refs.iter().any(|r| r == must), "containerd took {must:?}");
    }
    assert!(
        refs.iter().any(|r| r.len() > 10_000),
        "the long name was taken"
    );
    h.ctr_ok(&[
        "-n",
        ns,
        "images",
        "label",
        &h.image_ref,
        &format!("note=\u{1b}[2J\u{202e}{}", "n".repeat(3_000)),
    ]);

    // Container ids are containerd identifiers: traversal and escapes are
    // refused by containerd itself, 76 characters is the longest.
    for bad in ["..", "x\u{1b}[31m", "a/../b"] {
        let out = h.ctr(&["-n", ns, "containers", "create", &h.image_ref, bad]);
        assert!(
            !out.status.success(),
            "containerd took container id {bad:?}"
        );
    }
    let long_id = format!("c{}", "x".repeat(75));
    h.ctr_ok(&["-n", ns, "containers", "create", &refs[0], &long_id]);
    let task_id = "t1";
    h.run_task(
        ns,
        task_id,
        &format!("{}/wl/t1", h.cgroup_root),
        &["sleep", "600"],
    );
    let space = "sp\u{1b}]0;pwned\u{7}";
    let stack = "st\u{202e}ack\u{200b}";
    let cell = format!("ce\u{9b}2J{}", "c".repeat(4_000));
    for id in [long_id.as_str(), task_id] {
        h.ctr_ok(&[
            "-n",
            ns,
            "containers",
            "label",
            id,
            &format!("kukeon.io/space={space}"),
            &format!("kukeon.io/stack={stack}"),
            &format!("kukeon.io/cell={cell}"),
        ]);
    }

    for format in ["table", "wide"] {
        let table = ok_inert(
            h.run(&["get", "images", "--realm", "wl", "-o", format]),
            "images",
        );
        assert_inert(&table, &format!("images {format}"));
        assert_aligned(&table, refs.len() + 1, &format!("images {format}"));
        assert!(table.contains("localhost/\\u{1b}[31mred:1"), "{table}");
        assert!(table.contains("bidi\\u{202e}gpj.exe"), "{table}");
        for what in ["containers", "tasks"] {
            let table = ok_inert(h.run(&["get", what, "--realm", "wl", "-o", format]), what);
            let rows = if what == "tasks" { 1 } else { 2 };
            assert_inert(&table, &format!("{what} {format}"));
            assert_aligned(&table, rows, &format!("{what} {format}"));
            assert!(table.contains("sp\\u{1b}]0;pwned\\u{7}"), "{table}");
            assert!(table.contains("st\\u{202e}ack\\u{200b}"), "{table}");
        }
    }
    for format in ["json", "yaml"] {
        let text = ok_inert(
            h.run(&["get", "images", "--realm", "wl", "-o", format]),
            "images",
        );
        assert_no_controls(&text, &format!("images -o {format}"));
        if format == "json" {
            assert_inert(&text, "images -o json");
        }
        let images: Value = if format == "json" {
            serde_json::from_str(&text).unwrap()
        } else {
            serde_yaml_ng::from_str(&text).unwrap()
        };
        let got: BTreeSet<&str> = images
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["reference"].as_str().unwrap())
            .collect();
        let mut want: BTreeSet<&str> = refs.iter().map(String::as_str).collect();
        want.insert(&h.image_ref);
        assert_eq!(got, want, "images -o {format}: every reference, faithful");

        let text = ok_inert(
            h.run(&["get", "containers", "--realm", "wl", "-o", format]),
            "containers",
        );
        assert_no_controls(&text, &format!("containers -o {format}"));
        let list: Value = if format == "json" {
            serde_json::from_str(&text).unwrap()
        } else {
            serde_yaml_ng::from_str(&text).unwrap()
        };
        let long = list
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == long_id.as_str())
            .expect("the 76-character container");
        assert_eq!(long["image"], refs[0].as_str());
        assert_eq!(long["space"], space);
        assert_eq!(long["stack"], stack);
        assert_eq!(long["cell"], cell.as_str());
    }
    let table = ok_inert(h.run(&["get", "realms"]), "realms");
    assert_inert(&table, "realms with hostile images");

    // Everything hostile can still be removed by a cascade.
    let out = ok_inert(
        h.run(&[
            "delete",
            "realm",
            "wl",
            "--cascade",
            "--yes",
            "--grace",
            "1s",
        ]),
        "cascade",
    );
    assert_inert(&out, "cascade progress");
    assert!(!h.namespaces().iter().any(|n| n == ns), "{out}");
    assert_contained(&h, &outside_before, "nothing outside the run path");
    eprintln!(
        "hostile: {} hostile image names, 2 labelled containers listed and cascaded in {:?}",
        refs.len(),
        started.elapsed()
    );
}

/// The popup's frame: the display columns of the top-left and top-right
/// corners of the box whose top line holds `title`, and every line down to
/// its bottom keeps its side borders in those columns.
fn assert_box_holds(screen: &str, title: &str) {
    let lines: Vec<Vec<char>> = screen.lines().map(display_cols).collect();
    let top = lines
        .iter()
        .position(|l| l.iter().collect::<String>().contains(title))
        .unwrap_or_else(|| panic!("no {title:?} box:\n{screen}"));
    let left = lines[top].iter().position(|c| *c == '┌').expect("corner");
    let right = lines[top].iter().rposition(|c| *c == '┐').expect("corner");
    let mut closed = false;
    for (i, l) in lines.iter().enumerate().skip(top + 1) {
        if l.get(left) == Some(&'└') {
            assert_eq!(
                l.get(right),
                Some(&'┘'),
                "bottom right at line {i}:\n{screen}"
            );
            closed = true;
            break;
        }
        assert!(
            l.get(left) == Some(&'│') && l.get(right) == Some(&'│'),
            "line {i} of the {title:?} box shifted:\n{screen}"
        );
    }
    assert!(closed, "the {title:?} box has no bottom:\n{screen}");
}

/// tmux keeps the last OSC title; a raw `ESC ] 0 ; pwned BEL` would set it.
fn assert_title_kept(pane: &Pane) {
    let title = pane.tmux_ok(&["display-message", "-p", "-t", "kuke", "#{pane_title}"]);
    assert!(!title.contains("pwned"), "the pane title was set: {title}");
}

/// Pastes text as a terminal paste (bracketed: the console asked for it).
fn paste(pane: &Pane, text: &str) {
    pane.tmux_ok(&["set-buffer", "-b", "hostile", "--", text]);
    pane.tmux_ok(&[
        "paste-buffer",
        "-p",
        "-r",
        "-d",
        "-b",
        "hostile",
        "-t",
        "kuke",
    ]);
}

/// Pastes each hostile value into the focused field. The field drops
/// control characters as they arrive (so the CSI/OSC/C0/C1 classes become
/// plain text, shown as such and not submitted); every other class is
/// submitted with Enter and refused with one of `refusals`. Every screen is
/// inert, keeps the form's frame, and leaves the pane title alone.
fn try_field(pane: &Pane, title: &str, refusals: &[&str], skip_traversal: bool) {
    for (class, v) in hostile() {
        if skip_traversal && class.contains("traversal") {
            continue;
        }
        let (shown, submit) = match class {
            "traversal" => (format!("../{ESCAPE}"), true),
            "deep traversal" => (format!("tmp/{ESCAPE}"), true),
            "C0 controls" => ("abcde".to_string(), false),
            "CSI color" => ("[31mred".to_string(), false),
            "OSC title" => ("]0;pwned".to_string(), false),
            "C1 CSI" => ("x2J".to_string(), false),
            "bidi override" => ("abc\\u{202e}gpj.exe".to_string(), true),
            "bidi isolate" => ("\\u{2066}iso\\u{2069}".to_string(), true),
            "zero width" => ("zw\\u{200b}j".to_string(), true),
            "BOM" => ("\\u{feff}bom".to_string(), true),
            _ => ("a".repeat(30), true),
        };
        pane.keys(&["C-u"]);
        paste(pane, &v);
        if class == "C0 controls" {
            pane.keys(&["C-@"]); // a NUL byte from the keyboard
        }
        if submit {
            pane.keys(&["Enter"]);
        }
        let screen = wait_until(pane, &format!("{class} in {title}"), WAIT, |s| {
            s.contains(title)
                && s.contains(&shown)
                && (!submit || refusals.iter().any(|r| s.contains(r)))
        });
        assert_inert(&screen, &format!("{title}: {class}"));
        assert_box_holds(&screen, title);
        assert_title_kept(pane);
    }
    pane.keys(&["C-u"]);
}

#[test]
fn console_shows_hostile_data_inert_and_refuses_hostile_typing() {
    let started = Instant::now();
    let h = Harness::start();
    ok_inert(h.run(&["create", "realm", "plain"]), "create plain");
    let record = h.run_path.join("plain/realm.yaml");
    let record_before = std::fs::read(&record).unwrap();
    let outside_before = outside_run(&h);
    let pane = Pane::start(&h, None, &[]);
    wait_for(&pane, "plain", WAIT);

    // Typed into the create-realm form: refused as typed, nothing created.
    pane.keys(&["c"]);
    wait_for(&pane, "Create realm", WAIT);
    try_field(
        &pane,
        "Create realm",
        &["other than a-z", "longer than 63", "starts or ends"],
        false,
    );
    pane.keys(&["Escape"]);
    wait_until(&pane, "the form closed", WAIT, |s| {
        !s.contains("Create realm")
    });
    assert_eq!(
        run_path_entries(&h.run_path),
        BTreeSet::from(["plain".to_string()])
    );

    // Typed into the credential form: server, then username.
    pane.keys(&["Enter"]);
    wait_for(&pane, "1 Tasks", WAIT);
    pane.keys(&["3"]);
    wait_for(&pane, "Press a to add one", WAIT);
    pane.keys(&["a"]);
    wait_for(&pane, "Add credential in plain", WAIT);
    // The password first, so only the server or username is wrong.
    pane.keys(&["Tab", "Tab"]);
    pane.type_text("pw");
    pane.keys(&["Tab"]);
    try_field(&pane, "Add credential", &["invalid --server"], true);
    pane.type_text("registry.example.com");
    pane.keys(&["Tab"]);
    try_field(&pane, "Add credential", &["invalid --username"], true);
    pane.keys(&["Escape"]);
    wait_until(&pane, "the credential form closed", WAIT, |s| {
        !s.contains("Add credential")
    });
    assert_eq!(
        std::fs::read(&record).unwrap(),
        record_before,
        "record unchanged"
    );
    pane.keys(&["Escape"]);

    // Written by others while the console runs: records, images, labels.
    let names = seed_records(&h.run_path, "realm.yaml");
    h.import_image("kukeon-plain");
    let refs = tag_hostile_images(&h, "kukeon-plain");
    let screen = wait_until(&pane, "the hostile realms listed", WAIT, |s| {
        s.contains("bidi\\u{202e}gpj.exe") && s.contains("nl\\u{a}row") && s.contains("plain")
    });
    assert_inert(&screen, "realms screen");
    assert_title_kept(&pane);
    let lines: Vec<&str> = screen.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.contains("NAME") && l.contains("STATE") && l.contains("NAMESPACE"))
        .expect("header");
    let hcols = display_cols(lines[header]);
    let state_col = (0..hcols.len())
        .find(|&i| hcols[i..].starts_with(&['S', 'T', 'A', 'T', 'E']))
        .unwrap();
    let ns_col = (0..hcols.len())
        .find(|&i| hcols[i..].starts_with(&['N', 'A', 'M', 'E', 'S']))
        .unwrap();
    let rows: Vec<&&str> = lines[header + 1..].iter().take(names.len() + 1).collect();
    for row in &rows {
        let cols = display_cols(row);
        let state: String = cols[state_col..].iter().take(7).collect();
        assert!(
            ["Ready", "Invalid", "Degraded"]
                .iter()
                .any(|s| state.starts_with(s)),
            "STATE column shifted in {row:?}:\n{screen}"
        );
        assert_eq!(cols[state_col - 1], ' ', "{row:?}");
        assert!(cols[ns_col] != ' ', "NAMESPACE column shifted in {row:?}");
    }
    assert_eq!(rows.len(), names.len() + 1);

    // The images of a realm, with hostile references.
    pane.keys(&["/"]);
    pane.type_text("plain");
    pane.keys(&["Enter"]);
    wait_until(&pane, "only plain", WAIT, |s| !s.contains("bidi\\u{202e}"));
    pane.keys(&["Enter"]);
    wait_for(&pane, "1 Tasks", WAIT);
    pane.keys(&["2"]);
    let screen = wait_until(&pane, "the hostile images", WAIT, |s| {
        s.contains("REFERENCE") && s.contains("bidi\\u{202e}gpj.exe")
    });
    assert_inert(&screen, "images tab");
    assert_title_kept(&pane);
    let lines: Vec<&str> = screen.lines().collect();
    let header = lines.iter().position(|l| l.contains("REFERENCE")).unwrap();
    let hcols = display_cols(lines[header]);
    let size_col = (0..hcols.len())
        .find(|&i| hcols[i..].starts_with(&['S', 'I', 'Z', 'E']))
        .unwrap();
    for row in &lines[header + 1..header + 1 + refs.len() + 1] {
        let cols = display_cols(row);
        assert_eq!(
            cols[size_col - 1],
            ' ',
            "REFERENCE overflowed in {row:?}:\n{screen}"
        );
        assert!(
            cols[size_col].is_ascii_digit(),
            "SIZE column shifted in {row:?}:\n{screen}"
        );
    }
    pane.keys(&["q"]);
    wait_for(&pane, "EXITED:0", WAIT);
    assert_contained(&h, &outside_before, "nothing outside the run path");
    eprintln!(
        "hostile: console forms and hostile listings checked in {:?}",
        started.elapsed()
    );
}
