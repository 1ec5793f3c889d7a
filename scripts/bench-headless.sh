#!/usr/bin/env bash
# Whole-process figures for the headless subcommands on a private containerd:
#   - `get realms -o json` wall time with N realms (default 50), each with an
#     image, the first 10 with two running tasks; median of RUNS runs
#   - `top` cost per sample (wall and CPU) over 200 back-to-back samples
#
#   ./scripts/bench-headless.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH env "PATH=$PATH" "$0" "$@"
n=${1:-50}
runs=${2:-15}

. scripts/fixture.sh
fixture_up "$n" 2 10

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)); }

"$bin" get realms -o json >/dev/null # warm the page cache
list=$(for _ in $(seq 1 "$runs"); do ms "$bin" get realms -o json; done | median)
echo "get realms -o json, $n realms (20 tasks, $n images): median $((list / 1000)).$(printf '%03d' $((list % 1000))) ms over $runs runs"

# top: 200 samples back to back (1ms interval) minus a 1-sample run, per sample.
TIMEFORMAT='%R %U %S'
one=$( { time "$bin" top --interval 1ms --count 1 -o json >/dev/null; } 2>&1 )
many=$( { time "$bin" top --interval 1ms --count 201 -o json >/dev/null; } 2>&1 )
awk -v a="$one" -v b="$many" -v n="$n" 'BEGIN {
    split(a, x, " "); split(b, y, " ");
    printf "top, %d realms: %.3f ms wall and %.3f ms CPU per sample (200 samples)\n", n, (y[1]-x[1])*1000/200, ((y[2]+y[3])-(x[2]+x[3]))*1000/200 }'
