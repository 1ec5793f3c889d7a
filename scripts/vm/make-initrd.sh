#!/usr/bin/env bash
# Make the guest's initrd: load the root disk's modules (virtio, ext4), mount
# /dev/vda and switch_root to the kernel's init=. Nothing else (no udev, no
# systemd): the distribution's initrd boots ~35 s slower under TCG.
#
#   scripts/vm/make-initrd.sh TREE KERNEL_VERSION OUT   (OUT: gzip'd newc cpio)
#
# TREE is the guest's root filesystem: its static busybox is the initrd's
# userland and also writes the cpio archive (the host needs no cpio).
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 TREE KERNEL_VERSION OUT" >&2; exit 2; }
tree=$1 kver=$2 out=$3
[ -x "$tree/usr/bin/busybox" ] || { echo "make-initrd: no $tree/usr/bin/busybox (busybox-static)" >&2; exit 1; }
[ -f "$tree/lib/modules/$kver/modules.dep" ] || { echo "make-initrd: no modules.dep for $kver in $tree" >&2; exit 1; }
rd=$(mktemp -d)
trap 'rm -rf "$rd"' EXIT
mkdir -p "$rd/bin" "$rd/lib/modules" "$rd/proc" "$rd/dev" "$rd/root"
cp "$tree/usr/bin/busybox" "$rd/bin/busybox"
: >"$rd/modules"
moddir=$tree/lib/modules/$kver
# modules.dep's path for a module name (- and _ are the same in names).
dep_path() { awk -F: -v n="$1" '{ m = $1; sub(/.*\//, "", m); sub(/\.ko.*/, "", m); gsub(/-/, "_", m) } m == n { print $1; exit }' "$moddir/modules.dep"; }
# Add a module after its dependencies (modules.dep lists them, last loaded first).
add() {
    local path=$1 name d deps
    name=$(basename "$path"); name=${name%.xz}
    grep -qx "$name" "$rd/modules" && return 0
    deps=$(awk -F: -v p="$path" '$1 == p { print $2; exit }' "$moddir/modules.dep")
    for d in $(printf '%s\n' $deps | tac); do add "$d"; done
    case "$path" in
        *.xz) xz -dc "$moddir/$path" >"$rd/lib/modules/$name" ;;
        *) cp "$moddir/$path" "$rd/lib/modules/$name" ;;
    esac
    echo "$name" >>"$rd/modules"
}
# ext4 asks for the crc32c crypto driver by name (a softdep, not in
# modules.dep); which module provides it depends on the kernel.
for m in virtio_pci virtio_blk crc32c_generic crc32c_intel crc32c ext4; do
    path=$(dep_path "$m")
    if [ -n "$path" ]; then
        add "$path"
    elif ! grep -q "/$m.ko" "$moddir/modules.builtin"; then
        case "$m" in
            crc32c*) ;; # optional: only one of these exists
            *) echo "make-initrd: module $m is neither in modules.dep nor built in" >&2; exit 1 ;;
        esac
    fi
done
echo "initrd modules: $(tr '\n' ' ' <"$rd/modules")"
cat >"$rd/init" <<'RDINIT'
#!/bin/busybox sh
# Load the root disk's modules, mount /dev/vda and run init= there.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules); do insmod "/lib/modules/$m" 2>/dev/null; done
init=/sbin/init
for a in $(cat /proc/cmdline); do case "$a" in init=*) init=${a#init=} ;; esac; done
i=0
while [ ! -b /dev/vda ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /root; then
    echo "initrd: cannot mount /dev/vda"; sleep 1; poweroff -f
fi
umount /proc
mount --move /dev /root/dev || umount /dev
exec switch_root /root "$init"
RDINIT
chmod 755 "$rd/init"
(cd "$rd" && find . | "$rd/bin/busybox" cpio -o -H newc  | gzip -1 >"$out") ||
    { echo "make-initrd: cpio failed" >&2; exit 1; }
