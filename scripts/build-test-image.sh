#!/usr/bin/env bash
# Build kuke-tui's test image as an OCI image layout tar, offline.
#
#   scripts/build-test-image.sh OUT_TAR [REF]
#
# REF defaults to localhost/kuke-tui/busybox:test. The image has one uncompressed
# layer holding:
#   /bin/busybox            static busybox from the busybox-static package
#   /bin/<applet>           symlinks to busybox (sh, sleep, cat, dd, ...)
#   /bin/memhog             assets/image/memhog.c built with gcc -static -O2
#   /tmp /proc /sys /dev /etc /root   empty directories
# Default command: /bin/sleep 3600.
#
# Import with:   ctr -n NS images import OUT_TAR      (the image is named REF)
#
# Only bash, coreutils (sha256sum, stat, printf, mktemp), tar and gcc are used
# (no python: a fresh CI machine may not have it). Deterministic where cheap:
# sorted tar entries, mtime 0, uid/gid 0, fixed config timestamp
# (SOURCE_DATE_EPOCH if set).
set -euo pipefail

usage() { echo "usage: $0 OUT_TAR [REF]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
out=$1
ref=${2:-localhost/kuke-tui/busybox:test}
[ -n "$out" ] || usage
# Keep REF to reference characters, so it needs no JSON escaping.
if ! [[ $ref =~ ^[A-Za-z0-9][A-Za-z0-9._/:@-]*$ ]]; then
    echo "build-test-image: invalid image reference: $ref" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/../assets/image/memhog.c
busybox=/bin/busybox

for c in gcc tar sha256sum stat; do
    command -v "$c" >/dev/null 2>&1 || { echo "build-test-image: $c not found (run scripts/setup.sh as root)" >&2; exit 1; }
done
[ -x "$busybox" ] || { echo "build-test-image: $busybox not found (run scripts/setup.sh as root: busybox-static)" >&2; exit 1; }
[ -f "$src" ] || { echo "build-test-image: $src not found" >&2; exit 1; }

# OCI platform from the Debian architecture name.
deb_arch=$(dpkg --print-architecture 2>/dev/null || true)
variant=
case "$deb_arch" in
    amd64) arch=amd64 ;;
    arm64) arch=arm64; variant=v8 ;;
    armhf) arch=arm; variant=v7 ;;
    armel) arch=arm; variant=v5 ;;
    i386) arch=386 ;;
    ppc64el) arch=ppc64le ;;
    s390x) arch=s390x ;;
    riscv64) arch=riscv64 ;;
    mips64el) arch=mips64le ;;
    loong64) arch=loong64 ;;
    "")
        case "$(uname -m)" in
            x86_64) arch=amd64 ;;
            aarch64) arch=arm64; variant=v8 ;;
            *) echo "build-test-image: cannot determine architecture" >&2; exit 1 ;;
        esac ;;
    *) arch=$deb_arch ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/kuke-tui-image.XXXXXX")
tmp_out=
trap 'rm -rf "$work"; if [ -n "$tmp_out" ]; then rm -f "$tmp_out"; fi' EXIT
umask 022

# --- rootfs -----------------------------------------------------------------
root=$work/rootfs
mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc" "$root/root"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
gcc -static -O2 -s -o "$root/bin/memhog" "$src"
chmod 755 "$root/bin/memhog"
applets=(sh ash cat dd head tail tr yes true false sleep echo ls ps kill env id
    printf test mkdir rm cp mv touch wc grep sed awk seq sync date uname hostname
    mount umount df du free top nproc timeout sha256sum md5sum xargs find stat)
for a in "${applets[@]}"; do
    ln -s busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

tar_det=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu)

# --- blobs ------------------------------------------------------------------
lay=$work/layout
mkdir -p "$lay/blobs/sha256"

# put_blob FILE -> prints "<hex> <size>", moves FILE into blobs/sha256/<hex>
put_blob() {
    local f=$1 hex size
    hex=$(sha256sum "$f" | cut -d' ' -f1)
    size=$(stat -c %s "$f")
    mv "$f" "$lay/blobs/sha256/$hex"
    printf '%s %s\n' "$hex" "$size"
}

tar "${tar_det[@]}" -C "$root" -cf "$work/layer.tar" .
read -r layer_hex layer_size < <(put_blob "$work/layer.tar")

if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
    created=2025-01-01T00:00:00Z
fi
variant_json=
[ -n "$variant" ] && variant_json=",\"variant\":\"$variant\""

printf '{"architecture":"%s"%s,"os":"linux","created":"%s","config":{"Env":["PATH=/bin:/usr/bin:/sbin:/usr/sbin"],"Cmd":["/bin/sleep","3600"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"kuke-tui scripts/build-test-image.sh"}]}' \
    "$arch" "$variant_json" "$created" "$layer_hex" "$created" >"$work/config.json"
read -r config_hex config_size < <(put_blob "$work/config.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config_hex" "$config_size" "$layer_hex" "$layer_size" >"$work/manifest.json"
read -r manifest_hex manifest_size < <(put_blob "$work/manifest.json")

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"%s},"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
    "$manifest_hex" "$manifest_size" "$arch" "$variant_json" "$ref" >"$lay/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"

# --- output (atomic: concurrent builders never see a partial file) -----------
out_dir=$(dirname "$out")
mkdir -p "$out_dir"
tmp_out=$(mktemp "$out_dir/.$(basename "$out").XXXXXX")
tar "${tar_det[@]}" -C "$lay" -cf "$tmp_out" oci-layout index.json blobs
chmod 644 "$tmp_out"
mv -f "$tmp_out" "$out"
tmp_out=
echo "built $out ($ref, $arch, manifest sha256:$manifest_hex)"
