#!/usr/bin/env bash
# Builds the project (Release, build/ — the same tree scripts/run.sh uses) and runs every CTest test.
# Integration tests get a throwaway MariaDB from the `mariadb` CTest fixture
# (tests/fixtures/mariadb.sh). Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
# Then a bounded fuzzing run (scripts/fuzz.sh; SHEETSYNC_FUZZ_SECONDS=0 skips it) and the suite
# again under ASan + UBSan + LeakSanitizer (scripts/test_sanitized.sh, build-asan/;
# SHEETSYNC_SANITIZE_SUITE=0 skips it; it gets the same ctest arguments).
# Exits non-zero when the build or any test fails.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD_DIR=${SHEETSYNC_BUILD_DIR:-$SHEETSYNC_ROOT/build}

ensure_packages
build_project "$BUILD_DIR" Release

log_file=$BUILD_DIR/ctest.log
status=0
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 "$@" 2>&1 | tee "$log_file" || status=$?

# A short bounded fuzzing run of every parser of untrusted input (clang,
# libFuzzer, ASan + UBSan); scripts/fuzz.sh alone runs longer.
fuzz_status=0
if ((${SHEETSYNC_FUZZ_SECONDS:-10} > 0)); then
  "$SHEETSYNC_ROOT/scripts/fuzz.sh" "${SHEETSYNC_FUZZ_SECONDS:-10}" || fuzz_status=$?
fi

# The whole suite again with ASan + UBSan + LSan (build-asan/): the test binaries and the
# services they start; any sanitizer report fails it.
sanitize_status=0
if [[ ${SHEETSYNC_SANITIZE_SUITE:-1} != 0 ]]; then
  "$SHEETSYNC_ROOT/scripts/test_sanitized.sh" "$@" || sanitize_status=$?
fi

printf '\n===== ctest summary =====\n'
# The summary starts at the "N% tests passed" line and runs to the end.
sed -n '/tests passed, /,$p' "$log_file"
if ((fuzz_status != 0)); then
  printf 'fuzzing FAILED (scripts/fuzz.sh exit status %d)\n' "$fuzz_status"
  ((status != 0)) || status=$fuzz_status
fi
if ((sanitize_status != 0)); then
  printf 'sanitized suite FAILED (scripts/test_sanitized.sh exit status %d; output in %s)\n' \
    "$sanitize_status" "${SHEETSYNC_ASAN_BUILD_DIR:-$SHEETSYNC_ROOT/build-asan}/ctest.log"
  ((status != 0)) || status=$sanitize_status
fi
if ((status != 0)); then
  printf 'FAILED (ctest exit status %d); full output in %s\n' "$status" "$log_file"
else
  printf 'OK\n'
fi
exit "$status"
