#!/usr/bin/env bash
# Checks the Apps Script client (clients/apps-script): installs the dev-only npm packages when
# node_modules is missing or older than package-lock.json, type-checks the .gs files with
# tsc --checkJs (@types/google-apps-script), then runs the Node tests: unit tests against the
# in-memory fakes, and end-to-end tests against a real stack.
#
# The stack: the one SHEETSYNC_GATEWAY_URL & co., SHEETSYNC_RUN_ENV or .sheetsync/run.env name,
# when it answers /readyz; otherwise, when the binaries are built ($SHEETSYNC_BUILD_DIR, default
# build/), a private one started with tests/fixtures/stack.sh and stopped afterwards
# (SHEETSYNC_APPS_SCRIPT_OWN_STACK=0 turns that off); otherwise the end-to-end tests skip and say
# why. Extra arguments go to node --test (e.g. --test-name-pattern=burst).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node test/typecheck.js

# Succeeds when the configured stack answers /readyz.
configured_stack_ready() {
  local url=${SHEETSYNC_GATEWAY_URL:-} file=${SHEETSYNC_RUN_ENV:-$repo/.sheetsync/run.env}
  if [[ -z $url && -f $file ]]; then
    url=$(set +u; source "$file" >/dev/null 2>&1; printf '%s' "${SHEETSYNC_GATEWAY_URL:-}")
  fi
  [[ -n $url ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$url/readyz" || true) == 200 ]]
}

binaries_built() {
  local build=${SHEETSYNC_BUILD_DIR:-$repo/build} b
  for b in gateway/sheetsync-gateway services/ingest/sheetsync-ingest \
    services/resolver/sheetsync-resolver services/writer/sheetsync-writer; do
    [[ -x $build/$b ]] || return 1
  done
}

stack_dir=
stop_private_stack() {
  [[ -n $stack_dir ]] || return 0
  bash "$repo/tests/fixtures/stack.sh" stop "$stack_dir" >>"$stack_dir.log" 2>&1 || true
  # SHEETSYNC_KEEP_TEST_LOGS=1 (as in scripts/test_sanitized.sh): keep the services' logs.
  [[ ${SHEETSYNC_KEEP_TEST_LOGS:-0} == 1 ]] || rm -rf "$stack_dir" "$stack_dir.log"
}
trap stop_private_stack EXIT

if ! configured_stack_ready && [[ ${SHEETSYNC_APPS_SCRIPT_OWN_STACK:-1} == 1 ]] && binaries_built; then
  stack_dir=$(mktemp -d "${TMPDIR:-/tmp}/sheetsync-apps-script-stack.XXXXXX")
  echo "# starting a private stack for the end-to-end tests ($stack_dir)"
  if bash "$repo/tests/fixtures/stack.sh" start "$stack_dir" >"$stack_dir.log" 2>&1; then
    unset SHEETSYNC_GATEWAY_URL
    export SHEETSYNC_RUN_ENV=$stack_dir/run.env
  else
    echo "# could not start a private stack; the end-to-end tests will skip. Its output:"
    sed 's/^/#   /' "$stack_dir.log" | tail -n 30
  fi
fi

status=0
node --test "$@" test/unit/ test/e2e/ || status=$?
exit "$status"
