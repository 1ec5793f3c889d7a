#!/usr/bin/env bash
# Idle cost of the console: N realms (default 50) with TASKS running tasks
# in all (default 200, 4 per realm), the console open in a tmux pane at a
# 1 s interval; CPU % of one core and RSS over SECONDS (default 60) after a
# 10 s warm-up, read from /proc/<pid>.
#
# With EVERY (seconds), RSS is also printed every EVERY seconds: the long
# run (600 s, every 10 s) shows memory flat once the history rings are
# full. A ring holds 300 points of 32 bytes at a 1 s interval, in a VecDeque
# whose capacity grows to 512: 16 KiB per realm, ~1.6 MiB at 100 realms and
# ~16 MiB at 1,000, all reached ~257 s in (the last doubling).
#
#   ./scripts/bench-console.sh [N] [TASKS] [SECONDS] [EVERY]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH env "PATH=$PATH" "$0" "$@"
n=${1:-50}
tasks=${2:-200}
secs=${3:-60}
every=${4:-}
per=$(((tasks + n - 1) / n))
command -v tmux >/dev/null || { echo "bench-console: needs tmux (scripts/setup.sh installs it)" >&2; exit 1; }

. scripts/fixture.sh
fixture_up "$n" "$per" $((tasks / per))
sock=$fixture_dir/tmux.sock
tmux -S "$sock" new-session -d -x 120 -y 40 \
    "env KUKEON_RUN_PATH=$KUKEON_RUN_PATH KUKEON_CONTAINERD_SOCKET=$KUKEON_CONTAINERD_SOCKET KUKEON_CGROUP_ROOT=$KUKEON_CGROUP_ROOT $bin --interval 1s"
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; fixture_down' EXIT
sleep 10
pid=$(tmux -S "$sock" list-panes -F '#{pane_pid}')
tick=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss_now() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
c0=$(cpu)
t0=$(date +%s%N)
if [ -n "$every" ]; then
    for _ in $(seq 1 $((secs / every))); do
        sleep "$every"
        awk -v t="$((($(date +%s%N) - t0) / 1000000000))" -v r="$(rss_now)" \
            'BEGIN { printf "  t=%4ds (since warm-up) RSS %.1f MiB\n", t, r / 1024 }'
    done
else
    sleep "$secs"
fi
c1=$(cpu)
t1=$(date +%s%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
running=$(ctr --address "$KUKEON_CONTAINERD_SOCKET" namespaces ls -q | wc -l)
awk -v c="$((c1 - c0))" -v tick="$tick" -v ns="$((t1 - t0))" -v rss="$rss" -v hwm="$hwm" -v n="$n" -v t="$tasks" -v nsn="$running" 'BEGIN {
    printf "console idle, %d realms (%d namespaces), %d tasks, 1s interval: %.2f%% of one core over %.0f s, RSS %.1f MiB (peak %.1f MiB)\n",
        n, nsn, t, 100 * c / tick / (ns / 1e9), ns / 1e9, rss / 1024, hwm / 1024 }'
