#!/usr/bin/env bash
# Real screenshots of the console: a real sandbox (scripts/sandbox.sh: realms
# web, batch and data with running tasks and a credential), the release
# binary in a private tmux server at 120x40, each screen captured with its
# colours and rendered by examples/ansi2svg.rs into screenshots/*.svg:
#
#   realms.svg       home, after a few samples of sparkline history
#   detail.svg       realm web, Tasks tab
#   credentials.svg  realm web, Credentials tab (password masked)
#   create.svg       the create form with a name typed
#   cascade.svg      the cascade confirmation on web, name partly typed (then cancelled)
#
# Fails when the sandbox's password shows in any screenshot. The sandbox is
# torn down and the tmux server killed at the end, also on failure.
#
#   ./scripts/screenshots.sh
#   KUKE_TUI_SCREENSHOTS_REPLACE=1 ./scripts/screenshots.sh   # replace a running sandbox
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "screenshots.sh: must run as root (the sandbox starts containerd and creates cgroups)" >&2; exit 1; }
    exec sudo --preserve-env=PATH,CARGO_HOME,RUSTUP_HOME,KUKE_TUI_SANDBOX,KUKE_TUI_SCREENSHOTS_REPLACE env "PATH=$PATH" "$0" "$@"
fi

cols=120
rows=40
out=screenshots
secret=sandbox-password # what scripts/sandbox.sh stores for web's credential
sandbox=${KUKE_TUI_SANDBOX:-/tmp/kuke-tui-sandbox}
bin=$PWD/target/release/kuke-tui

# sandbox.sh replaces a running sandbox: do not pull one from under someone.
if scripts/containerd-private.sh status "$sandbox/containerd" >/dev/null 2>&1 && [ -z "${KUKE_TUI_SCREENSHOTS_REPLACE:-}" ]; then
    echo "screenshots: a sandbox is running in $sandbox (someone's console?); stop it with ./scripts/sandbox.sh --version, or set KUKE_TUI_SCREENSHOTS_REPLACE=1 to replace it" >&2
    exit 1
fi

scripts/setup.sh >/dev/null
command -v tmux >/dev/null || { echo "screenshots: tmux is missing (scripts/setup.sh installs it)" >&2; exit 1; }
work=$(mktemp -d /tmp/kuke-tui-shots.XXXXXX)
tm() { tmux -f /dev/null -S "$work/tmux.sock" "$@"; }

cleanup() {
    tm kill-server >/dev/null 2>&1 || true
    # Without KUKE_TUI_SANDBOX_KEEP, sandbox.sh replaces the kept sandbox and
    # tears everything down when its command (here: --version) returns.
    env -u KUKE_TUI_SANDBOX_KEEP scripts/sandbox.sh --version >/dev/null 2>&1 ||
        echo "screenshots: sandbox teardown failed; run ./scripts/sandbox.sh --version" >&2
    rm -rf "$work"
}
trap cleanup EXIT

echo "screenshots: starting the sandbox"
if ! KUKE_TUI_SANDBOX_KEEP=1 scripts/sandbox.sh get realms 2>"$work/sandbox.err"; then
    cat "$work/sandbox.err" >&2
    echo "screenshots: the sandbox did not start" >&2
    exit 1
fi
# "sandbox kept; use: export KUKEON_RUN_PATH=... KUKEON_CONTAINERD_SOCKET=... KUKEON_CGROUP_ROOT=..."
settings=$(sed -n 's/^sandbox kept; use: export //p' "$work/sandbox.err")
[ -n "$settings" ] || { cat "$work/sandbox.err" >&2; echo "screenshots: the sandbox did not say how to reach it" >&2; exit 1; }
envs=()
for kv in $settings; do
    case $kv in KUKEON_RUN_PATH=* | KUKEON_CONTAINERD_SOCKET=* | KUKEON_CGROUP_ROOT=*) envs+=("$kv") ;; esac
done
cargo build --quiet --example ansi2svg

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
cmd="exec env TERM=xterm-256color"
for kv in "${envs[@]}"; do cmd+=" $(q "$kv")"; done
cmd+=" $(q "$bin") --interval 1s"
tm new-session -d -s shots -x "$cols" -y "$rows" "$cmd"

screen() { tm capture-pane -p -t shots; }
wait_for() { # TEXT [SECONDS] (case-insensitive)
    local i
    for ((i = 0; i < ${2:-15} * 10; i++)); do
        if screen | grep -qiF -- "$1"; then return 0; fi
        sleep 0.1
    done
    echo "screenshots: no '$1' on screen after ${2:-15}s:" >&2
    screen >&2
    exit 1
}
wait_gone() { # TEXT
    local i
    for ((i = 0; i < 50; i++)); do
        if ! screen | grep -qiF -- "$1"; then return 0; fi
        sleep 0.1
    done
    echo "screenshots: '$1' still on screen after 5s" >&2
    exit 1
}
# Keys after Escape wait for it to take effect: a terminal reads ESC with a
# key right behind it as Alt+key.
send() { tm send-keys -t shots "$@"; }
type_text() { tm send-keys -t shots -l "$1"; }
shot() { # NAME TITLE
    tm capture-pane -p -e -N -t shots >"$work/$1.ansi"
    cargo run --quiet --example ansi2svg -- --cols "$cols" --rows "$rows" --title "$2" \
        <"$work/$1.ansi" >"$out/$1.svg"
    echo "screenshots: $out/$1.svg"
}

mkdir -p "$out"
wait_for "● connected"
wait_for "kukeon-web"
sleep 12 # sparkline history
shot realms "kuke-tui — realms"

# Rows are sorted by name: batch, data, web.
send G
send Enter
wait_for "1 Tasks (2)"
wait_for "frontend"
sleep 3
shot detail "kuke-tui — realm web, tasks"

send 3
wait_for "********"
shot credentials "kuke-tui — realm web, registry credentials"

send Escape
wait_for "c create"
send c
wait_for "Create realm"
type_text demo
wait_for "[kukeon-demo"
shot create "kuke-tui — create realm"
send Escape
wait_gone "Create realm"

send G
send d
wait_for "type the realm name" 20
type_text we
wait_for "does not match"
shot cascade "kuke-tui — delete realm web (cascade)"
send Escape
wait_gone "type the realm name"
send q

leaks=$(grep -lF -- "$secret" "$out"/*.svg "$work"/*.ansi || true)
if [ -n "$leaks" ]; then
    echo "screenshots: the password shows in: $leaks" >&2
    exit 1
fi
echo "screenshots: no secret in $(ls "$out"/*.svg | wc -l) screenshots"
