#!/usr/bin/env bash
# Benchmarks sheetsync against the raw limit on this machine, in one run:
#   1. a fresh MariaDB with durable defaults (innodb_flush_log_at_trx_commit=1),
#   2. the raw limit: bench/rawlimit applies the same changes with the same
#      per-cell version bookkeeping straight to MySQL, batched,
#   3. the whole stack, driven through the gateway by bench/loadgen,
# for batch 50 and batch 1 at concurrency 1, 4 and 16; then it verifies the
# data (row count and a sample against what was acknowledged), reads each
# process's peak RSS and prints one table with the ratios. At batch 1 it also
# runs the raw commits at the stack's pace (each thread starting one no
# sooner than the stack's mean interval after its last), for context: the p99
# target is against the back-to-back raw commits.
#
#   bench/run.sh                 10 s per point
#   BENCH_SECONDS=3 bench/run.sh quicker
#   BENCH_ROWS=100000 bench/run.sh   preload the table first (scale runs)
#   BENCH_TSV=FILE bench/run.sh      also append one tab-separated line per
#                                    point to FILE (bench/scale.sh plots them)
#   BENCH_ROUNDS=3 bench/run.sh      measure each point 3 times, raw and stack in
#                                    turn, and also print the median ratio: this
#                                    machine's speed drifts, and a ratio of
#                                    neighbouring runs holds better than one run
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"

BUILD_DIR=${SHEETSYNC_BUILD_DIR:-$SHEETSYNC_ROOT/build}
SECONDS_PER_POINT=${BENCH_SECONDS:-10}
PRELOAD_ROWS=${BENCH_ROWS:-0}
CONFIGS=${BENCH_CONFIGS:-"50:16 50:4 50:1 1:16 1:4 1:1"}
ROUNDS=${BENCH_ROUNDS:-1}

ensure_packages
[[ ${SHEETSYNC_SKIP_BUILD:-0} == 1 ]] || build_project "$BUILD_DIR" Release

