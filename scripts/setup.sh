#!/usr/bin/env bash
# Install everything kuke-tui's build and integration tests need on a fresh
# Debian/Ubuntu machine (which is assumed to have only the Rust toolchain and apt).
#
#   containerd (+ ctr, containerd-shim-runc-v2), runc   private test daemons
#   busybox-static                                      the test image's userland
#   gcc + libc6-dev                                     the static /bin/memhog helper
#   protobuf-compiler                                   containerd-client's build script
#   tar, coreutils                                      scripts/build-test-image.sh
#   tmux                                                the console's end-to-end test, scripts/screenshots.sh
#   golang-go                                           the kukeonv1 peer of tests/daemon_mode.rs (Go's net/rpc)
#   containernetworking-plugins, iproute2, iptables,    tests/space_network.rs (real CNI plugins in
#   util-linux (unshare, nsenter)                       /usr/lib/cni, bridges and chains in a test netns)
#
# Idempotent and fast when everything is present (no apt at all then).
# Never starts, stops or configures any daemon: the host containerd
# (/run/containerd) is left alone; tests start private daemons.
set -euo pipefail

# runc and friends live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing=()

have() { command -v "$1" >/dev/null 2>&1; }
pkg_ok() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# containerd: accept any provider of the three binaries (e.g. Docker's containerd.io).
if ! have containerd || ! have ctr || ! have containerd-shim-runc-v2; then
    missing+=(containerd)
fi
have runc || missing+=(runc)
# Need a *static* busybox at /bin/busybox (the dynamic `busybox` package will not
# run inside the image, which has no libc).
if ! pkg_ok busybox-static || [ ! -x /bin/busybox ]; then
    missing+=(busybox-static)
fi
have protoc || missing+=(protobuf-compiler)
have gcc || missing+=(gcc)
# libc.a is what `gcc -static` needs.
pkg_ok libc6-dev || missing+=(libc6-dev)
have tar || missing+=(tar)
# script(1) gives the confirmation test a pseudo-terminal.
have script || missing+=(bsdutils)
# tmux runs the console on a virtual terminal for tests/console_e2e.rs and screenshots.
have tmux || missing+=(tmux)
# Go builds the kukeond peer (tests/peer/kukeond, standard library only).
have go || missing+=(golang-go)
# strace shows tests/secrets.rs how the record's temp file is created (mode 0600 from the start).
have strace || missing+=(strace)
# Space networks: the real CNI plugins, ip and iptables (tests/space_network.rs).
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] \
    || missing+=(containernetworking-plugins)
have ip || missing+=(iproute2)
have iptables || missing+=(iptables)
{ have unshare && have nsenter; } || missing+=(util-linux)
for c in sha256sum stat printf mktemp; do
    if ! have "$c"; then missing+=(coreutils); break; fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "setup: all dependencies present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root to install: ${missing[*]} (run: sudo scripts/setup.sh)" >&2
    exit 1
fi

if ! have apt-get; then
    echo "setup: apt-get not found; install manually: ${missing[*]}" >&2
    exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends keeps it fast; containerd's recommends are not needed.
# Policy: do not let package postinst scripts start daemons where we can prevent it
# (containers without systemd never start them anyway).
policy_added=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
fi
trap 'if [ "$policy_added" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"

# Verify.
fail=0
for c in containerd ctr containerd-shim-runc-v2 runc protoc gcc tar sha256sum ip iptables unshare nsenter; do
    have "$c" || { echo "setup: still missing: $c" >&2; fail=1; }
done
[ -x /bin/busybox ] || { echo "setup: still missing: /bin/busybox" >&2; fail=1; }
[ -x /usr/lib/cni/bridge ] || { echo "setup: still missing: /usr/lib/cni/bridge" >&2; fail=1; }
exit "$fail"
