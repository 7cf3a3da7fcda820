#!/usr/bin/env bash
# Offline validation of the Kubernetes deployment (ctest -L k8s; also runnable by hand):
#
#   tests/k8s/run.sh [--gateway BIN --ingest BIN --resolver BIN --writer BIN] [-v]
#
# Renders deploy/k8s/base and every overlay with `kubectl kustomize`, validates every object
# against the Kubernetes OpenAPI schemas and the prometheus-operator CRDs (npm packages, installed
# here with `npm ci` on first use into tests/k8s/node_modules) and checks ports, probes, env vars,
# addresses and metrics endpoints against what the binaries accept (their --helpfull when given,
# else ABSL_FLAG in the sources). Negative fixtures in tests/k8s/fixtures must be rejected.
# Needs kubectl (>= 1.27, which has kustomize built in), node >= 20 and npm; no cluster.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

missing() {
  printf 'tests/k8s: %s\n' "$*" >&2
  exit 1
}
command -v kubectl >/dev/null ||
  missing "kubectl not found on PATH. It renders the kustomizations offline (no cluster needed): install kubectl >= 1.27 (the machines' image ships 1.32; see TOOLCHAIN.md) and re-run."
kubectl kustomize --help >/dev/null 2>&1 || missing "this kubectl has no 'kustomize' subcommand; install kubectl >= 1.27."
command -v node >/dev/null || missing "node not found (install nodejs >= 20)."
command -v npm >/dev/null || missing "npm not found (install npm)."

# npm ci once (and again when package-lock.json changes); serialized between parallel runs.
stamp=$here/node_modules/.package-lock.json
if [[ ! -f $stamp || $here/package-lock.json -nt $stamp ]]; then
  exec 9>"$here/.npm-ci.lock"
  flock 9
  if [[ ! -f $stamp || $here/package-lock.json -nt $stamp ]]; then
    printf 'tests/k8s: npm ci (first run)\n'
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  exec 9>&-
fi

exec node "$here/validate.mjs" --root "$root" "$@"