work=$(mktemp -d /tmp/sheetsync-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid" 10 || true; done
  mariadb_stop "$work/db" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

db_port=$(free_port)
mariadb_start "$work/db" "$db_port" >/dev/null
sock=$(mariadb_socket "$work/db")
mysql_bootstrap "$sock" sheetsync_bench sheetsync bench-pw >/dev/null
sql() { mariadb --no-defaults -S "$sock" -uroot -N -B sheetsync_bench -e "$1"; }
log_info "MariaDB $(sql 'SELECT VERSION()') flush_log_at_trx_commit=$(sql 'SELECT @@innodb_flush_log_at_trx_commit')"

mysql_flags=(--mysql_host=127.0.0.1 "--mysql_port=$db_port" --mysql_user=sheetsync
  --mysql_password=bench-pw --mysql_database=sheetsync_bench)
"$BUILD_DIR/services/writer/sheetsync-writer" "${mysql_flags[@]}" --migrate_only 2>/dev/null

if ((PRELOAD_ROWS > 0)); then
  log_info "preloading $PRELOAD_ROWS rows"
  "$BUILD_DIR/bench/sheetsync-rawlimit" "${mysql_flags[@]}" --concurrency=4 --batch=500 \
    --total="$PRELOAD_ROWS" --run_id=preload >/dev/null
fi

raw() {  # batch concurrency round [seconds] [pace in µs]
  "$BUILD_DIR/bench/sheetsync-rawlimit" "${mysql_flags[@]}" --batch="$1" --concurrency="$2" \
    --duration="${4:-$SECONDS_PER_POINT}s" --pace="${5:-0}us" --run_id="raw-$1-$2-$3${5:+-paced}"
}

# The stack, on free ports.
spawn() {  # name binary args...
  local name=$1 bin=$2
  shift 2
  "$bin" "$@" >"$work/$name.log" 2>&1 &
  pids+=("$!")
  eval "pid_$name=$!"
}
w=$(free_port); wm=$(free_port); r=$(free_port); rm_=$(free_port)
i=$(free_port); im=$(free_port); g=$(free_port)
spawn writer "$BUILD_DIR/services/writer/sheetsync-writer" "${mysql_flags[@]}" \
  "--listen=127.0.0.1:$w" "--metrics_listen=127.0.0.1:$wm" --pool_size=16
spawn resolver "$BUILD_DIR/services/resolver/sheetsync-resolver" "--listen=127.0.0.1:$r" \
  "--metrics_listen=127.0.0.1:$rm_" "--writer_addr=127.0.0.1:$w"
spawn ingest "$BUILD_DIR/services/ingest/sheetsync-ingest" "--listen=127.0.0.1:$i" \
  "--metrics_listen=127.0.0.1:$im" "--resolver_addr=127.0.0.1:$r" "--writer_addr=127.0.0.1:$w"
spawn gateway "$BUILD_DIR/gateway/sheetsync-gateway" "--listen=127.0.0.1:$g" \
  "--ingest_addr=127.0.0.1:$i" "--writer_addr=127.0.0.1:$w" \
  "--ready_addrs=127.0.0.1:$i,127.0.0.1:$r,127.0.0.1:$w" --token=bench-token --threads=4 \
  --rate_limit=0 --max_inflight=1024  # measure the stack, not the overload cap
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$g/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$g/readyz" >/dev/null || die "the stack did not become ready (logs in $work)"

stack() {  # batch concurrency round [seconds]
  "$BUILD_DIR/bench/sheetsync-loadgen" --port="$g" --token=bench-token --batch="$1" \
    --concurrency="$2" --duration="${4:-$SECONDS_PER_POINT}s" --run_id="stack-$1-$2-$3" \
    --sample_file="$work/sample-$1-$2-$3.txt"
}

field() { sed -E "s/.*\"$2\":([0-9.]+).*/\1/" <<<"$1"; }

# CPU time (clock ticks, user + system) a process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU milliseconds per 1000 changes: ticks changes
per_1000() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", t * 1e6 / hz / (n > 0 ? n : 1)}'; }
pid_mariadb=$(cat "$work/db/mysqld.pid")
procs=(gateway ingest resolver writer mariadb)
cpu_snapshot() {
  local name pid out=()
  for name in "${procs[@]}"; do
    pid=pid_$name
    out+=("$(cpu_ticks "${!pid}")")
  done
  echo "${out[*]}"
}

# Mean milliseconds spent inside each hop, from the services' own histograms:
# the gateway's request time, then each gRPC server's handling time (each
# includes the hops after it).
hop_sums() {  # prints "sum count" per hop, space-separated
  local m
  m=$(curl -sf "http://127.0.0.1:$g/metrics")
  sum_count "$m" 'sheetsync_http_request_duration_seconds' 'route="/v1/edits"'
  m=$(curl -sf "http://127.0.0.1:$im/metrics")
  sum_count "$m" 'sheetsync_grpc_server_handling_seconds' 'Submit'
  m=$(curl -sf "http://127.0.0.1:$rm_/metrics")
  sum_count "$m" 'sheetsync_grpc_server_handling_seconds' 'Resolve'
  m=$(curl -sf "http://127.0.0.1:$wm/metrics")
  sum_count "$m" 'sheetsync_grpc_server_handling_seconds' 'Apply"'
  echo
}
sum_count() {  # metrics-text histogram label-filter
  awk -v h="$2" -v f="$3" '
    index($1, h "_sum") == 1 && index($1, f) { s += $2 }
    index($1, h "_count") == 1 && index($1, f) { c += $2 }
    END { printf "%.6f %d ", s, c }' <<<"$1"
}
hop_means() {  # before... after... -> mean ms per hop
  awk -v b="$1" -v a="$2" 'BEGIN {
    n = split(b, x, " "); split(a, y, " ")
    for (k = 1; k < n; k += 2) {
      c = y[k + 1] - x[k + 1]
      printf "|%.2f", (c > 0 ? 1000 * (y[k] - x[k]) / c : 0)
    }
  }'
}

