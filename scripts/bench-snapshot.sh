#!/usr/bin/env bash
# Snapshot latency (issue 6, point 1): for each N, a private containerd with
# N realms (an image in every realm, 2 running tasks in each of the first
# 100), then `cargo bench --bench snapshot` against it: p50/p99 of the whole
# home-screen refresh (records + containerd + cgroups), of the idle tick and
# of the records alone, and criterion's median. Each fixture is removed
# before the next is built (and on any exit).
#
#   ./scripts/bench-snapshot.sh [N...]        (default: 10 100 1000)
#   SNAPSHOT_ITERS=300 SNAPSHOT_SECS=20       timed iterations per figure, cap
#   FIXTURE_JOBS=8                            parallel fixture building
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH env "PATH=$PATH" "$0" "$@"
[ $# -gt 0 ] || set -- 10 100 1000
for n in "$@"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench-snapshot: N must be a positive number, got $n" >&2; exit 2; }
done

. scripts/fixture.sh
# Built once, before any fixture exists, so no daemon waits on the compiler.
cargo bench --locked --bench snapshot --no-run --quiet 2>/dev/null
for n in "$@"; do
    echo "== $n realms" >&2
    fixture_up "$n" 2 100
    cargo bench --locked --bench snapshot --quiet 2>&1 |
        grep -E "^(fixture|snapshot|refresh|refresh_idle|tick|records)[ ,:]" || true
    fixture_down
done
