#!/usr/bin/env bash
# make bench: every comparison of bench/ in one go — the engine against
# PyTorch (nn, at), kernels against scikit-learn (kernel, features), serving
# (serve), OoD scoring and AAA's cost (ood) — then one table of ratios
# (bench/summary.py) and its JSON in $OUT/bench.json.
#
#   make bench                      # all suites
#   SUITES="nn kernel" make bench   # some
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the whole run, so
# numpy, scikit-learn and PyTorch get OpenBLAS's own kernel choice (and our
# OpenBLAS build the same). Each suite's full output is kept in $OUT/SUITE.txt.
# Timings are medians of each suite's repetitions; compare ratios, not times.
set -uo pipefail
cd "$(dirname "$0")/.."
SUITES=${SUITES:-"nn at kernel features ood serve"}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export BENCH_JSONL="$OUT/rows.jsonl"
: > "$BENCH_JSONL"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ)"
echo "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for every engine"
failed=""
for s in $SUITES; do
  start=$(date +%s)
  echo "== $s (output in $OUT/$s.txt)"
  if bash "bench/$s/run.sh" > "$OUT/$s.txt" 2>&1; then
    echo "   done in $(( $(date +%s) - start )) s"
  else
    echo "   FAILED after $(( $(date +%s) - start )) s; last lines:"; tail -5 "$OUT/$s.txt" | sed 's/^/   /'
    failed="$failed $s"
  fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
/usr/bin/python3 bench/summary.py "$BENCH_JSONL" "$OUT/bench.json"
status=$?
if [ -n "$failed" ]; then echo "failed suites:$failed"; exit 1; fi
exit $status
