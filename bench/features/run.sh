#!/usr/bin/env bash
# Benchmark: random Fourier features (D = 2,000, phase form) + primal ridge
# regression at n = 20,000, d = 20 in trustml (pure-Go and OpenBLAS builds)
# against scikit-learn's RBFSampler + Ridge (Debian python3-sklearn, 2 BLAS
# threads), in one run. Prints median seconds over REPS repetitions and the
# ratios to scikit-learn, plus each side's test MSE (same model quality).
#
#   bash bench/features/run.sh
#   N=20000 D=2000 REPS=5 bash bench/features/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-20000}; D=${D:-2000}; DIM=${DIM:-20}; REPS=${REPS:-5}
args="-n $N -D $D -d $DIM -reps $REPS"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pure" ./bench/features
have_openblas=0
if go build -tags openblas -o "$tmp/openblas" ./bench/features 2>/dev/null; then have_openblas=1; fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$tmp/pure" $args > "$tmp/pure.json"
if [ $have_openblas = 1 ]; then OPENBLAS_NUM_THREADS=2 "$tmp/openblas" $args > "$tmp/openblas.json"; else echo '{}' > "$tmp/openblas.json"; fi
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2 /usr/bin/python3 bench/features/sklearn_rff.py \
  --n "$N" --D "$D" --d "$DIM" --reps "$REPS" > "$tmp/sk.json"
/usr/bin/python3 - "$tmp" "$N" "$DIM" "$D" <<'PY'
import json, sys
sys.path.insert(0, "bench")
from emit import emit
d, n, dim, D = sys.argv[1:]
sk = json.load(open(f"{d}/sk.json"))
rows = [("scikit-learn", sk)]
for name in ("pure", "openblas"):
    r = json.load(open(f"{d}/{name}.json"))
    if r:
        rows.append((r["engine"], r))
print(f"\nRFF (D={D}) + ridge, n={n}, d={dim}: median seconds and ratio to scikit-learn (lower is faster)")
print(f"{'engine':<18}{'map+fit s':>10}{'ratio':>8}{'predict s':>11}{'ratio':>8}{'test MSE':>10}")
for name, r in rows:
    print(f"{name:<18}{r['fit_s']:>10.3f}{r['fit_s']/sk['fit_s']:>8.2f}{r['predict_s']:>11.3f}{r['predict_s']/sk['predict_s']:>8.2f}{r['test_mse']:>10.4f}")
    if r is not sk:
        emit("features", f"RFF (D={D}) + ridge map+fit, n={n}", name, r["fit_s"], "scikit-learn", sk["fit_s"], "s", higher_is_better=False)
        emit("features", f"RFF (D={D}) + ridge predict, n={n}", name, r["predict_s"], "scikit-learn", sk["predict_s"], "s", higher_is_better=False)
PY
