#!/usr/bin/env bash
# Where the batch-1 tail comes from: drives a running stack with one client
# sending one change per request (bench/loadgen) while `perf sched` records
# every context switch, then lists the threads outside the stack that ran
# while the slowest 1 % of requests were in flight.
#
#   bench/tail_stalls.sh GATEWAY_PORT TOKEN [SECONDS]
#
# Needs perf and python3, and root (system-wide scheduler events). Start the
# stack first, e.g. with scripts/run.sh; only 127.0.0.1 is driven.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"

port=${1:?usage: bench/tail_stalls.sh GATEWAY_PORT TOKEN [SECONDS]}
token=${2:?usage: bench/tail_stalls.sh GATEWAY_PORT TOKEN [SECONDS]}
seconds=${3:-8}
BUILD_DIR=${SHEETSYNC_BUILD_DIR:-$SHEETSYNC_ROOT/build}
command -v perf >/dev/null || die "perf is missing (apt-get install linux-perf)"

work=$(mktemp -d /tmp/sheetsync-tail.XXXXXX)
trap 'rm -rf "$work"' EXIT

# CLOCK_MONOTONIC stamps, as loadgen's --latency_file has.
perf sched record -k mono -o "$work/sched.data" -- sleep $((seconds + 1)) \
  >"$work/perf.log" 2>&1 &
perf_pid=$!
sleep 0.5
"$BUILD_DIR/bench/sheetsync-loadgen" --port="$port" --token="$token" --batch=1 \
  --concurrency=1 --duration="${seconds}s" --run_id="tail$RANDOM$RANDOM" \
  --latency_file="$work/latency.txt"
wait "$perf_pid" || die "perf sched record failed: $(cat "$work/perf.log")"
perf sched timehist -i "$work/sched.data" >"$work/timehist.txt" 2>/dev/null

python3 - "$work/latency.txt" "$work/timehist.txt" <<'EOF'
import collections, re, sys

requests = [tuple(map(float, line.split()[:2])) for line in open(sys.argv[1])]
# The stack's own threads (and the idle task) are what a request waits on;
# everything else running meanwhile took a CPU from it.
STACK = re.compile(r"^(<idle>|sheetsync-|nexting_thread|grpc|default-execu|"
                   r"timer_manager|resolver-execu|civetweb|mariadbd|perf)")
runs = []  # (start s, end s, thread name)
for line in open(sys.argv[2]):
    fields = line.split()
    if len(fields) < 6 or not re.match(r"^\d+\.\d+$", fields[0]):
        continue
    end, name, run_ms = float(fields[0]), fields[2], float(fields[-1])
    if STACK.match(name):
        continue
    runs.append((end - run_ms / 1000, end, re.sub(r"\[.*", "", name)))

def overlapping(start, ms, cpu=None):
    """The names of the threads that ran during [start, start + ms)."""
    end = start + ms / 1000
    names = set()
    for run_start, run_end, name in runs:
        if run_start < end and run_end > start:
            names.add(name)
            if cpu is not None:
                cpu[name] += (min(end, run_end) - max(start, run_start)) * 1000
    return names

runs.sort()
latencies = sorted(ms for _, ms in requests)
p50 = latencies[len(latencies) // 2]
p99 = latencies[int(len(latencies) * 0.99)]
slow = sorted(requests, key=lambda r: -r[1])[: max(1, len(requests) // 100)]
in_slow, in_all, cpu = collections.Counter(), collections.Counter(), collections.Counter()
for start, ms in slow:
    in_slow.update(overlapping(start, ms, cpu))
for start, ms in requests:
    in_all.update(overlapping(start, ms))
print(f"{len(requests)} requests: p50 {p50:.3f} ms, p99 {p99:.3f} ms; "
      f"the slowest {len(slow)} ({slow[-1][1]:.3f} ms and up) ran while these ran:")
print(f"  {'thread':<24} {'slowest 1 %':>12} {'all requests':>13} {'its CPU in the slowest':>23}")
for name, n in in_slow.most_common(10):
    print(f"  {name:<24} {100 * n / len(slow):11.0f}% {100 * in_all[name] / len(requests):12.1f}%"
          f" {cpu[name]:20.2f} ms")
EOF
