#!/usr/bin/env bash
# Boot the cgroup v2 guest (scripts/vm/build-image.sh) and run prebuilt test
# binaries in it, one after another, each with --test-threads=1.
#
#   scripts/vm/run.sh [--suite sid|trixie] [--timeout SECS] [--suite-timeout SECS]
#                     [--results DIR] TEST_BINARY...
#
# The project directory is shared over 9p (cache=loose) at the same absolute
# path as on the host, so the binaries' compiled-in paths (CARGO_MANIFEST_DIR,
# CARGO_TARGET_TMPDIR, CARGO_BIN_EXE_*) work unchanged. Only cgroup v2 is
# mounted (cgroup_no_v1=all). The root disk is opened with snapshot=on: the
# image is never modified. No network card (-nic none).
#
# Results land in DIR (default target/vm/results/<suite>-<time>/): one
# <suite>.log per binary, summary.tsv, console.log. Prints a table (suite,
# result, passed/failed, seconds, first error line). Exit 0 only when every
# binary passed. On a boot failure (the script never ran) or a timeout the
# console log is printed. The qemu process is killed by its pid on timeout.
#
# Environment: variables named KUKE_TUI_* are passed to the tests in the guest.
# KUKE_VM_ACCEL=kvm|tcg overrides the accelerator detection; KUKE_VM_UMASK
# (default 0000) is the umask the tests run with.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
suite=sid
timeout=3600
suite_timeout=1200
results=

usage() { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --suite) suite=${2:?}; shift 2 ;;
        --timeout) timeout=${2:?}; shift 2 ;;
        --suite-timeout) suite_timeout=${2:?}; shift 2 ;;
        --results) results=${2:?}; shift 2 ;;
        -h | --help) usage ;;
        --) shift; break ;;
        -*) echo "vm/run: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || { echo "vm/run: no test binaries given" >&2; usage; }
[[ $timeout =~ ^[0-9]+$ ]] && [[ $suite_timeout =~ ^[0-9]+$ ]] ||
    { echo "vm/run: --timeout and --suite-timeout take whole seconds" >&2; exit 2; }

