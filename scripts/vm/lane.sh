#!/usr/bin/env bash
# The cgroup v2 test lane: build (or reuse) the Debian guest for SUITE, build
# the named test binaries on the host, and run them inside the guest against
# the guest's containerd with only cgroup v2 mounted.
#
#   scripts/vm/lane.sh [--suite sid|trixie] [--timeout SECS] [--suite-timeout SECS] [TEST...]
#
# TEST: an integration test's name (tests/<TEST>.rs) or `lib` (the unit tests).
# Default: harness_selftest cli_scenario kukeon_layout console_snapshots.
# Exit 0 only when every binary passed. Must run as root (debootstrap, 9p
# passthrough keeps the owners of files the tests create).
set -euo pipefail
cd "$(dirname "$0")/../.."

suite=sid
run_opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) suite=${2:?}; shift 2 ;;
        --timeout | --suite-timeout) run_opts+=("$1" "${2:?}"); shift 2 ;;
        -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "vm/lane: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
tests=("$@")
[ "${#tests[@]}" -gt 0 ] || tests=(harness_selftest cli_scenario kukeon_layout console_snapshots)

[ "$(id -u)" -eq 0 ] || { echo "vm/lane: must run as root" >&2; exit 1; }
scripts/vm/setup.sh
t0=$(date +%s)
scripts/vm/build-image.sh "$suite"
echo "vm/lane: image ready in $(($(date +%s) - t0)) s"

# Build the binaries and read their paths from cargo's JSON messages.
select=()
for t in "${tests[@]}"; do
    if [ "$t" = lib ]; then
        select+=(--lib)
    elif [ -f "tests/$t.rs" ]; then
        select+=(--test "$t")
    else
        echo "vm/lane: no test named '$t' (tests/$t.rs or lib)" >&2
        exit 2
    fi
done
json=$(mktemp)
trap 'rm -f "$json"' EXIT
cargo test --locked --no-run --message-format=json "${select[@]}" >"$json"
mapfile -t bins < <(grep '"reason":"compiler-artifact"' "$json" |
    grep '"test":true' | grep -o '"executable":"[^"]*"' | cut -d'"' -f4)
[ "${#bins[@]}" -gt 0 ] || { echo "vm/lane: cargo reported no test binaries" >&2; exit 1; }

# Keep the order the tests were named in.
ordered=()
for t in "${tests[@]}"; do
    n=$t
    [ "$t" = lib ] && n=kuke_tui
    for b in "${bins[@]}"; do
        base=$(basename "$b")
        [ "${base%-*}" = "$n" ] && ordered+=("$b")
    done
done
exec scripts/vm/run.sh --suite "$suite" "${run_opts[@]}" "${ordered[@]}"
