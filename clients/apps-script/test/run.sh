#!/usr/bin/env bash
# Checks the Apps Script client (clients/apps-script): installs the dev-only npm packages when
# node_modules is missing or older than package-lock.json, type-checks the .gs files with
# tsc --checkJs (@types/google-apps-script), then runs the Node tests: unit tests against the
# in-memory fakes, and end-to-end tests against the running stack (.sheetsync/run.env or
# SHEETSYNC_GATEWAY_URL & co.), which skip, saying why, when no stack is reachable.
# Extra arguments go to node --test (e.g. --test-name-pattern=burst).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
node test/typecheck.js
exec node --test "$@" test/unit/ test/e2e/
