#!/usr/bin/env bash
# Benchmark: trustml's engine (pure-Go and OpenBLAS builds) against PyTorch
# (Debian python3-torch, 2 threads) on the same small CNN and batch size, in
# one run. Prints images/s (median of REPS repetitions) and the ratios.
#
#   bash bench/nn/run.sh            # both architectures
#   ARCHS=cnn REPS=7 bash bench/nn/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ARCHS=${ARCHS:-"cnn cnn-bn"}
REPS=${REPS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pure" ./bench/nn
have_openblas=0
if go build -tags openblas -o "$tmp/openblas" ./bench/nn 2>/dev/null; then have_openblas=1; fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for arch in $ARCHS; do
  "$tmp/pure" -arch "$arch" -reps "$REPS" > "$tmp/pure.json"
  if [ $have_openblas = 1 ]; then "$tmp/openblas" -arch "$arch" -reps "$REPS" > "$tmp/openblas.json"; else echo '{}' > "$tmp/openblas.json"; fi
  /usr/bin/python3 bench/nn/torch_cnn.py --arch "$arch" --reps "$REPS" > "$tmp/torch.json"
  /usr/bin/python3 - "$arch" "$tmp" <<'PY'
import json, sys
arch, d = sys.argv[1], sys.argv[2]
t = json.load(open(f"{d}/torch.json"))
rows = [("pytorch (2 threads)", t)]
for name in ("pure", "openblas"):
    r = json.load(open(f"{d}/{name}.json"))
    if r:
        rows.append((r["engine"], r))
print(f"\n{arch}, batch {t['batch']}: images/s (median) and ratio to PyTorch")
print(f"{'engine':<22}{'train img/s':>12}{'ratio':>8}{'infer img/s':>13}{'ratio':>8}")
for name, r in rows:
    print(f"{name:<22}{r['train_img_s']:>12.0f}{r['train_img_s']/t['train_img_s']:>8.2f}{r['infer_img_s']:>13.0f}{r['infer_img_s']/t['infer_img_s']:>8.2f}")
PY
done
