#!/usr/bin/env bash
# A sandbox host: a private containerd (own root, state and socket under
# $KUKE_TUI_SANDBOX, default /tmp/kuke-tui-sandbox), three seeded realms with
# running tasks and an image each, then kuke-tui opened on it. Everything is
# torn down on exit. The host's own containerd and /opt/kukeon are untouched.
#
#   ./scripts/sandbox.sh                 # the interactive console on the sandbox
#   ./scripts/sandbox.sh get realms      # any kuke-tui command against the sandbox
#   KUKE_TUI_SANDBOX_KEEP=1 ./scripts/sandbox.sh get realms   # leave it running afterwards
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "sandbox.sh: must run as root (it starts containerd and creates cgroups)" >&2; exit 1; }
    exec sudo --preserve-env=PATH,CARGO_HOME,RUSTUP_HOME,TERM,NO_COLOR,KUKE_TUI_SANDBOX,KUKE_TUI_SANDBOX_KEEP env "PATH=$PATH" "$0" "$@"
fi

scripts/setup.sh >/dev/null
cargo build --release --locked --quiet
bin=$PWD/target/release/kuke-tui

sandbox=${KUKE_TUI_SANDBOX:-/tmp/kuke-tui-sandbox}
daemon=$sandbox/containerd
export KUKEON_RUN_PATH=$sandbox/run
export KUKEON_CONTAINERD_SOCKET=$daemon/containerd.sock
export KUKEON_CGROUP_ROOT=/kuke-tui-sandbox
# The sandbox has no kukeond: a private socket path, never the host's daemon.
export KUKEON_HOST=unix://$sandbox/kukeond.sock
realms=(web batch data)
ctr_() { ctr --address "$KUKEON_CONTAINERD_SOCKET" "$@"; }

teardown() {
    for r in "${realms[@]}"; do
        "$bin" delete realm "$r" --cascade --yes --grace 1s >/dev/null 2>&1 || true
    done
    scripts/containerd-private.sh stop "$daemon" >/dev/null 2>&1 || true
    for m in $(awk '$9 ~ /^cgroup/ {print $5}' /proc/self/mountinfo); do
        [ -d "$m$KUKEON_CGROUP_ROOT" ] && find "$m$KUKEON_CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    rm -rf "$sandbox"
}

# A previous sandbox that was left running is replaced.
if scripts/containerd-private.sh status "$daemon" >/dev/null 2>&1; then teardown; fi
if [ -z "${KUKE_TUI_SANDBOX_KEEP:-}" ]; then trap teardown EXIT; fi

mkdir -p "$sandbox"
scripts/containerd-private.sh start "$daemon" >/dev/null
scripts/build-test-image.sh "$sandbox/image.tar" >/dev/null
image=localhost/kuke-tui/busybox:test

run_task() { # realm id command...
    local realm=$1 id=$2; shift 2
    ctr_ -n "kukeon-$realm" run -d --runc-root "$daemon/runc" \
        --cgroup "$KUKEON_CGROUP_ROOT/$realm/$id" \
        --label kukeon.io/realm="$realm" --label kukeon.io/space=default \
        --label kukeon.io/stack="$realm" --label kukeon.io/cell="$id" \
        --label kukeon.io/container-type=container \
        "$image" "$id" "$@" >/dev/null
}

for r in "${realms[@]}"; do
    "$bin" create realm "$r" --label tier=sandbox >/dev/null
    ctr_ -n "kukeon-$r" images import "$sandbox/image.tar" >/dev/null
done
run_task web frontend /bin/memhog 48
run_task web sidecar /bin/sleep 86400
# A busy loop that sleeps a little each round: a visible, bounded CPU load.
run_task batch worker /bin/sh -c 'while :; do i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 0.1; done'
run_task data store /bin/memhog 96
printf 'sandbox-password\n' | "$bin" create registry-credential web --server registry.example.com --username robot --password-stdin >/dev/null

if [ $# -gt 0 ]; then
    "$bin" "$@"
else
    if [ -t 0 ] && [ -t 1 ]; then
        "$bin"
    else
        # No terminal for the console: a few samples of the same data instead.
        "$bin" top --interval 1s --count 3
    fi
fi
if [ -n "${KUKE_TUI_SANDBOX_KEEP:-}" ]; then
    echo "sandbox kept; use: export KUKEON_RUN_PATH=$KUKEON_RUN_PATH KUKEON_CONTAINERD_SOCKET=$KUKEON_CONTAINERD_SOCKET KUKEON_CGROUP_ROOT=$KUKEON_CGROUP_ROOT KUKEON_HOST=$KUKEON_HOST" >&2
fi
