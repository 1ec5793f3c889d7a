#!/usr/bin/env bash
# Cascade delete of a realm with TASKS running tasks (default 50) against a
# sequential `ctr` loop doing the same teardown on an identical realm, on a
# private containerd; ROUNDS rounds (default 3, the order alternating), the
# median of each and the ratio. After every delete the script checks that
# nothing is left: namespace, cgroups, shims, run-path directory.
#
# Each task is `sh -c 'trap "exit 0" TERM; while :; do sleep 1 & wait; done'`
# in the test image: it exits at once on SIGTERM, so neither side waits out a
# grace period.
#
# The ctr loop, per task: tasks kill -s SIGTERM, poll `tasks ls` until it is
# STOPPED, tasks delete, containers delete (which removes its snapshot); then
# images rm, snapshots rm (leaves first), leases rm, content rm, namespaces rm, rmdir of the realm's
# cgroups and rm -rf of its run-path directory.
#
#   ./scripts/bench-cascade.sh [TASKS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || exec sudo --preserve-env=PATH env "PATH=$PATH" "$0" "$@"
tasks=${1:-50}
rounds=${2:-3}

. scripts/fixture.sh
fixture_up 0 0 0
c() { ctr --address "$KUKEON_CONTAINERD_SOCKET" "$@"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
fmt_ms() { echo "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }
cgroup_mounts() { awk '$9 ~ /^cgroup/ {print $5}' /proc/self/mountinfo; }

# A realm made the way kuke-tui makes them, with the image and TASKS tasks
# (started 4 at a time: setup is not what is measured).
make_realm() {
    local r=$1
    "$bin" create realm "$r" >/dev/null
    c -n "kukeon-$r" images import "$fixture_dir/image.tar" >/dev/null
    seq 1 "$tasks" | xargs -P 4 -I{} ctr --address "$KUKEON_CONTAINERD_SOCKET" -n "kukeon-$r" \
        run -d --null-io --runc-root "$fixture_dir/cd/runc" --cgroup "$KUKEON_CGROUP_ROOT/$r/t{}" \
        localhost/kuke-tui/busybox:test "t{}" sh -c 'trap "exit 0" TERM; while :; do sleep 1 & wait; done' >/dev/null
    local running
    running=$(c -n "kukeon-$r" tasks ls | grep -c RUNNING || true)
    [ "$running" -eq "$tasks" ] || { echo "bench-cascade: $r has $running running tasks, want $tasks" >&2; exit 1; }
}

ctr_teardown() {
    local r=$1 ns=kukeon-$1 id m
    for id in $(c -n "$ns" containers ls -q); do
        c -n "$ns" tasks kill -s SIGTERM "$id"
        until c -n "$ns" tasks ls | awk -v id="$id" '$1 == id {print $3}' | grep -qx STOPPED; do sleep 0.05; done
        c -n "$ns" tasks delete "$id" >/dev/null
        c -n "$ns" containers delete "$id"
    done
    # shellcheck disable=SC2046
    c -n "$ns" images rm $(c -n "$ns" images ls -q) >/dev/null
    # The image's unpacked layers, leaves first (GC may take some meanwhile).
    local snaps
    for _ in $(seq 1 50); do
        snaps=$(c -n "$ns" snapshots ls | awk 'NR > 1 {print $1, (NF == 3 ? $2 : "")}')
        [ -n "$snaps" ] || break
        for id in $(awk '{k[$1]; if ($2 != "") p[$2]} END {for (x in k) if (!(x in p)) print x}' <<<"$snaps"); do
            c -n "$ns" snapshots rm "$id" 2>/dev/null || true
        done
    done
    for id in $(c -n "$ns" leases ls -q); do c -n "$ns" leases rm "$id"; done
    # shellcheck disable=SC2046
    [ -z "$(c -n "$ns" content ls -q)" ] || c -n "$ns" content rm $(c -n "$ns" content ls -q)
    c namespaces rm "$ns" >/dev/null
    for m in $(cgroup_mounts); do
        [ -d "$m$KUKEON_CGROUP_ROOT/$r" ] && find "$m$KUKEON_CGROUP_ROOT/$r" -depth -type d -exec rmdir {} +
    done
    rm -rf "${KUKEON_RUN_PATH:?}/$r"
}

kuke_teardown() { "$bin" delete realm "$1" --cascade --yes >>"$fixture_dir/kuke.log"; }

# Nothing of realm $1 may be left anywhere.
check_gone() {
    local r=$1 m p left=""
    c namespaces ls -q | grep -qx "kukeon-$r" && left+=" namespace"
    for m in $(cgroup_mounts); do [ -e "$m$KUKEON_CGROUP_ROOT/$r" ] && left+=" cgroup:$m"; done
    for p in /proc/[0-9]*; do
        { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "containerd-shim.*-namespace kukeon-$r .*-address $KUKEON_CONTAINERD_SOCKET" && left+=" shim:${p#/proc/}"
    done
    [ -e "$KUKEON_RUN_PATH/$r" ] && left+=" run-path-dir"
    if [ -n "$left" ]; then echo "bench-cascade: $2 left behind for $r:$left" >&2; exit 1; fi
}

time_us() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(((e - s) / 1000)); }

: >"$fixture_dir/kuke"
: >"$fixture_dir/ctr"
for i in $(seq 1 "$rounds"); do
    make_realm "k$i"
    make_realm "c$i"
    if [ $((i % 2)) -eq 1 ]; then order="kuke ctr"; else order="ctr kuke"; fi
    for who in $order; do
        if [ "$who" = kuke ]; then
            t=$(time_us kuke_teardown "k$i"); check_gone "k$i" "kuke-tui delete --cascade"
        else
            t=$(time_us ctr_teardown "c$i"); check_gone "c$i" "the ctr loop"
        fi
        echo "$t" >>"$fixture_dir/$who"
        echo "round $i: $who $(fmt_ms "$t") ms" >&2
    done
done
k=$(median <"$fixture_dir/kuke")
s=$(median <"$fixture_dir/ctr")
echo "cascade delete of a realm with $tasks running tasks: kuke-tui median $(fmt_ms "$k") ms, sequential ctr loop median $(fmt_ms "$s") ms over $rounds rounds"
awk -v a="$s" -v b="$k" 'BEGIN { printf "kuke-tui delete --cascade is %.1fx faster than the sequential ctr loop; nothing left behind by either\n", a / b }'
echo "ratio in each round (ctr / kuke-tui): $(paste "$fixture_dir/ctr" "$fixture_dir/kuke" | awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2}')"
