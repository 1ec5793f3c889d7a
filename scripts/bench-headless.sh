#!/usr/bin/env bash
# Whole-process figures for the headless subcommands on a private containerd:
#   - `get realms -o json` wall time with N realms (default 50), each with an
#     image, the first TASK_REALMS (default min(N, 100)) with two running
#     tasks; median of RUNS runs
#   - the same listing done with `ctr` (namespaces, then tasks and images per
#     namespace, sequentially): median of CTR_RUNS runs interleaved with the
#     above, and the ratio of the medians
#   - `top` cost per sample (wall and CPU) over 200 back-to-back samples
#
#   ./scripts/bench-headless.sh [N] [RUNS] [CTR_RUNS] [TASK_REALMS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH env "PATH=$PATH" "$0" "$@"
n=${1:-50}
runs=${2:-15}
ctr_runs=${3:-5}
task_realms=${4:-$((n < 100 ? n : 100))}

. scripts/fixture.sh
fixture_up "$n" 2 "$task_realms"

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)); }

# What a shell user without kuke-tui would run for the same listing.
ctr_listing() {
    local ns
    for ns in $(ctr --address "$KUKEON_CONTAINERD_SOCKET" namespaces ls -q); do
        ctr --address "$KUKEON_CONTAINERD_SOCKET" -n "$ns" tasks ls
        ctr --address "$KUKEON_CONTAINERD_SOCKET" -n "$ns" images ls
    done
}
fmt_ms() { echo "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

# Sanity: both see every realm's namespace and every task.
got=$("$bin" get realms -o json | grep -o '"name": *"realm-[0-9]*"' | sort -u | wc -l)
tasks=$(ctr_listing | grep -c RUNNING || true)
[ "$got" -eq "$n" ] || { echo "bench-headless: get realms listed $got realms, want $n" >&2; exit 1; }
[ "$tasks" -eq $((2 * task_realms)) ] || { echo "bench-headless: ctr sees $tasks running tasks, want $((2 * task_realms))" >&2; exit 1; }

"$bin" get realms -o json >/dev/null # warm the page cache
samples=$fixture_dir/samples
: >"$samples.kuke"
: >"$samples.ctr"
for i in $(seq 1 "$runs"); do
    ms "$bin" get realms -o json >>"$samples.kuke"
    if [ "$i" -le "$ctr_runs" ]; then ms ctr_listing >>"$samples.ctr"; fi
done
list=$(median <"$samples.kuke")
ctrl=$(median <"$samples.ctr")
echo "get realms -o json, $n realms ($((2 * task_realms)) tasks, $n images): median $(fmt_ms "$list") ms over $runs runs"
echo "ctr loop (namespaces ls, then tasks ls + images ls per namespace), same fixture: median $(fmt_ms "$ctrl") ms over $ctr_runs runs"
awk -v a="$ctrl" -v b="$list" -v n="$n" 'BEGIN { printf "get realms is %.1fx faster than the ctr loop at %d realms\n", a / b, n }'

# top: 200 samples back to back (1ms interval) minus a 1-sample run, per sample.
TIMEFORMAT='%R %U %S'
one=$( { time "$bin" top --interval 1ms --count 1 -o json >/dev/null; } 2>&1 )
many=$( { time "$bin" top --interval 1ms --count 201 -o json >/dev/null; } 2>&1 )
awk -v a="$one" -v b="$many" -v n="$n" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    printf "top, %d realms: %.3f ms wall and %.3f ms CPU per sample (200 samples)\n", n, (y[1]-x[1])*1000/200, ((y[2]+y[3])-(x[2]+x[3]))*1000/200 }'
