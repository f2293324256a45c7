#!/bin/sh
# Kernel-library benchmark: trustml vs scikit-learn on the same data.
#
#   bench/kernel/run.sh                 # OpenBLAS build (the comparison that counts)
#   TAGS= bench/kernel/run.sh           # pure-Go build
#   bench/kernel/run.sh -reps 5 -krr-n 2000   # flags go to the Go program
#
# Times are medians of -reps runs (default 3). Needs Debian's python3-sklearn
# at /usr/bin/python3. Data and outputs go to $OUT (default: a temp dir).
set -eu
cd "$(dirname "$0")/../.."
TAGS=${TAGS-openblas}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
go build -tags "$TAGS" -o "$OUT/kernel-bench" ./bench/kernel
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== trustml (tags: '${TAGS}') =="
"$OUT/kernel-bench" -out "$OUT" "$@"
echo
echo "== scikit-learn (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, so numpy gets its own kernel) =="
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/kernel/sklearn_bench.py "$OUT"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
