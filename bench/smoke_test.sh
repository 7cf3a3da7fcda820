#!/usr/bin/env bash
# The benchmark in brief, as a test (ctest bench_smoke): bench/run.sh at one
# second per point against the binaries in SHEETSYNC_BUILD_DIR. bench/run.sh
# fails a run whose data does not verify (every acknowledged change stored,
# sampled rows hold the acknowledged values); this also checks that every
# table came out. Timings are printed, never judged.
set -euo pipefail
out=$(SHEETSYNC_SKIP_BUILD=1 BENCH_SECONDS=1 BENCH_ROUNDS=2 BENCH_CONFIGS="50:4 1:1" \
  bash "$(dirname "$0")/run.sh")
printf '%s\n' "$out"
for expected in "^50 +4 +\|" "^1 +1 +\|" "raw commits at the stack's pace" "^over 2 rounds" \
  "^peak RSS" "^verified: [1-9][0-9]* acknowledged changes stored"; do
  grep -Eq "$expected" <<<"$out" || { echo "bench_smoke: no line matching: $expected" >&2; exit 1; }
done
