//! Things that need no daemon: help, version, completions, usage errors.

use std::process::Command;

fn kuke(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kuke-tui"))
        .args(args)
        .env("KUKEON_RUN_PATH", "/nonexistent/kuke-tui-basics")
        .env(
            "KUKEON_CONTAINERD_SOCKET",
            "/nonexistent/kuke-tui-basics.sock",
        )
        .output()
        .unwrap()
}

#[test]
fn version_help_and_completions() {
    let out = kuke(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("kuke-tui {}", env!("CARGO_PKG_VERSION"))
    );

    let out = kuke(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for cmd in [
        "get",
        "create",
        "delete",
        "top",
        "completions",
        "--run-path",
        "--containerd-socket",
        "--cgroup-root",
        "--timeout",
        "--interval",
        "--readonly",
        "--allow-system",
    ] {
        assert!(help.contains(cmd), "help lacks {cmd}:\n{help}");
    }

    for shell in ["bash", "zsh", "fish"] {
        let out = kuke(&["completions", shell]);
        assert!(out.status.success());
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("registry-credential") && script.contains("kuke-tui"),
            "{shell}"
        );
    }
}

#[test]
fn usage_errors_are_one_line_with_exit_2() {
    for args in [
        &["get", "realms", "-o", "xml"][..],
        &["create", "realm"],
        &["frobnicate"],
        &["top", "--interval", "0s"],
        &["get", "realms", "--timeout", "soon"],
        &[
            "create",
            "registry-credential",
            "r",
            "--server",
            "s",
            "--username",
            "u",
        ],
    ] {
        let out = kuke(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("error:"), "{args:?}: {err}");
    }
}

#[test]
fn the_console_without_a_terminal_points_at_the_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_kuke-tui"))
        .env("KUKEON_RUN_PATH", "/nonexistent/kuke-tui-basics")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("needs a terminal") && err.contains("kuke-tui get realms"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn unreachable_socket_names_the_socket_and_the_fix() {
    let out = kuke(&["get", "realms"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/kuke-tui-basics.sock") && err.contains("--containerd-socket"),
        "{err}"
    );
}
