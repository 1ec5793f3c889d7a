#!/usr/bin/env bash
# A private containerd daemon living entirely in DIR (never the host's
# /run/containerd daemon).
#
#   scripts/containerd-private.sh start DIR   # socket: DIR/containerd.sock
#   scripts/containerd-private.sh stop DIR    # kill everything of it, remove DIR
#   scripts/containerd-private.sh status DIR  # exit 0 when running
#
# Files in DIR: config.toml, root/, state/, opt/, runc/ (suggested --runc-root),
# containerd.sock(.ttrpc), containerd.log, containerd.pid.
# Use it with:  ctr --address DIR/containerd.sock ...
#
# Note (containerd 1.6): shims put their ttrpc socket in /run/containerd/s/<hash>
# whatever the daemon's state dir, and runc keeps task state under
# /run/containerd/runc/<namespace> unless the container asks for another runc
# root (`ctr run --runc-root DIR/runc`). Neither touches a host daemon.
set -euo pipefail

die() { echo "containerd-private: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
case "$cmd" in start | stop | status) ;; *) usage ;; esac

if [ "$cmd" = start ]; then mkdir -p "$2" || die "cannot create $2"; fi
if [ ! -d "$2" ]; then
    case "$cmd" in
        stop) echo "containerd-private: $2 does not exist, nothing to stop"; exit 0 ;;
        status) echo "not running ($2 does not exist)"; exit 1 ;;
    esac
fi
dir=$(cd "$2" && pwd -P)
case "$dir" in
    / | /run | /run/containerd | /run/containerd/* | /var/lib/containerd | /var/lib/containerd/* | /opt/kukeon | /opt/kukeon/*)
        die "refusing to use $dir" ;;
esac

sock=$dir/containerd.sock
pidfile=$dir/containerd.pid
export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

daemon_pid() {
    local pid
    [ -f "$pidfile" ] || return 1
    pid=$(cat "$pidfile" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -d "/proc/$pid" ] || return 1
    # Only trust it when it is a containerd running our config.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/config.toml" || return 1
    echo "$pid"
}

# pids of containerd-shim processes whose command line has our socket
our_shims() {
    local p pid args
    for p in /proc/[0-9]*; do
        pid=${p#/proc/}
        [ "$pid" = "$$" ] && continue
        args=$(tr '\0' '\n' 2>/dev/null <"$p/cmdline") || continue
        case "${args%%$'\n'*}" in *containerd-shim*) ;; *) continue ;; esac
        if grep -qxF -- "$sock" <<<"$args"; then
            echo "$pid"
        fi
    done
}

children_of() { # pid -> its direct children
    local want=$1 p st rest state ppid
    for p in /proc/[0-9]*; do
        st=$(cat "$p/stat" 2>/dev/null) || continue
        rest=${st##*) } # comm may hold spaces and parens: fields after the last ')'
        read -r state ppid _ <<<"$rest"
        [ "$ppid" = "$want" ] && echo "${p#/proc/}"
    done
    return 0
}

wait_gone() { # pid timeout_tenths
    local i=0
    while [ -d "/proc/$1" ] && [ "$i" -lt "$2" ]; do
        # a zombie child of ours is gone for our purposes
        if grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; then return 0; fi
        sleep 0.1; i=$((i + 1))
    done
    [ ! -d "/proc/$1" ]
}

start() {
    command -v containerd >/dev/null 2>&1 || die "containerd not found (run scripts/setup.sh as root)"
    command -v runc >/dev/null 2>&1 || die "runc not found (run scripts/setup.sh as root)"
    [ "$(id -u)" -eq 0 ] || die "must run as root"
    # sun_path is 108 bytes including the NUL.
    [ "${#sock}" -le 100 ] || die "socket path too long (${#sock} > 100 bytes): $sock"

    if pid=$(daemon_pid); then
        echo "containerd-private: already running (pid $pid, socket $sock)"
        return 0
    fi

    mkdir -p "$dir/root" "$dir/state" "$dir/opt" "$dir/runc"
    cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images", "io.containerd.cri.v1.runtime", "io.containerd.podsandbox.controller.v1.podsandbox", "io.containerd.nri.v1.nri"]

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[debug]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
EOF
    rm -f "$sock" "$sock.ttrpc"
    # Own session (survives the caller's terminal); the subshell is not a group
    # leader, so setsid does not fork and $! is containerd's pid.
    (cd / && exec setsid containerd --config "$dir/config.toml" </dev/null >>"$dir/containerd.log" 2>&1) &
    local pid=$!
    echo "$pid" >"$pidfile"

    local i=0
    while [ ! -S "$sock" ]; do
        if [ ! -d "/proc/$pid" ] || grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
            tail -n 20 "$dir/containerd.log" >&2 || true
            die "containerd exited during startup (log: $dir/containerd.log)"
        fi
        if [ "$i" -ge 200 ]; then
            kill -9 "$pid" 2>/dev/null || true
            die "socket $sock did not appear within 10s (log: $dir/containerd.log)"
        fi
        sleep 0.05; i=$((i + 1))
    done
    echo "containerd-private: started pid $pid, socket $sock"
}

# Leftovers of a task outside DIR (containerd 1.6): the shim's socket
# /run/containerd/s/sha256(<daemon socket>/<ns>/<id>) (exact name, so ours) and
# runc state /run/containerd/runc/<ns>/<id> when its state.json points into DIR.
known=()
known_ns=()
clean_outside() {
    local k ns id h st
    for k in "${known[@]}"; do
        ns=${k%%/*}; id=${k#*/}
        h=$(printf '%s' "$sock/$ns/$id" | sha256sum | cut -d' ' -f1)
        [ -S "/run/containerd/s/$h" ] && rm -f "/run/containerd/s/$h"
        st=/run/containerd/runc/$ns/$id
        if [ -f "$st/state.json" ] && grep -qF -- "$dir/" "$st/state.json"; then
            rm -rf "$st"
        fi
    done
    # runc leaves its (empty) per-namespace root behind; only empty ones go.
    for ns in "${known_ns[@]}"; do
        rmdir "/run/containerd/runc/$ns" 2>/dev/null || true
    done
}

