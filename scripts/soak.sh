#!/usr/bin/env bash
# The long version of the fault-injection tests (tests/integration/faults_test.cc): the same load
# and faults as in the normal suite, repeated ROUNDS times (SHEETSYNC_SOAK_ROUNDS), then MySQL must
# equal the oracle of every acknowledged change. Each test prints its counts ("faults report:
# requests sent, acknowledged, retried, faults injected"). faults_test starts its own MariaDB, so
# no CTest fixture is needed. Builds first unless SHEETSYNC_SKIP_BUILD=1.
#
#   scripts/soak.sh [ROUNDS]   default 20 (a round takes ≈ 15-20 s per test; 20 rounds ≈ 12 min)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/lib.sh"

rounds=${1:-20}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [ROUNDS] (a positive integer)"
BUILD_DIR=${SHEETSYNC_BUILD_DIR:-$SHEETSYNC_ROOT/build}

if [[ ${SHEETSYNC_SKIP_BUILD:-0} != 1 ]]; then
  ensure_packages
  build_project "$BUILD_DIR" Release
fi
binary=$BUILD_DIR/tests/integration/faults_test
[[ -x $binary ]] || die "$binary is missing: build first"

log_info "soak: $rounds rounds of every fault, under load"
log_file=$BUILD_DIR/soak.log
set +e
SHEETSYNC_SOAK_ROUNDS=$rounds SHEETSYNC_BUILD_DIR=$BUILD_DIR "$binary" 2>&1 | tee "$log_file" |
  grep -E --line-buffered '^\[ *(RUN|OK|FAILED|PASSED) *\]|faults report|Failure'
statuses=("${PIPESTATUS[@]}")
set -e
status=${statuses[0]}
if ((status != 0)); then
  log_info "soak FAILED (exit status $status); full output in $log_file"
else
  log_info "soak OK"
fi
exit "$status"
