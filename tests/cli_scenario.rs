//! The whole life of realms through the CLI against a private containerd,
//! real runc tasks and real cgroups: create, inspect, usage, credentials,
//! refused and cascaded deletes, and a clean no-op afterwards.

mod common;

use common::{credential_args, stderr_of, Harness};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

const SECRET: &str = "s3cr3t-Pa55word";
const SECRET2: &str = "an0ther-Pa55word";
const MIB: f64 = 1024.0 * 1024.0;

#[test]
fn realm_lifecycle_end_to_end() {
    let h = Harness::start();
    let alpha_group = format!("{}/alpha", h.cgroup_root);

    // Create: every step reported, namespace and cgroup really exist.
    let out = h.run_ok(&["create", "realm", "alpha", "--label", "team=core"]);
    for step in ["record", "namespace", "cgroup"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(step) && l.contains("created")),
            "{step} not created:\n{out}"
        );
    }
    assert!(h.namespaces().contains(&"kukeon-alpha".to_string()));
    let dirs = h.cgroup_dirs(&alpha_group);
    assert!(!dirs.is_empty(), "no cgroup directory for {alpha_group}");
    let record = h.run_path.join("alpha/realm.yaml");
    assert_eq!(
        std::fs::metadata(&record).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(
        text.contains("state: Ready") && text.contains("team: core"),
        "{text}"
    );

    // Re-running is idempotent and says so; then it repairs what went missing.
    let out = h.run_ok(&["create", "realm", "alpha"]);
    assert_eq!(out.matches("already existed").count(), 3, "{out}");
    h.ctr_ok(&["namespaces", "rm", "kukeon-alpha"]);
    for d in h.cgroup_dirs(&alpha_group) {
        std::fs::remove_dir(&d).unwrap();
    }
    let out = h.run_ok(&["create", "realm", "alpha"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("namespace") && l.contains("repaired")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("cgroup") && l.contains("repaired")),
        "{out}"
    );
    assert!(h.namespaces().contains(&"kukeon-alpha".to_string()));
    assert!(!h.cgroup_dirs(&alpha_group).is_empty());

    // A second realm with a CPU spinner; alpha gets a sleeper and a 64 MiB hog.
    h.run_ok(&["create", "realm", "beta"]);
    for ns in ["kukeon-alpha", "kukeon-beta"] {
        h.import_image(ns);
    }
    h.run_task(
        "kukeon-alpha",
        "sleeper",
        &format!("{alpha_group}/sleeper"),
        &["/bin/sleep", "3600"],
    );
    h.run_task(
        "kukeon-alpha",
        "hog",
        &format!("{alpha_group}/hog"),
        &["/bin/memhog", "64"],
    );
    h.wait_task_log(
        "kukeon-alpha",
        "hog",
        "holding 64 MiB",
        std::time::Duration::from_secs(10),
    );
    // A Kukeon-placed container that was never started: listed, without a task.
    h.ctr_ok(&[
        "-n",
        "kukeon-alpha",
        "containers",
        "create",
        "--label",
        "kukeon.io/realm=alpha",
        "--label",
        "kukeon.io/space=web",
        "--label",
        "kukeon.io/stack=shop",
        "--label",
        "kukeon.io/cell=cart",
        "--label",
        "kukeon.io/container-type=container",
        &h.image_ref,
        "web_shop_cart_app",
    ]);
    let beta_group = format!("{}/beta", h.cgroup_root);
    h.run_task(
        "kukeon-beta",
        "spin",
        &format!("{beta_group}/spin"),
        &["/bin/sh", "-c", "while :; do :; done"],
    );

    // Tasks: status, pid and per-task usage from the task's cgroup.
    let tasks = h.run_json(&["get", "tasks", "--realm", "alpha", "-o", "json"]);
    let tasks = tasks.as_array().unwrap();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    for t in tasks {
        assert_eq!(t["status"], "Running", "{t}");
        assert!(t["pid"].as_u64().unwrap() > 0);
        assert!(t["usage"]["pidsCurrent"].as_u64().unwrap() >= 1, "{t}");
    }
    let hog = tasks.iter().find(|t| t["id"] == "hog").unwrap();
    let hog_mem = hog["usage"]["memoryCurrent"].as_u64().unwrap() as f64;
    assert!(hog_mem >= 64.0 * MIB, "hog task memory {hog_mem}");
    let containers = h.run_json(&["get", "containers", "--realm", "alpha", "-o", "json"]);
    let containers = containers.as_array().unwrap();
    assert_eq!(containers.len(), 3, "{containers:?}");
    let cart = containers
        .iter()
        .find(|c| c["id"] == "web_shop_cart_app")
        .unwrap();
    assert_eq!(cart["status"], "NoTask");
    assert_eq!(
        (&cart["space"], &cart["stack"], &cart["cell"]),
        (&"web".into(), &"shop".into(), &"cart".into())
    );
    assert_eq!(cart["managed"], true);
    assert_eq!(
        containers.iter().find(|c| c["id"] == "hog").unwrap()["managed"],
        false
    );
    let table = h.run_ok(&["get", "containers", "--realm", "alpha"]);
    assert!(
        table.contains("web_shop_cart_app") && table.contains("NoTask") && table.contains("cart"),
        "{table}"
    );
    let table = h.run_ok(&["get", "tasks", "--realm", "alpha"]);
    assert!(
        table.starts_with("ID") && table.contains("hog") && table.contains("Running"),
        "{table}"
    );

    // Images: the size is what ctr shows.
    let images = h.run_json(&["get", "images", "--realm", "alpha", "-o", "json"]);
    let image = &images.as_array().unwrap()[0];
    assert_eq!(image["reference"], h.image_ref.as_str());
    let ctr_line = h.ctr_ok(&["-n", "kukeon-alpha", "images", "ls"]);
    let ours = h.run_ok(&["get", "images", "--realm", "alpha"]);
    let ctr_size = ctr_size_column(&ctr_line);
    assert!(
        ours.contains(&ctr_size),
        "ctr says {ctr_size}, we say:\n{ours}"
    );

    // Listing: observed state, counts, usage.
    let list = h.run_json(&["get", "realms", "-o", "json"]);
    let alpha = common::realm_item(&list, "alpha");
    assert_eq!(alpha["state"], "Ready");
    assert_eq!(alpha["observed"]["namespaceExists"], true);
    assert_eq!(alpha["observed"]["cgroupExists"], true);
    assert_eq!(alpha["counts"]["tasks"], 2);
    assert_eq!(alpha["counts"]["runningTasks"], 2);
    assert_eq!(alpha["counts"]["images"], 1);
    assert!(alpha["usage"]["pidsCurrent"].as_u64().unwrap() >= 2);
    let table = h.run_ok(&["get", "realms"]);
    assert!(
        table.starts_with("NAME") && table.contains("2/2"),
        "{table}"
    );

    // top: the hog's 64 MiB within 10 %, the spinner near one full core.
    let out = h.run_ok(&["top", "--interval", "1s", "--count", "3", "-o", "json"]);
    let last: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let realms = last["realms"].as_array().unwrap();
    let alpha_rate = realms.iter().find(|r| r["realm"] == "alpha").unwrap();
    let beta_rate = realms.iter().find(|r| r["realm"] == "beta").unwrap();
    let mem = alpha_rate["memoryBytes"].as_f64().unwrap();
    assert!(
        (mem - 64.0 * MIB).abs() <= 6.4 * MIB,
        "alpha memory {:.1} MiB",
        mem / MIB
    );
    let cpu = beta_rate["cpuPercentOfCore"].as_f64().unwrap();
    eprintln!(
        "top: alpha memory {:.1} MiB (hog holds 64), beta cpu {cpu:.1}% of a core",
        mem / MIB
    );
    assert!((80.0..=110.0).contains(&cpu), "beta cpu {cpu}%");
    assert!(
        alpha_rate["cpuPercentOfCore"].as_f64().unwrap() < 20.0,
        "{alpha_rate}"
    );
    let out = h.run_ok(&[
        "top",
        "--realm",
        "beta",
        "--interval",
        "500ms",
        "--count",
        "1",
    ]);
    assert!(
        out.starts_with("REALM") && out.contains("beta") && !out.contains("alpha"),
        "{out}"
    );

    // Credentials: added, updated, masked everywhere, removed.
    let cred = credential_args(
        "alpha",
        "registry.example.com",
        "robot",
        &["--password-stdin"],
    );
    let out = h.run_with_stdin(&cred, &format!("{SECRET}\n"));
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("added"));
    let out = h.run_with_stdin(&cred, SECRET2);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("updated"),
        "{}",
        stderr_of(&out)
    );
    let pw_file = h.dir.join("pw");
    std::fs::write(&pw_file, SECRET).unwrap();
    h.run_ok(&credential_args(
        "alpha",
        "ghcr.io",
        "bot",
        &["--from-file", pw_file.to_str().unwrap()],
    ));
    let listed = h.run_json(&["get", "registry-credentials", "alpha", "-o", "json"]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let mut outputs = vec![
        serde_json::to_string(&listed).unwrap(),
        h.run_ok(&["get", "registry-credentials", "alpha"]),
        h.run_ok(&["get", "registry-credentials", "alpha", "-o", "yaml"]),
        h.run_ok(&["get", "realm", "alpha"]),
        h.run_ok(&["get", "realm", "alpha", "-o", "json"]),
        h.run_ok(&["get", "realms", "-o", "yaml"]),
        h.run_ok(&["get", "realms", "-o", "wide"]),
    ];
    outputs.push(render(&h.run(&["delete", "realm", "alpha", "--dry-run"])));
    for text in &outputs {
        assert!(
            !text.contains(SECRET) && !text.contains(SECRET2),
            "secret leaked:\n{text}"
        );
    }
    assert!(outputs[1].contains("********"));
    let revealed = h.run_ok(&["get", "realm", "alpha", "--show-secrets"]);
    assert!(
        revealed.contains(SECRET2),
        "--show-secrets shows the password"
    );
    let wide = &outputs[6];
    assert!(wide.contains("CREDENTIALS"), "{wide}");
    h.run_ok(&[
        "delete",
        "registry-credential",
        "alpha",
        "--server",
        "ghcr.io",
    ]);
    let out = h.run(&[
        "delete",
        "registry-credential",
        "alpha",
        "--server",
        "ghcr.io",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(
        h.run_json(&["get", "registry-credentials", "alpha", "-o", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // A plain delete refuses while the realm holds workloads or spaces, and names the flag.
    let space = h.run_path.join("alpha/web");
    std::fs::create_dir_all(&space).unwrap();
    std::fs::write(
        space.join("space.yaml"),
        "apiVersion: v1beta1\nkind: Space\nmetadata:\n  name: web\n",
    )
    .unwrap();
    let out = h.run(&["delete", "realm", "alpha", "--yes"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    for needle in [
        "2 task(s)",
        "3 container(s)",
        "1 image(s)",
        "1 space(s)",
        "--cascade",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    // The dry run lists everything and changes nothing.
    let plan = h.run_ok(&["delete", "realm", "alpha", "--cascade", "--dry-run"]);
    for needle in [
        "sleeper",
        "hog",
        "web_shop_cart_app",
        "spaces (1)",
        "space.yaml",
        &h.image_ref,
        "realm.yaml",
        "kukeon-alpha",
        "snapshots (",
        "content blobs (",
    ] {
        assert!(plan.contains(needle), "plan lacks {needle}:\n{plan}");
    }
    for d in h.cgroup_dirs(&alpha_group) {
        assert!(
            plan.contains(d.to_str().unwrap()),
            "plan lacks {}:\n{plan}",
            d.display()
        );
    }
    let plan_json = h.run_json(&[
        "delete",
        "realm",
        "alpha",
        "--cascade",
        "--dry-run",
        "-o",
        "json",
    ]);
    assert_eq!(plan_json["tasks"].as_array().unwrap().len(), 2);
    assert!(!plan_json["snapshots"].as_array().unwrap().is_empty());
    assert!(
        h.namespaces().contains(&"kukeon-alpha".to_string()),
        "dry run changed nothing"
    );

    // Without a terminal and without --yes it refuses.
    let out = h.run(&["delete", "realm", "alpha", "--cascade"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--yes"), "{}", stderr_of(&out));

    // The cascade leaves nothing behind: namespace, cgroups, files, tasks.
    let out = h.run_ok(&[
        "delete",
        "realm",
        "alpha",
        "--cascade",
        "--yes",
        "--grace",
        "2s",
    ]);
    assert!(out.contains("deleted"), "{out}");
    assert!(!h.namespaces().contains(&"kukeon-alpha".to_string()));
    assert!(
        h.cgroup_dirs(&alpha_group).is_empty(),
        "cgroup left: {:?}",
        h.cgroup_dirs(&alpha_group)
    );
    assert!(!h.run_path.join("alpha").exists());

    // A second delete is a clean no-op.
    let out = h.run_ok(&["delete", "realm", "alpha", "--cascade", "--yes"]);
    assert!(out.contains("nothing to delete"), "{out}");

    // A delete interrupted after everything but the files is finished by a
    // rerun; so is one that already lost its record (defaults are used).
    std::fs::remove_file(h.run_path.join("beta/realm.yaml")).unwrap();
    let out = h.run_ok(&[
        "delete",
        "realm",
        "beta",
        "--cascade",
        "--yes",
        "--grace",
        "1s",
    ]);
    assert!(out.contains("deleted"), "{out}");
    assert!(!h.namespaces().contains(&"kukeon-beta".to_string()));
    assert!(h.cgroup_dirs(&beta_group).is_empty());
    assert!(!h.run_path.join("beta").exists());
    assert!(
        h.leftover_shims().is_empty(),
        "shims left: {:?}",
        h.leftover_shims()
    );
    assert_eq!(h.run_ok(&["get", "realms"]), "No realms found.\n");
}

fn render(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The SIZE column of `ctr images ls` (e.g. "1.1 MiB").
fn ctr_size_column(listing: &str) -> String {
    let line = listing.lines().nth(1).expect("an image row");
    let cols: Vec<&str> = line.split_whitespace().collect();
    // REF TYPE DIGEST SIZE(value unit) PLATFORMS LABELS
    format!("{} {}", cols[3], cols[4])
}
