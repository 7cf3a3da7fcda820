#!/usr/bin/env bash
# Offline checks of deploy/prometheus (ctest e2e_prometheus_rules): the alert rules parse, their
# unit tests pass and the local config (with its rule file) is valid.
set -euo pipefail
dir=$(cd "$(dirname "$0")/../../deploy/prometheus" && pwd)
command -v promtool >/dev/null || { echo "promtool not found: apt-get install prometheus" >&2; exit 1; }
cd "$dir"
promtool check rules alerts.yaml
promtool test rules alerts_test.yaml
promtool check config prometheus.yml
echo "prometheus rules: 3 passed, 0 failed"
