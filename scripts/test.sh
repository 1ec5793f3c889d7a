#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need (containerd, runc,
# busybox-static, protoc, gcc), checks formatting and lints, then every unit
# and integration test. Integration tests start their own private containerd
# daemons in temp dirs and use a unique cgroup prefix; they never touch the
# host's /run/containerd, /opt/kukeon or /sys/fs/cgroup/kukeon.
#
#   ./scripts/test.sh            (re-runs itself with sudo when not root)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "test.sh: must run as root (tests create cgroups and start containerd)" >&2; exit 1; }
    exec sudo --preserve-env=PATH,CARGO_HOME,RUSTUP_HOME,CI env "PATH=$PATH" "$0" "$@"
fi

scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
# One test at a time: the usage assertions (a spinner near 100% of a core)
# need the machine's cores to themselves.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --locked -- --test-threads=1 2>&1 | tee "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6; s += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