rows=()
paced_rows=()
cpu_rows=()
hop_rows=()
# Both sides warm up first (connections, channels, caches, MariaDB's buffer
# pool): the first point measured cold was up to a quarter slower.
log_info "warming up"
raw 50 16 warmup 2 >/dev/null
acked=$(field "$(stack 50 16 warmup 3)" changes | cut -d. -f1)
for config in $CONFIGS; do
  batch=${config%:*} conc=${config#*:}
  for round in $(seq "$ROUNDS"); do
    log_info "batch $batch, concurrency $conc, round $round: raw limit"
    raw_before=$(cpu_ticks "$pid_mariadb")
    raw_out=$(raw "$batch" "$conc" "$round")
    raw_after=$(cpu_ticks "$pid_mariadb")
    raw_changes=$(field "$raw_out" changes | cut -d. -f1)
    log_info "batch $batch, concurrency $conc, round $round: sheetsync"
    before=($(cpu_snapshot))
    hops_before=$(hop_sums)
    stack_out=$(stack "$batch" "$conc" "$round")
    after=($(cpu_snapshot))
    hop_rows+=("$batch|$conc$(hop_means "$hops_before" "$(hop_sums)")")
    changes=$(field "$stack_out" changes | cut -d. -f1)
    cpu_line="$batch|$conc|$(per_1000 $((raw_after - raw_before)) "$raw_changes")"
    for j in "${!procs[@]}"; do  # CPU milliseconds per 1000 changes
      cpu_line+="|$(per_1000 $((after[j] - before[j])) "$changes")"
    done
    cpu_rows+=("$cpu_line")
    acked=$((acked + $(field "$stack_out" changes | cut -d. -f1)))
    rows+=("$batch|$conc|$raw_out|$stack_out")
    if ((batch == 1)); then
      # Each loadgen thread's mean interval between requests, in µs.
      pace=$(awk "BEGIN {printf \"%d\", 1e6 * $conc / $(field "$stack_out" changes_per_s)}")
      log_info "batch $batch, concurrency $conc, round $round: raw limit at the stack's pace"
      raw_before=$(cpu_ticks "$pid_mariadb")
      raw_out=$(raw "$batch" "$conc" "$round" "" "$pace")
      raw_db=$(per_1000 $(($(cpu_ticks "$pid_mariadb") - raw_before)) "$(field "$raw_out" changes | cut -d. -f1)")
      # MariaDB's CPU per 1000 changes: the paced raw commits', the stack's.
      paced_rows+=("$batch|$conc|$pace|$raw_out|$stack_out|$raw_db|${cpu_line##*|}")
    fi
  done
done

# Verify: every acknowledged change is a row, and samples hold their values.
stored=$(sql "SELECT COUNT(*) FROM users WHERE name LIKE 'stack-%'")
[[ $stored == "$acked" ]] || die "verification failed: $acked changes acknowledged, $stored rows stored"
bad=0
while read -r row name; do
  got=$(sql "SELECT name FROM users WHERE uuid = '$row'")
  [[ $got == "$name" ]] || bad=$((bad + 1))
done < <(cat "$work"/sample-*.txt)
((bad == 0)) || die "verification failed: $bad sampled rows differ from what was acknowledged"
samples=$(cat "$work"/sample-*.txt | wc -l)

rss() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
printf '\n%s\n' "sheetsync vs the raw limit ($(nproc) cores, ${SECONDS_PER_POINT} s per point, table rows before: $PRELOAD_ROWS)"
printf '%-6s %-5s | %12s %9s %9s | %12s %9s %9s | %7s %9s\n' batch conc \
  "raw ch/s" "raw p50" "raw p99" "sync ch/s" "sync p50" "sync p99" "ratio" "p99 ratio"
for entry in "${rows[@]}"; do
  IFS='|' read -r batch conc raw_out stack_out <<<"$entry"
  rt=$(field "$raw_out" changes_per_s) st=$(field "$stack_out" changes_per_s)
  rp50=$(field "$raw_out" p50_ms) rp99=$(field "$raw_out" p99_ms)
  sp50=$(field "$stack_out" p50_ms) sp99=$(field "$stack_out" p99_ms)
  printf '%-6s %-5s | %12s %7sms %7sms | %12s %7sms %7sms | %6.0f%% %8.1fx\n' "$batch" "$conc" \
    "$rt" "$rp50" "$rp99" "$st" "$sp50" "$sp99" "$(awk "BEGIN {print 100 * $st / $rt}")" \
    "$(awk "BEGIN {print $sp99 / $rp99}")"
  if [[ -n ${BENCH_TSV:-} ]]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$PRELOAD_ROWS" "$batch" "$conc" \
      "$rt" "$rp50" "$rp99" "$st" "$sp50" "$sp99" >>"$BENCH_TSV"
  fi
done
# Prints "median min max" of the numbers given.
median_min_max() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1}
    END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR]}'
}
if ((ROUNDS > 1)); then  # the median of each point's per-round ratios
  printf '\nover %s rounds (raw and stack in turn): median (min-max)\n' "$ROUNDS"
  printf '%-6s %-5s | %17s | %17s | %17s\n' batch conc ratio "p99 ratio" "vs paced raw p99"
  for config in $CONFIGS; do
    batch=${config%:*} conc=${config#*:}
    ratios=() p99s=()
    for entry in "${rows[@]}"; do
      IFS='|' read -r b c raw_out stack_out <<<"$entry"
      [[ $b == "$batch" && $c == "$conc" ]] || continue
      ratios+=("$(awk "BEGIN {print 100 * $(field "$stack_out" changes_per_s) / $(field "$raw_out" changes_per_s)}")")
      p99s+=("$(awk "BEGIN {print $(field "$stack_out" p99_ms) / $(field "$raw_out" p99_ms)}")")
    done
    read -r m lo hi <<<"$(median_min_max "${ratios[@]}")"
    ratio=$(printf '%.0f%% (%.0f-%.0f%%)' "$m" "$lo" "$hi")
    read -r m lo hi <<<"$(median_min_max "${p99s[@]}")"
    p99_ratio=$(printf '%.1fx (%.1f-%.1fx)' "$m" "$lo" "$hi")
    paced=()
    for entry in "${paced_rows[@]}"; do
      IFS='|' read -r b c _ raw_out stack_out <<<"$entry"
      [[ $b == "$batch" && $c == "$conc" ]] || continue
      paced+=("$(awk "BEGIN {print $(field "$stack_out" p99_ms) / $(field "$raw_out" p99_ms)}")")
    done
    paced_ratio=-
    if ((${#paced[@]} > 0)); then
      read -r m lo hi <<<"$(median_min_max "${paced[@]}")"
      paced_ratio=$(printf '%.1fx (%.1f-%.1fx)' "$m" "$lo" "$hi")
    fi
    printf '%-6s %-5s | %17s | %17s | %17s\n' "$batch" "$conc" "$ratio" "$p99_ratio" "$paced_ratio"
  done
fi
if ((${#paced_rows[@]} > 0)); then
  printf '\n%s\n' "The raw commits at the stack's pace (context; the targets compare with those above):"
  printf '%-6s %-5s | %9s | %9s %9s | %9s | %17s | %s\n' batch conc pace "raw p50" "raw p99" "sync p99" \
    "sync p99 / raw p99" "MariaDB CPU ms per 1000 changes, raw / sync"
  for entry in "${paced_rows[@]}"; do
    IFS='|' read -r batch conc pace raw_out stack_out raw_db sync_db <<<"$entry"
    rp99=$(field "$raw_out" p99_ms) sp99=$(field "$stack_out" p99_ms)
    printf '%-6s %-5s | %7.2fms | %7sms %7sms | %7sms | %16.1fx | %s / %s\n' "$batch" "$conc" \
      "$(awk "BEGIN {print $pace / 1000}")" "$(field "$raw_out" p50_ms)" "$rp99" "$sp99" \
      "$(awk "BEGIN {print $sp99 / $rp99}")" "$raw_db" "$sync_db"
  done
fi
printf '\npeak RSS (MiB): gateway %s, ingest %s, resolver %s, writer %s\n' \
  "$(rss "$pid_gateway")" "$(rss "$pid_ingest")" "$(rss "$pid_resolver")" "$(rss "$pid_writer")"
printf '\nCPU ms per 1000 changes (raw: MariaDB while the raw limit ran; the rest through the stack):\n%-6s %-5s | %8s | %8s %8s %8s %8s %8s\n' \
  batch conc "raw db" "${procs[@]}"
for entry in "${cpu_rows[@]}"; do
  IFS='|' read -r -a f <<<"$entry"
  printf '%-6s %-5s | %8s | %8s %8s %8s %8s %8s\n' "${f[@]}"
done
printf '\nMean ms inside each hop (each includes the hops after it):\n%-6s %-5s | %8s %8s %8s %8s\n' \
  batch conc gateway ingest resolver writer
for entry in "${hop_rows[@]}"; do
  IFS='|' read -r -a f <<<"$entry"
  printf '%-6s %-5s | %8s %8s %8s %8s\n' "${f[@]}"
done
printf 'verified: %s acknowledged changes stored, %s sampled rows match\n' "$stored" "$samples"
