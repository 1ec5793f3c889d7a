# Sourced by the benchmark scripts: a private containerd with N realms, an
# image in each, and sleeping tasks. Sets KUKEON_* for kuke-tui and `bin`.
#   fixture_up N TASKS_PER_REALM TASK_REALMS   (tasks only in the first TASK_REALMS realms)
#   fixture_down                               (also run on EXIT)

fixture_up() {
    local n=$1 per=$2 with_tasks=$3
    scripts/setup.sh >/dev/null
    cargo build --release --locked --quiet
    bin=$PWD/target/release/kuke-tui
    fixture_dir=$(mktemp -d /tmp/kuke-tui-bench.XXXXXX)
    export KUKEON_RUN_PATH=$fixture_dir/run KUKEON_CONTAINERD_SOCKET=$fixture_dir/cd/containerd.sock
    export KUKEON_CGROUP_ROOT=/kuke-tui-bench-$$
    trap fixture_down EXIT
    scripts/containerd-private.sh start "$fixture_dir/cd" >/dev/null
    scripts/build-test-image.sh "$fixture_dir/image.tar" >/dev/null
    local i t r
    for i in $(seq 1 "$n"); do
        r=realm-$i
        "$bin" create realm "$r" >/dev/null
        ctr --address "$KUKEON_CONTAINERD_SOCKET" -n "kukeon-$r" images import "$fixture_dir/image.tar" >/dev/null
        if [ "$i" -le "$with_tasks" ]; then
            for t in $(seq 1 "$per"); do
                ctr --address "$KUKEON_CONTAINERD_SOCKET" -n "kukeon-$r" run -d --null-io \
                    --runc-root "$fixture_dir/cd/runc" --cgroup "$KUKEON_CGROUP_ROOT/$r/t$t" \
                    localhost/kuke-tui/busybox:test "t$t" /bin/sleep 3600 >/dev/null
            done
        fi
    done
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
