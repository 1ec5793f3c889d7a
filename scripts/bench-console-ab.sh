#!/usr/bin/env bash
# Idle cost of several console builds in one fixture, one after the other:
# the way to compare two builds on a VM whose speed drifts between runs.
# Each BIN runs alone in a tmux pane at a 1 s interval for SECONDS after a
# 10 s warm-up; its CPU % of one core and RSS come from /proc. Alternate the
# builds (A B B A ...) so that drift falls on both.
#
#   ./scripts/bench-console-ab.sh N TASKS SECONDS BIN [BIN...]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH env "PATH=$PATH" "$0" "$@"
[ $# -ge 4 ] || { echo "usage: $0 N TASKS SECONDS BIN [BIN...]" >&2; exit 2; }
n=$1
tasks=$2
secs=$3
shift 3
for b in "$@"; do [ -x "$b" ] || { echo "bench-console-ab: $b is not an executable" >&2; exit 2; }; done
command -v tmux >/dev/null || { echo "bench-console-ab: needs tmux (scripts/setup.sh installs it)" >&2; exit 1; }
per=$(((tasks + n - 1) / n))

. scripts/fixture.sh
fixture_up "$n" "$per" $((tasks / per))
sock=$fixture_dir/tmux.sock
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; fixture_down' EXIT
tick=$(getconf CLK_TCK)
for b in "$@"; do
    tmux -S "$sock" new-session -d -s bench -x 120 -y 40 \
        "env KUKEON_RUN_PATH=$KUKEON_RUN_PATH KUKEON_CONTAINERD_SOCKET=$KUKEON_CONTAINERD_SOCKET KUKEON_CGROUP_ROOT=$KUKEON_CGROUP_ROOT $b --interval 1s"
    sleep 10
    pid=$(tmux -S "$sock" list-panes -t bench -F '#{pane_pid}')
    c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    t0=$(date +%s%N)
    sleep "$secs"
    c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    t1=$(date +%s%N)
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    awk -v b="$b" -v c="$((c1 - c0))" -v tick="$tick" -v ns="$((t1 - t0))" -v rss="$rss" 'BEGIN {
        printf "%s: %.2f%% of one core over %.0f s, RSS %.1f MiB\n", b, 100 * c / tick / (ns / 1e9), ns / 1e9, rss / 1024 }'
    tmux -S "$sock" kill-session -t bench
    sleep 1
done
