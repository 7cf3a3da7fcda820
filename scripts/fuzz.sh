#!/usr/bin/env bash
# Fuzzes every parser of untrusted input with libFuzzer + ASan + UBSan
# (clang, build-fuzz/): the /v1/edits JSON translation and change validation,
# value coercion (accepted values must round-trip), timestamps, cursors and
# query strings. New interesting inputs are kept in build-fuzz/corpus/; a
# crash leaves its input in build-fuzz/ and fails the script.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   default 60; scripts/test.sh runs it with 10
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

seconds=${1:-60}
targets=(edits_json coerce timestamp cursor)
build=${SHEETSYNC_FUZZ_BUILD_DIR:-$SHEETSYNC_ROOT/build-fuzz}

ensure_packages
export CCACHE_DIR=${CCACHE_DIR:-${HOME:-/root}/.cache/ccache}
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$SHEETSYNC_ROOT} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-true}
CC=clang CXX=clang++ cmake -S "$SHEETSYNC_ROOT" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHEETSYNC_FUZZ=ON >/dev/null
ninja -C "$build" "${targets[@]/%/_fuzzer}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  log_info "fuzzing $target for ${seconds}s"
  (cd "$build" && "./tests/fuzz/${target}_fuzzer" -max_total_time="$seconds" -max_len=65536 \
    -print_final_stats=1 "$corpus" "$SHEETSYNC_ROOT/tests/fuzz/corpus/$target" 2>&1 |
    grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|Done' || true)
  # libFuzzer writes crash-*/leak-*/timeout-* files next to where it runs.
  if compgen -G "$build/crash-*" >/dev/null || compgen -G "$build/leak-*" >/dev/null; then
    die "$target: a crashing input was found (see $build/crash-* / leak-*)"
  fi
done
log_info "fuzzing finished without findings"
