#!/usr/bin/env bash
# Runs kuke-tui's fuzz targets (fuzz/fuzz_targets) with cargo-fuzz.
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]   # default: 600 s each, every target
#
# Each target starts from its committed seeds (fuzz/seeds/<target>) plus the
# working corpus (fuzz/corpus/<target>, not committed). A crash stops that
# target and leaves the input in fuzz/artifacts/<target>/; replay it with
#   (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> artifacts/<target>/<file>)
# Needs: cargo-fuzz (`cargo install cargo-fuzz`) and g++ (libFuzzer is C++).
# Stable Rust is enough: RUSTC_BOOTSTRAP=1 lets cargo-fuzz use its
# nightly-only flags (-Zsanitizer=address).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here/fuzz"
export RUSTC_BOOTSTRAP=1

seconds=${1:-600}
shift || true
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a number, got: $seconds" >&2; exit 2; }
command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz not found; install it with: cargo install cargo-fuzz" >&2; exit 1; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

cargo fuzz build
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "fuzz: $t for ${seconds}s"
    # -max_len: records are capped at 1 MiB by the store; 64 KiB explores
    # plenty of structure without slowing every run.
    rc=0
    cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
        >"corpus/$t.log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|panicked' "corpus/$t.log" || true
    if [ $rc -ne 0 ]; then
        echo "fuzz: $t failed (exit $rc); see fuzz/corpus/$t.log and fuzz/artifacts/$t/" >&2
        status=1
    fi
done
exit $status
