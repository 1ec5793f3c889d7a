#!/usr/bin/env bash
# Host prerequisites of the cgroup v2 VM lane (scripts/vm/*):
#
#   debootstrap              builds the guest's Debian root filesystem
#   debian-archive-keyring   checks the archive's signatures while doing so
#   e2fsprogs                mkfs.ext4 -d: the disk image without loop mounts
#   qemu-system-x86          boots the guest (KVM when real, else TCG)
#
# Installs from the host's own apt sources (never changes them). Idempotent:
# no apt at all when everything is present.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in debootstrap debian-archive-keyring e2fsprogs qemu-system-x86; do
    pkg_ok "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "vm/setup: all dependencies present"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "vm/setup: must run as root to install: ${missing[*]} (run: sudo scripts/vm/setup.sh)" >&2
    exit 1
fi
echo "vm/setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
for c in debootstrap mkfs.ext4 qemu-system-x86_64; do
    command -v "$c" >/dev/null || { echo "vm/setup: still missing: $c" >&2; exit 1; }
done