stop() {
    local pid ns id ids
    if pid=$(daemon_pid) && [ -S "$sock" ]; then
        local ctr=(ctr --address "$sock" --timeout 10s)
        for ns in $("${ctr[@]}" namespaces ls -q 2>/dev/null); do
            known_ns+=("$ns")
            ids=$("${ctr[@]}" -n "$ns" tasks ls -q 2>/dev/null || true)
            for id in $ids; do
                "${ctr[@]}" -n "$ns" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
            done
            for id in $ids; do
                local j=0
                while [ "$j" -lt 30 ]; do
                    "${ctr[@]}" -n "$ns" tasks ls 2>/dev/null | awk -v id="$id" '$1 == id { print $3 }' | grep -q RUNNING || break
                    sleep 0.1; j=$((j + 1))
                done
                "${ctr[@]}" -n "$ns" tasks rm -f "$id" >/dev/null 2>&1 || true
            done
            for id in $("${ctr[@]}" -n "$ns" containers ls -q 2>/dev/null || true); do
                known+=("$ns/$id")
                "${ctr[@]}" -n "$ns" containers rm "$id" >/dev/null 2>&1 || true
            done
        done
    fi

    if pid=$(daemon_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid" 50 || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 30 || true; }
    fi

    # Every task the daemon ever had a bundle for (also when it died first).
    local b
    for b in "$dir"/state/io.containerd.runtime.v2.task/*/*; do
        [ -d "$b" ] || continue
        id=${b##*/}; ns=${b%/*}; ns=${ns##*/}
        known+=("$ns/$id"); known_ns+=("$ns")
    done

    # Shims the daemon did not clean (e.g. it died first): kill their children
    # (container init processes: killing a pid-namespace init kills the whole
    # container) and then the shim itself.
    local s shims c
    shims=$(our_shims)
    for s in $shims; do
        for c in $(children_of "$s"); do
            kill -KILL "$c" 2>/dev/null || true
        done
        kill -KILL "$s" 2>/dev/null || true
    done
    for s in $(our_shims); do
        wait_gone "$s" 30 || echo "containerd-private: shim $s did not exit" >&2
    done
    clean_outside

    # Unmount everything under DIR, deepest first (field 5 of mountinfo is the
    # mount point, octal-escaped).
    local m tries=0
    while :; do
        mapfile -t mounts < <(awk -v d="$dir" '{ p = $5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print p }' /proc/self/mountinfo | sort -r)
        [ "${#mounts[@]}" -eq 0 ] && break
        [ "$tries" -ge 5 ] && { echo "containerd-private: still mounted: ${mounts[*]}" >&2; break; }
        for m in "${mounts[@]}"; do
            umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
        done
        tries=$((tries + 1))
    done

    # Guard against a mistyped DIR: only remove a directory that looks like ours.
    if [ -f "$dir/config.toml" ] || [ -z "$(ls -A "$dir")" ]; then
        rm -rf "$dir"
    else
        die "not removing $dir: no config.toml, does not look like a containerd-private dir"
    fi
    echo "containerd-private: stopped, removed $dir"
}

status() {
    if pid=$(daemon_pid) && [ -S "$sock" ]; then
        echo "running: pid $pid, socket $sock"
    else
        echo "not running ($dir)"
        return 1
    fi
}

"$cmd"
