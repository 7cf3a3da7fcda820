#!/usr/bin/env bash
# Scale runs: bench/run.sh with the table preloaded to 10 k, 100 k and 1 M
# rows, then a plot of throughput and p99 latency against the table's size.
#
#   bench/scale.sh                         writes bench/results/scale.tsv and scale.png
#   SCALE_ROWS="10000 1000000" SCALE_CONFIGS="50:16" BENCH_SECONDS=5 bench/scale.sh
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "$0")/../scripts/lib.sh"

out_dir=${SCALE_OUT:-$SHEETSYNC_ROOT/bench/results}
tsv=$out_dir/scale.tsv
SHEETSYNC_PACKAGES+=(gnuplot-nox)  # the plot
ensure_packages
mkdir -p "$out_dir"
printf 'rows\tbatch\tconc\traw_cps\traw_p50_ms\traw_p99_ms\tsync_cps\tsync_p50_ms\tsync_p99_ms\n' >"$tsv"

skip_build=${SHEETSYNC_SKIP_BUILD:-0}
for rows in ${SCALE_ROWS:-10000 100000 1000000}; do
  log_info "scale run: $rows rows"
  SHEETSYNC_SKIP_BUILD=$skip_build BENCH_ROWS=$rows BENCH_TSV=$tsv \
    BENCH_CONFIGS=${SCALE_CONFIGS:-"50:16 1:1"} "$SHEETSYNC_ROOT/bench/run.sh"
  skip_build=1  # built once
done

gnuplot -e "tsv='$tsv'; png='$out_dir/scale.png'" "$SHEETSYNC_ROOT/bench/scale.gp"
log_info "wrote $tsv and $out_dir/scale.png"
