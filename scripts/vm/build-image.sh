#!/usr/bin/env bash
# Build the cgroup v2 lane's guest: a Debian root filesystem made with
# debootstrap from Debian's archive, as an ext4 disk image plus the kernel and
# initrd copied out of it.
#
#   scripts/vm/build-image.sh [SUITE]        SUITE: sid (default, containerd 2.1)
#                                                   or trixie (containerd 1.7)
#
# Output (printed on the last line): target/vm/<SUITE>/ with
#   rootfs.img  vmlinuz  initrd.img  key  build.log
# Cached: rebuilt only when `key` (sha256 of this script, the suite and the
# mirror) differs or a file is missing. Everything there can be rebuilt.
#
# Environment: KUKE_VM_MIRROR (default http://deb.debian.org/debian),
#              KUKE_VM_DIR (default <project>/target/vm).
# Needs root (debootstrap) and scripts/vm/setup.sh's packages. The host's apt
# sources are never read or changed: debootstrap fetches from the mirror
# itself and checks the Release signature with debian-archive-keyring.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

suite=${1:-sid}
case "$suite" in
    sid | unstable | trixie | forky | testing) ;;
    *) echo "vm/build-image: unsupported suite '$suite' (use sid or trixie)" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
project=$(cd "$here/../.." && pwd)
mirror=${KUKE_VM_MIRROR:-http://deb.debian.org/debian}
vmdir=${KUKE_VM_DIR:-$project/target/vm}
out=$vmdir/$suite
# Downloaded .debs, reused by the next build (re-downloadable, so safe to drop).
debs=$vmdir/debs/$suite
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

[ "$(id -u)" -eq 0 ] || { echo "vm/build-image: must run as root (debootstrap)" >&2; exit 1; }
for c in debootstrap mkfs.ext4 sha256sum; do
    command -v "$c" >/dev/null || { echo "vm/build-image: $c not found (run scripts/vm/setup.sh as root)" >&2; exit 1; }
done
[ -f "$keyring" ] || { echo "vm/build-image: $keyring not found (run scripts/vm/setup.sh as root)" >&2; exit 1; }

key=$( { cat "${BASH_SOURCE[0]}" "$here/make-initrd.sh" | sha256sum; echo "$suite $mirror"; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/key" ] && [ "$(cat "$out/key")" = "$key" ] &&
    [ -s "$out/rootfs.img" ] && [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.img" ]; then
    echo "vm/build-image: $suite image is current"
    echo "$out"
    exit 0
fi

# Everything the integration tests call inside the guest (see tests/*.rs and
# scripts/setup.sh): containerd + shim + ctr, runc, busybox-static and gcc +
# libc6-dev (the test image is built in the guest by scripts/build-test-image.sh),
# golang-go (tests/common/kukeond.rs builds the peer), tmux, script(1)
# (bsdutils), strace, CNI plugins, ip, iptables, unshare/nsenter, mount, kill.
# The kernel makes the guest bootable with the initrd generator its package
# names first (dracut on sid, initramfs-tools on trixie: naming one here
# conflicts with the other); kmod loads 9p.
packages=(
    linux-image-amd64 kmod
    containerd runc busybox-static
    gcc libc6-dev golang-go
    tmux bsdutils strace procps util-linux mount
    containernetworking-plugins iproute2 iptables
    coreutils tar
)

mkdir -p "$vmdir" "$debs"
vmdir=$(realpath "$vmdir") debs=$(realpath "$debs") out=$vmdir/$suite
work=$(mktemp -d "$vmdir/.build-$suite.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
tree=$work/tree
log=$work/build.log
started=$(date +%s)

step() { echo "vm/build-image: $* ($(($(date +%s) - started)) s)"; }
fail() {
    # Keep the log (and debootstrap's own) where the next look will find it.
    cat "$tree/debootstrap/debootstrap.log" >>"$log" 2>/dev/null || true
    cp "$log" "$vmdir/build-$suite.failed.log"
    echo "vm/build-image: $1 failed; last lines of $vmdir/build-$suite.failed.log:" >&2
    tail -n 40 "$log" >&2
    exit 1
}

step "debootstrap $suite from $mirror"
debootstrap --variant=minbase --keyring="$keyring" --cache-dir="$debs" \
    --include="$(IFS=,; echo "${packages[*]}")" \
    "$suite" "$tree" "$mirror" >>"$log" 2>&1 || fail debootstrap

step "configuring the guest"
# The init the kernel runs (init=/sbin/kuke-init): mounts, cgroup v2 only, the
# 9p share at the host's own path, then the script named by kuke.script=.
cat >"$tree/sbin/kuke-init" <<'INIT'
#!/bin/sh
# PID 1 of the kuke-tui test guest (written by scripts/vm/build-image.sh).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=xterm-256color LANG=C.UTF-8
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# devtmpfs lacks the links udev would make; bash's <(...) needs /dev/fd.
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -o remount,rw /
hostname kuke-vm
ip link set lo up
share= script=
for a in $(cat /proc/cmdline); do
    case "$a" in
        kuke.share=*) share=${a#kuke.share=} ;;
        kuke.script=*) script=${a#kuke.script=} ;;
        kuke.umask=*) umask "${a#kuke.umask=}" ;;
    esac
done
echo "kuke-init: up $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r), umask $(umask)"
echo "kuke-init: cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
rc=1
if [ -n "$share" ]; then
    modprobe 9pnet_virtio 2>/dev/null; modprobe 9p 2>/dev/null
    mkdir -p "$share"
    if mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=512000 host "$share"; then
        if [ -n "$script" ] && [ -f "$script" ]; then
            echo "kuke-init: running $script at $(cut -d' ' -f1 /proc/uptime) s"
            sh "$script"; rc=$?
            echo "kuke-init: $script exited $rc"
        else
            echo "kuke-init: no script (kuke.script=$script)"
        fi
    else
        echo "kuke-init: mounting the 9p share at $share failed"
    fi
fi
sync
echo "kuke-init: powering off (rc $rc)"
busybox poweroff -f
INIT
chmod 755 "$tree/sbin/kuke-init"
# The archive's Release files can be past Valid-Until here; apt in the guest
# (if someone runs it) should still work.
echo 'Acquire::Check-Valid-Until "false";' >"$tree/etc/apt/apt.conf.d/99kuke-no-valid-until"
echo kuke-vm >"$tree/etc/hostname"
printf '127.0.0.1 localhost kuke-vm\n::1 localhost\n' >"$tree/etc/hosts"
# No stale package cache in the image.
rm -f "$tree"/var/cache/apt/archives/*.deb "$tree"/var/cache/apt/*.bin

step "copying the kernel, making a small initrd"
vmlinuz=$(ls "$tree"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$vmlinuz" ] || { echo "no kernel in $tree/boot" >>"$log"; fail "copying the kernel"; }
cp "$vmlinuz" "$work/vmlinuz"
kver=${vmlinuz##*/vmlinuz-}
echo "kernel: $kver" >>"$log"
# Our own small initrd: the distribution's (dracut runs systemd on sid) takes
# ~35 s longer to boot under TCG.
"$here/make-initrd.sh" "$tree" "$kver" "$work/initrd.img" >>"$log" 2>&1 || fail "making the initrd"

step "making the ext4 image"
# The tree's size plus room for the tests' containerd roots and temp dirs
# (writes go to qemu's snapshot overlay, the image itself stays as built).
used_mb=$(du -sm "$tree" | cut -f1)
size_mb=$((used_mb + used_mb / 4 + 3072))
mkfs.ext4 -q -F -L kuke-root -d "$tree" "$work/rootfs.img" "${size_mb}M" >>"$log" 2>&1 || fail mkfs.ext4
echo "tree: ${used_mb} MB, image: ${size_mb} MB" >>"$log"

# Publish atomically: the old output goes away only once the new one is whole.
rm -rf "$tree"
echo "$key" >"$work/key"
rm -rf "$out"
mv "$work" "$out"
trap - EXIT
step "done: $out"
echo "$out"
