#!/usr/bin/env bash
# Where a batch-1 request's time goes, fast ones and slow ones: drives a
# running stack with one client sending one change per request
# (bench/loadgen), then joins each request with the per-call log lines of
# ingest, the resolver and the writer by the trace id the gateway answered
# with, and prints, for bands of requests by latency, the mean time spent in
# each hop alone.
#
#   bench/hop_tail.sh LOG_DIR GATEWAY_PORT TOKEN [SECONDS]
#
# LOG_DIR holds ingest.log, resolver.log and writer.log (for scripts/run.sh:
# .sheetsync/logs).
# Needs python3; only 127.0.0.1 is driven.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"

usage="usage: bench/hop_tail.sh LOG_DIR GATEWAY_PORT TOKEN [SECONDS]"
logs=${1:?$usage} port=${2:?$usage} token=${3:?$usage} seconds=${4:-8}
BUILD_DIR=${SHEETSYNC_BUILD_DIR:-$SHEETSYNC_ROOT/build}
services=(ingest resolver writer)
for s in "${services[@]}"; do [[ -f $logs/$s.log ]] || die "no $logs/$s.log"; done

work=$(mktemp -d /tmp/sheetsync-hops.XXXXXX)
trap 'rm -rf "$work"' EXIT
declare -A offset
for s in "${services[@]}"; do offset[$s]=$(wc -c <"$logs/$s.log"); done
"$BUILD_DIR/bench/sheetsync-loadgen" --port="$port" --token="$token" --batch=1 \
  --concurrency=1 --duration="${seconds}s" --run_id="hops$RANDOM$RANDOM" \
  --latency_file="$work/latency.txt"
sleep 0.5  # the services write their gathered log lines every 100 ms
for s in "${services[@]}"; do tail -c "+$((offset[$s] + 1))" "$logs/$s.log" >"$work/$s.log"; done

"$SHEETSYNC_PYTHON" - "$work" <<'PY'
import json, statistics, sys

work = sys.argv[1]

def lines(service, message, method=None):
    for line in open(f"{work}/{service}.log"):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("message") == message and (method is None or entry.get("method") == method):
            yield entry

def served(service, method):
    return {e["trace_id"]: float(e["ms"]) for e in lines(service, "rpc", method)}

# "start latency_ms trace_id" per request (the gateway's X-Trace-Id).
sent = [line.split() for line in open(f"{work}/latency.txt")]
ingest = served("ingest", "/sheetsync.v1.Ingest/Submit")
resolver = served("resolver", "/sheetsync.v1.Resolver/Resolve")
writer = served("writer", "/sheetsync.v1.Writer/Apply")
rows = sorted(
    (total, total - ingest[t], ingest[t] - resolver[t], resolver[t] - writer[t], writer[t])
    for total, t in ((float(ms), t) for _, ms, t in sent)
    if t in ingest and t in resolver and t in writer)
if len(rows) < len(sent):
    print(f"hop_tail: {len(sent) - len(rows)} of {len(sent)} requests not found in every log",
          file=sys.stderr)
n = len(rows)
print(f"{n} requests; mean ms per request, each hop alone (its served time less the next hop's):")
print(f"  {'requests by latency':<20} {'total':>7} {'gateway+client':>15} {'ingest':>7} "
      f"{'resolver':>9} {'writer+MySQL':>13}")
for label, lo, hi in (("fastest half", 0, .5), ("50-90 %", .5, .9), ("90-99 %", .9, .99),
                      ("slowest 1 %", .99, 1)):
    band = rows[int(n * lo):int(n * hi)]
    if band:
        means = [statistics.mean(r[i] for r in band) for i in range(5)]
        print(f"  {label:<20} {means[0]:7.2f} {means[1]:15.2f} {means[2]:7.2f} {means[3]:9.2f} "
              f"{means[4]:13.2f}")
PY
