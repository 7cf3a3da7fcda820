#!/usr/bin/env bash
# Builds the project with AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) into
# build-asan/ and runs the ctest suite on it. The test binaries and every service the tests start
# (the Stack helper of the integration tests, the `stack` fixture via scripts/run.sh, the Apps
# Script client's private stack) are the sanitized builds.
#
#   scripts/test_sanitized.sh [CTEST_ARG...]     e.g. -R sync_path_test
#
# A report from a test binary fails its test (the process exits 1). A service writes its stderr
# to a log and its exit status is not always looked at (a leak is reported at exit, after
# SIGTERM), so: ASan/LSan reports go to build-asan/sanitizer-reports/asan.PID (log_path), and
# UBSan's, which GCC's libubsan prints to stderr whatever log_path says when it runs beside ASan,
# are found in the services' logs, all kept under build-asan/tmp/ and build-asan/test-stack/logs/.
# The run fails when ctest fails or when any report was written, and prints the reports.
# Leaks are suppressed only in third-party frames listed in tests/sanitizers/lsan.supp.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

BUILD_DIR=${SHEETSYNC_ASAN_BUILD_DIR:-$SHEETSYNC_ROOT/build-asan}
REPORT_DIR=$BUILD_DIR/sanitizer-reports
LOG_DIRS=("$BUILD_DIR/tmp" "$BUILD_DIR/test-stack/logs")  # where the services' logs end up

# Not run here (each runs in the ordinary suite of scripts/test.sh):
#   k8s_runtime_image      runs the binaries inside the runtime image's file tree (env -i, chroot),
#                          which has no libasan/libubsan: it checks the Dockerfile's package lists
#                          for the Release binaries, not our code's behaviour.
#   e2e_prometheus_rules   promtool on the alert rules: no code of ours runs.
#   e2e_dashboard_offline  tsc + promtool on the Grafana dashboard JSON: no code of ours runs.
EXCLUDE='^(k8s_runtime_image|e2e_prometheus_rules|e2e_dashboard_offline)$'

ensure_packages
build_start=$SECONDS
# Debug at -O1: assertions on, readable stacks, and fast enough to run the integration tests.
build_project "$BUILD_DIR" Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DSHEETSYNC_SANITIZE=ON -DSHEETSYNC_BENCH=OFF
log_info "sanitized build took $((SECONDS - build_start))s"

rm -rf "$REPORT_DIR" "${LOG_DIRS[@]}"
mkdir -p "$REPORT_DIR" "$BUILD_DIR/tmp"
# halt_on_error: the first report ends the process with exit code 1 (UBSan's checks are built
# with -fno-sanitize-recover=all, so they halt too). detect_leaks: LeakSanitizer at every exit.
export ASAN_OPTIONS="log_path=$REPORT_DIR/asan:halt_on_error=1:detect_leaks=1:check_initialization_order=1:strict_init_order=1"
export UBSAN_OPTIONS="log_path=$REPORT_DIR/ubsan:halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$SHEETSYNC_ROOT/tests/sanitizers/lsan.supp:print_suppressions=0"
# The Stack helper, tests/fixtures/stack.sh and the Apps Script test take their binaries from here.
export SHEETSYNC_BUILD_DIR=$BUILD_DIR
# The Apps Script test would use a developer's running stack (Release binaries) if it found one:
# point it at no stack, so it starts a private one from the sanitized binaries.
unset SHEETSYNC_GATEWAY_URL
export SHEETSYNC_RUN_ENV=$BUILD_DIR/no-such-run.env
# The Stack helper and the Apps Script test put their stacks' logs under TMPDIR and delete them
# when the test passes; keep them for the scan below.
export TMPDIR=$BUILD_DIR/tmp SHEETSYNC_KEEP_TEST_LOGS=1

log_file=$BUILD_DIR/ctest.log
test_start=$SECONDS
status=0
# A test that fails is run once more: ASan makes every process 2-3x slower, and on a loaded
# 2-core machine a 1 s health check can time out (seen once: e2e_browser saw /readyz 503). A
# report from the first attempt still fails the run: report files and logs are kept.
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --repeat until-pass:2 -E "$EXCLUDE" "$@" 2>&1 |
  tee "$log_file" || status=$?
log_info "sanitized test run took $((SECONDS - test_start))s"

reports=()
for f in "$REPORT_DIR"/*; do [[ -f $f ]] && reports+=("$f"); done
# UBSan's "file:line:col: runtime error: ..." and any ASan/LSan report that reached stderr.
pattern='[^ ]+:[0-9]+:[0-9]+: runtime error: |ERROR: (Address|Leak|UndefinedBehavior)Sanitizer'
mapfile -t -O "${#reports[@]}" reports < <(grep -rlIE "$pattern" "${LOG_DIRS[@]}" 2>/dev/null)
if ((${#reports[@]} > 0)); then
  for f in "${reports[@]}"; do
    printf '\n===== sanitizer report in %s =====\n' "$f"
    if [[ $f == "$REPORT_DIR"/* ]]; then cat "$f"; else grep -E -A 30 "$pattern" "$f"; fi
  done
  printf '\nFAILED: sanitizer reports in %d file(s)\n' "${#reports[@]}"
  ((status != 0)) || status=1
elif ((status != 0)); then
  printf 'FAILED (ctest exit status %d); full output in %s\n' "$status" "$log_file"
else
  printf 'sanitized suite OK: no sanitizer reports\n'
fi
exit "$status"
