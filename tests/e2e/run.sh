#!/usr/bin/env bash
# Runs one e2e check: tests/e2e/run.sh SCRIPT.mjs [args]  (ctest -L e2e registers each).
# Installs the npm dev tools (tests/e2e/package-lock.json: @grafana/schema, typescript,
# playwright-core, yaml) with `npm ci` on first use, serialized between parallel tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "tests/e2e: node not found (install nodejs >= 20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "tests/e2e: npm not found" >&2; exit 1; }

# The stamp is written only after `npm ci` succeeded (npm writes its own .package-lock.json early),
# and it is checked under the lock, so a test never runs on a half-installed node_modules.
stamp=$here/node_modules/.sheetsync-npm-ci-done
exec 9>"$here/.npm-ci.lock"
flock 9
if [[ ! -f $stamp || $here/package-lock.json -nt $stamp ]]; then
  echo "tests/e2e: npm ci (first run)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
exec 9>&-
script=$1; shift
exec node "$here/$script" "$@"
