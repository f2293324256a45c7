#!/usr/bin/env bash
# Benchmark: OoD detector scoring cost relative to the default model's
# forward pass, and KPCA fit time (RFF, Nyström) against exact kernel PCA at
# the same n, in the pure-Go and the OpenBLAS builds. Medians over REPS.
#
#   bash bench/ood/run.sh
#   REPS=5 NFIT=10000 NSCORE=2000 NKPCA=2000 bash bench/ood/run.sh
#   NYS_N=60000 bash bench/ood/run.sh   # the Nyström fit at issue 19's full scale
#
# It then times the Nyström KPCA fit (NYS_N features of dimension 128, 2,048
# landmarks; default n = 15,000) in both builds against the same fit in
# numpy (nystrom_numpy.py), one run each.
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
NYS_N=${NYS_N:-15000}; NYS_M=${NYS_M:-2048}; NYS_D=${NYS_D:-128}
echo "== Nyström KPCA fit, n=$NYS_N M=$NYS_M d=$NYS_D (one run each)"
nys() { # $1: tags; prints seconds
  KPCA_BENCH_N=$NYS_N KPCA_BENCH_M=$NYS_M KPCA_BENCH_D=$NYS_D go test -tags "$1" -run XXX -bench KPCANystromFit \
    -benchtime 1x -timeout 60m ./ood | awk '/^BenchmarkKPCANystromFit/ {printf "%.2f\n", $3 / 1e9}'
}
pure=$(nys ""); echo "trustml pure Go: $pure s"
ob=$(nys openblas 2>/dev/null || true); echo "trustml OpenBLAS: ${ob:-n/a} s"
np_line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/ood/nystrom_numpy.py "$NYS_N" "$NYS_M" "$NYS_D")
echo "$np_line"
np=$(echo "$np_line" | sed -n 's/.*median \([0-9.]*\) s.*/\1/p')
/usr/bin/python3 - "$NYS_N" "$NYS_M" "$pure" "${ob:-0}" "$np" <<'PY'
import sys
sys.path.insert(0, "bench")
from emit import emit
n, m, pure, ob, np_ = *sys.argv[1:3], *(float(v or 0) for v in sys.argv[3:])
for engine, t in (("pure-go", pure), ("openblas", ob)):
    emit("ood", f"Nystrom KPCA fit n={n} M={m}", engine, t, "numpy (same steps)", np_, "s", higher_is_better=False)
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
