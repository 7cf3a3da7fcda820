# Throughput and latency against the table's size, from bench/scale.sh's TSV
# (columns: rows batch conc raw_cps raw_p50 raw_p99 sync_cps sync_p50 sync_p99).
# gnuplot -e "tsv='scale.tsv'; png='scale.png'" scale.gp
set terminal pngcairo size 1200,480 font ",10"
set output png
set datafile separator "\t"
set logscale x
set offsets graph 0.05, graph 0.05, 0, 0
set xlabel "rows in the table before the run"
set grid
set key bottom right
set multiplot layout 1,2
b50 = sprintf("< awk -F'\t' '$2 == 50 && $3 == 16' '%s'", tsv)
b1 = sprintf("< awk -F'\t' '$2 == 1 && $3 == 1' '%s'", tsv)
set title "throughput, batch 50, concurrency 16"
set ylabel "changes/s"
set yrange [0:*]
plot b50 using 1:4 with linespoints title "raw limit", \
     b50 using 1:7 with linespoints title "sheetsync"
set title "latency, batch 1, concurrency 1"
set ylabel "ms"
plot b1 using 1:6 with linespoints title "raw limit p99", \
     b1 using 1:9 with linespoints title "sheetsync p99", \
     b1 using 1:8 with linespoints dashtype 2 title "sheetsync p50"
unset multiplot
