#!/usr/bin/env bash
# Benchmark: OoD detector scoring cost relative to the default model's
# forward pass, and KPCA fit time (RFF, Nyström) against exact kernel PCA at
# the same n, in the pure-Go and the OpenBLAS builds. Medians over REPS.
#
#   bash bench/ood/run.sh
#   REPS=5 NFIT=10000 NSCORE=2000 NKPCA=2000 bash bench/ood/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-3}; NFIT=${NFIT:-10000}; NSCORE=${NSCORE:-2000}; NKPCA=${NKPCA:-2000}
RFFM=${RFFM:-512,256}
args="-reps $REPS -n-fit $NFIT -n-score $NSCORE -n-kpca $NKPCA -rff-m $RFFM"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
go build -o "$tmp/pure" ./bench/ood
echo "== pure Go"
"$tmp/pure" $args
if go build -tags openblas -o "$tmp/openblas" ./bench/ood 2>/dev/null; then
  echo "== OpenBLAS (2 threads)"
  OPENBLAS_NUM_THREADS=2 "$tmp/openblas" $args
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
