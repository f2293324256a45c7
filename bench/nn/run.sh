#!/usr/bin/env bash
# Benchmark: trustml's engine (pure-Go and OpenBLAS builds) against PyTorch
# (Debian python3-torch, 2 threads) on the same small CNN and batch size, in
# one run. Training is SGD steps; inference is the engine's inference path
# (Network.Infer, as Logits and serving use it) against PyTorch's no_grad
# forward. The three engines run in turn, ROUNDS times (interleaved, so that
# a change of machine load hits them alike); each run reports the median
# images/s over REPS repetitions, and the table shows the median over the
# rounds and the ratios to PyTorch.
#
#   bash bench/nn/run.sh            # both architectures
#   ARCHS=cnn REPS=7 ROUNDS=5 STEPS=20 bash bench/nn/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ARCHS=${ARCHS:-"cnn cnn-bn"}
REPS=${REPS:-5}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pure" ./bench/nn
have_openblas=0
if go build -tags openblas -o "$tmp/openblas" ./bench/nn 2>/dev/null; then have_openblas=1; fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
for arch in $ARCHS; do
  for round in $(seq "$ROUNDS"); do
    "$tmp/pure" -arch "$arch" -reps "$REPS" -steps "$STEPS" > "$tmp/pure.$round.json"
    if [ $have_openblas = 1 ]; then "$tmp/openblas" -arch "$arch" -reps "$REPS" -steps "$STEPS" > "$tmp/openblas.$round.json"; else echo '{}' > "$tmp/openblas.$round.json"; fi
    /usr/bin/python3 bench/nn/torch_cnn.py --arch "$arch" --reps "$REPS" --steps "$STEPS" > "$tmp/torch.$round.json"
  done
  /usr/bin/python3 - "$arch" "$tmp" "$ROUNDS" <<'PY'
import json, statistics, sys
sys.path.insert(0, "bench")
from emit import emit
arch, d, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(name):
    rs = [json.load(open(f"{d}/{name}.{i}.json")) for i in range(1, rounds + 1)]
    if not rs[0]:
        return None
    r = dict(rs[0])
    for key in ("train_img_s", "infer_img_s"):
        r[key] = statistics.median(x[key] for x in rs)
    return r
t = load("torch")
rows = [("pytorch (2 threads)", t)]
for name in ("pure", "openblas"):
    r = load(name)
    if r:
        rows.append((r["engine"], r))
print(f"\n{arch}, batch {t['batch']}: images/s (median of {rounds} interleaved rounds) and ratio to PyTorch")
print(f"{'engine':<22}{'train img/s':>12}{'ratio':>8}{'infer img/s':>13}{'ratio':>8}")
for name, r in rows:
    print(f"{name:<22}{r['train_img_s']:>12.0f}{r['train_img_s']/t['train_img_s']:>8.2f}{r['infer_img_s']:>13.0f}{r['infer_img_s']/t['infer_img_s']:>8.2f}")
    if r is not t:  # issue 19's goals: ≥ 2× PyTorch with OpenBLAS, ≥ 1× in pure Go
        goal = 2 if "openblas" in name else 1
        emit("nn", f"{arch} training, batch {t['batch']}", name, r["train_img_s"], "PyTorch 1.13 (2 threads)", t["train_img_s"], "img/s", goal=goal)
        emit("nn", f"{arch} inference, batch {t['batch']}", name, r["infer_img_s"], "PyTorch 1.13 (2 threads)", t["infer_img_s"], "img/s", goal=goal)
PY
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
