//! What every containerd config the project writes (test harness, sandbox,
//! benchmark fixtures) must say, kept in one place.
//!
//! On 2.x, disabling `io.containerd.grpc.v1.cri` alone no longer keeps CRI
//! off: the images, runtime and pod-sandbox plugins and NRI still load (and
//! NRI/CRI start their own work). 1.6 and 1.7 ignore unknown plugin IDs, so the
//! full list is safe on every version. `scripts/containerd-private.sh` repeats
//! the same line; a unit test keeps the two in step.

/// Plugin IDs a private containerd for kuke-tui runs without.
pub const DISABLED_PLUGINS: &[&str] = &[
    "io.containerd.grpc.v1.cri",
    "io.containerd.cri.v1.images",
    "io.containerd.cri.v1.runtime",
    "io.containerd.podsandbox.controller.v1.podsandbox",
    "io.containerd.nri.v1.nri",
];

/// The `disabled_plugins = [...]` line of a version-2 config.toml.
pub fn disabled_plugins_line() -> String {
    let ids: Vec<String> = DISABLED_PLUGINS.iter().map(|p| format!("{p:?}")).collect();
    format!("disabled_plugins = [{}]", ids.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_lists_cri_and_nri() {
        let line = disabled_plugins_line();
        assert!(line.starts_with("disabled_plugins = [\"io.containerd.grpc.v1.cri\", "));
        assert!(line.ends_with("\"io.containerd.nri.v1.nri\"]"), "{line}");
        assert_eq!(line.matches("io.containerd.").count(), 5);
    }

    /// The shell script that starts the sandbox/benchmark containerd writes
    /// its own config; it must carry the same list.
    #[test]
    fn private_containerd_script_has_the_same_list() {
        let script = include_str!("../../scripts/containerd-private.sh");
        let line = disabled_plugins_line();
        assert!(
            script.lines().any(|l| l.trim() == line),
            "scripts/containerd-private.sh must contain: {line}"
        );
        assert_eq!(script.matches("disabled_plugins").count(), 1);
    }
}
