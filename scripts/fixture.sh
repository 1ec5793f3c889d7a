# Sourced by the benchmark scripts: a private containerd with N realms, an
# image in each, and sleeping tasks. Sets KUKEON_* for kuke-tui and `bin`.
#   fixture_up N TASKS_PER_REALM TASK_REALMS   (tasks only in the first TASK_REALMS realms)
#   fixture_down                               (also run on EXIT)
#
# Realms are created, images imported and tasks started FIXTURE_JOBS at a
# time (default 8; the work is mostly waiting on containerd and runc), so
# 1,000 realms take minutes, not an hour. Realms with tasks get the image
# unpacked (a task needs the snapshot); the others get it with --no-unpack,
# which is all `get realms` and the console look at (the image record).
# Prints how long each phase took on stderr.

# Runs "$@ ARG" for every line of stdin, FIXTURE_JOBS at a time; fails when
# any run failed (after waiting for the others).
_fixture_each() {
    local jobs=${FIXTURE_JOBS:-8} running=0 failed=0 arg
    while read -r arg; do
        if [ "$running" -ge "$jobs" ]; then
            wait -n || failed=1
            running=$((running - 1))
        fi
        "$@" "$arg" &
        running=$((running + 1))
    done
    while [ "$running" -gt 0 ]; do
        wait -n || failed=1
        running=$((running - 1))
    done
    return "$failed"
}

# ctr with the fixture's daemon; retried, since parallel imports of the same
# blobs can briefly collide on containerd's ingest locks ("unavailable").
_fixture_ctr() {
    local try out
    for try in 1 2 3 4 5; do
        if out=$(ctr --address "$KUKEON_CONTAINERD_SOCKET" --timeout 60s "$@" 2>&1); then
            return 0
        fi
        sleep "0.$((RANDOM % 5 + 1))"
    done
    echo "fixture: ctr $* failed: $out" >&2
    return 1
}

_fixture_create() {
    local out
    out=$("$bin" create realm "realm-$1" 2>&1) || { echo "fixture: create realm-$1: $out" >&2; return 1; }
}

_fixture_import() {
    local unpack=--no-unpack
    [ "$1" -le "$_fixture_with_tasks" ] && unpack=
    _fixture_ctr -n "kukeon-realm-$1" images import $unpack "$fixture_dir/image.tar"
}

_fixture_task() { # REALM_INDEX/TASK_INDEX
    local r=realm-${1%/*} t=t${1#*/}
    _fixture_ctr -n "kukeon-$r" run -d --null-io \
        --runc-root "$fixture_dir/cd/runc" --cgroup "$KUKEON_CGROUP_ROOT/$r/$t" \
        localhost/kuke-tui/busybox:test "$t" /bin/sleep 3600
}

_fixture_phase() { # NAME START_NS
    local e
    e=$(date +%s%N)
    echo "fixture: $1 in $(((e - $2) / 1000000)) ms" >&2
}

fixture_up() {
    local n=$1 per=$2 with_tasks=$3 s0 s i t
    _fixture_with_tasks=$with_tasks
    scripts/setup.sh >/dev/null
    cargo build --release --locked --quiet
    bin=$PWD/target/release/kuke-tui
    fixture_dir=$(mktemp -d /tmp/kuke-tui-bench.XXXXXX)
    export KUKEON_RUN_PATH=$fixture_dir/run KUKEON_CONTAINERD_SOCKET=$fixture_dir/cd/containerd.sock
    export KUKEON_CGROUP_ROOT=/kuke-tui-bench-$$
    export KUKEON_HOST=unix://$fixture_dir/kukeond.sock # no daemon, never the host's
    trap fixture_down EXIT
    s0=$(date +%s%N)
    scripts/containerd-private.sh start "$fixture_dir/cd" >/dev/null
    scripts/build-test-image.sh "$fixture_dir/image.tar" >/dev/null
    s=$(date +%s%N)
    seq 1 "$n" | _fixture_each _fixture_create || return 1
    _fixture_phase "$n realms created" "$s"
    s=$(date +%s%N)
    seq 1 "$n" | _fixture_each _fixture_import || return 1
    _fixture_phase "image imported into $n realms" "$s"
    s=$(date +%s%N)
    for i in $(seq 1 "$((with_tasks < n ? with_tasks : n))"); do
        for t in $(seq 1 "$per"); do echo "$i/$t"; done
    done | _fixture_each _fixture_task || return 1
    _fixture_phase "tasks started" "$s"
    _fixture_phase "fixture of $n realms ready" "$s0"
}

fixture_down() {
    [ -n "${fixture_dir:-}" ] || return 0
    # The private daemon's stop kills every task and shim of it.
    scripts/containerd-private.sh stop "$fixture_dir/cd" >/dev/null 2>&1 || true
    for m in $(awk '$9 ~ /^cgroup/ {print $5}' /proc/self/mountinfo); do
        [ -d "$m$KUKEON_CGROUP_ROOT" ] && find "$m$KUKEON_CGROUP_ROOT" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    rm -rf "$fixture_dir"
    fixture_dir=
}