img=${KUKE_VM_DIR:-$project/target/vm}/$suite
for f in rootfs.img vmlinuz initrd.img; do
    [ -s "$img/$f" ] || { echo "vm/run: $img/$f missing (run scripts/vm/build-image.sh $suite)" >&2; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null ||
    { echo "vm/run: qemu-system-x86_64 not found (run scripts/vm/setup.sh as root)" >&2; exit 1; }
# The kernel command line carries the share's path: no spaces allowed there.
[[ $project =~ ^[A-Za-z0-9/._+-]+$ ]] ||
    { echo "vm/run: project path '$project' has characters the kernel command line cannot carry" >&2; exit 1; }

bins=()
for b in "$@"; do
    b=$(realpath "$b")
    [ -x "$b" ] || { echo "vm/run: $b is not an executable test binary" >&2; exit 1; }
    case "$b" in
        "$project"/*) bins+=("$b") ;;
        *) echo "vm/run: $b is outside the shared project directory $project" >&2; exit 1 ;;
    esac
done

[ -n "$results" ] || results=$project/target/vm/results/$suite-$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$results"
results=$(realpath "$results")
case "$results" in "$project"/*) ;; *) echo "vm/run: --results must be inside $project (the share)" >&2; exit 1 ;; esac
rm -f "$results"/summary.tsv "$results"/started "$results"/done "$results"/*.log

# Single-quote a value for the guest's sh.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# The job the guest's init runs (sh, from the share).
{
    echo '#!/bin/sh'
    echo "# Written by scripts/vm/run.sh; run by /sbin/kuke-init in the guest."
    echo "res=$(shq "$results")"
    echo "cd $(shq "$project") || exit 1"
    while IFS='=' read -r k v; do
        echo "export $k=$(shq "$v")"
    done < <(env | grep -E '^KUKE_TUI_[A-Za-z0-9_]*=' || true)
    cat <<'JOB'
now() { cut -d' ' -f1 /proc/uptime; }
now >"$res/started"
echo "containerd: $(containerd --version 2>&1)" >"$res/guest.txt"
echo "runc: $(runc --version 2>&1 | head -n 1)" >>"$res/guest.txt"
echo "kernel: $(uname -r)" >>"$res/guest.txt"
echo "cgroup: $(stat -fc %T /sys/fs/cgroup) $(cat /sys/fs/cgroup/cgroup.controllers)" >>"$res/guest.txt"
echo "umask: $(umask)" >>"$res/guest.txt"
JOB
    echo "suite_timeout=$suite_timeout"
    cat <<'JOB'
# One binary: its log, exit status and seconds in summary.tsv.
run() {
    t0=$(now)
    echo "kuke-job: $1 starting at $t0 s"
    timeout -k 10 "$suite_timeout" "$2" --test-threads=1 >"$res/$1.log" 2>&1
    rc=$?
    t1=$(now)
    echo "kuke-job: $1 exited $rc"
    printf '%s\t%s\t%s\n' "$1" "$rc" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" >>"$res/summary.tsv"
    sync
}
JOB
    for b in "${bins[@]}"; do
        name=$(basename "$b")
        name=${name%-*} # cargo's hash suffix
        echo "run $(shq "$name") $(shq "$b")"
    done
    echo 'now >"$res/done"'
    echo 'sync'
} >"$results/job.sh"

if [ -z "${KUKE_VM_ACCEL:-}" ]; then
    # /dev/kvm alone is not enough: a nested pagetable VM (kvm_pvm) cannot run
    # a stock kernel. Use KVM only with the real hardware modules.
    if { [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]; } && [ -w /dev/kvm ]; then
        KUKE_VM_ACCEL=kvm
    else
        KUKE_VM_ACCEL=tcg
    fi
fi
case "$KUKE_VM_ACCEL" in
    kvm) accel=(-accel kvm -cpu host) ;;
    tcg) accel=(-accel tcg,thread=multi -cpu max) ;;
    *) echo "vm/run: KUKE_VM_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

console=$results/console.log
cmdline="root=/dev/vda rw console=ttyS0 panic=-1 init=/sbin/kuke-init"
cmdline+=" cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
# umask 0 by default (what a guest booted without systemd had): code that
# relies on the umask for a folder's mode shows it here.
umask_=${KUKE_VM_UMASK:-0000}
[[ $umask_ =~ ^0?[0-7]{3}$ ]] || { echo "vm/run: KUKE_VM_UMASK must be an octal umask like 0022" >&2; exit 2; }
cmdline+=" kuke.share=$project kuke.script=$results/job.sh kuke.umask=$umask_"

qpid=
cleanup() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null || true
        sleep 1
        kill -9 "$qpid" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "vm/run: booting $suite ($KUKE_VM_ACCEL, 2 vCPU, 3 GiB), ${#bins[@]} test binaries, timeout ${timeout}s; results in $results"
t0=$(date +%s)
qemu-system-x86_64 "${accel[@]}" -smp 2 -m 3072 \
    -nographic -no-reboot -monitor none -serial stdio \
    -kernel "$img/vmlinuz" -initrd "$img/initrd.img" -append "$cmdline" \
    -drive "file=$img/rootfs.img,format=raw,if=virtio,snapshot=on" \
    -virtfs "local,path=$project,mount_tag=host,security_model=passthrough,id=host" \
    -nic none \
    </dev/null >"$console" 2>&1 &
qpid=$!

timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
    if [ $(($(date +%s) - t0)) -ge "$timeout" ]; then
        timed_out=1
        echo "vm/run: timeout after ${timeout}s; killing qemu (pid $qpid)" >&2
        cleanup
        break
    fi
    sleep 1
done
wait "$qpid" 2>/dev/null || true
qpid=
wall=$(($(date +%s) - t0))

if [ ! -f "$results/started" ]; then
    echo "vm/run: the guest never reached the test script (boot failure); console log $console:" >&2
    tail -n 80 "$console" >&2
    exit 1
fi

# The table: suite, result, counts, seconds, first error line.
first_error() {
    # From the first panic's message: its line naming an error, else its first line.
    awk '/panicked at/ && !seen { seen = 1; n = 6; next }
         n > 0 { n--; if (first == "") first = $0; if ($0 ~ /error/) { print; exit } }
         n == 0 && first != "" { print first; exit }
         END { if (first != "") print first }' "$1" | head -n 1 | cut -c1-200
}
fail=0
printf '%-22s %-8s %7s %7s %8s  %s\n' SUITE RESULT PASSED FAILED SECONDS "FIRST ERROR"
for b in "${bins[@]}"; do
    name=$(basename "$b"); name=${name%-*}
    line=$(awk -F'\t' -v n="$name" '$1 == n' "$results/summary.tsv" 2>/dev/null | tail -n 1)
    log=$results/$name.log
    if [ -z "$line" ]; then
        printf '%-22s %-8s %7s %7s %8s  %s\n' "$name" "not-run" - - - "(the guest stopped before it)"
        fail=1
        continue
    fi
    rc=$(cut -f2 <<<"$line")
    secs=$(cut -f3 <<<"$line")
    passed=$(awk '/^test result:/ { p += $4 } END { print p + 0 }' "$log")
    failed=$(awk '/^test result:/ { f += $6 } END { print f + 0 }' "$log")
    err=
    case "$rc" in
        0) result=pass ;;
        124 | 137) result=timeout; err="(no result within ${suite_timeout}s) " ;;
        *) result=fail ;;
    esac
    if [ "$rc" != 0 ]; then
        fail=1
        first=$(first_error "$log")
        [ -n "$first" ] || first=$(grep -m1 -iE 'error|failed' "$log" | cut -c1-200 || true)
        err+=$first
    fi
    printf '%-22s %-8s %7s %7s %8s  %s\n' "$name" "$result" "$passed" "$failed" "$secs" "$err"
done
boot=$(cat "$results/started")
echo "vm/run: script reached ${boot} s after the kernel started; wall ${wall} s; $(tr '\n' ';' <"$results/guest.txt")"
if [ "$timed_out" = 1 ] || [ ! -f "$results/done" ]; then
    echo "vm/run: the guest did not finish the job; last lines of $console:" >&2
    tail -n 40 "$console" >&2
    fail=1
fi
exit "$fail"
