#!/usr/bin/env bash
# Benchmark: one PGD-AT training step (PGD-10 at eps 0.1, then SGD) of the
# default CNN, batch 128, in trustml (pure-Go and OpenBLAS builds) and
# PyTorch (Debian python3-torch, torch.set_num_threads(2)) in one run. The
# engines take turns for ROUNDS rounds (interleaved, so that load on the
# machine hits them alike); each round times STEPS steps after a warm-up
# step. Prints the median images/s over the rounds and the ratio to PyTorch.
#
#   bash bench/at/run.sh
#   ROUNDS=7 STEPS=5 bash bench/at/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/pure" ./bench/at
engines="pure"
if go build -tags openblas -o "$tmp/openblas" ./bench/at 2>/dev/null; then engines="pure openblas"; fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  for e in $engines; do GOMAXPROCS=2 "$tmp/$e" -steps "$STEPS" >> "$tmp/$e.jsonl"; done
  /usr/bin/python3 bench/at/torch_at.py --steps "$STEPS" --threads 2 >> "$tmp/torch.jsonl"
done
/usr/bin/python3 - "$tmp" $engines <<'PY'
import json, statistics, sys
sys.path.insert(0, "bench")
from emit import emit
d, engines = sys.argv[1], sys.argv[2:]
def load(name):
    rows = [json.loads(l) for l in open(f"{d}/{name}.jsonl")]
    return rows[0]["engine"], [r["median_img_s"] for r in rows]
tn, tr = load("torch")
tm = statistics.median(tr)
print(f"PGD-AT step (PGD-10 + SGD), default CNN, batch 128: images/s, median of {len(tr)} interleaved rounds")
print(f"{'engine':<34}{'img/s':>8}{'ratio':>8}   rounds")
for name, rates in [load(e) for e in engines] + [(tn, tr)]:
    m = statistics.median(rates)
    print(f"{name:<34}{m:>8.1f}{m / tm:>8.2f}   " + " ".join(f"{v:.0f}" for v in rates))
    if name != tn:
        emit("at", "PGD-AT step, default CNN, batch 128", name, m, tn, tm, "img/s", goal=2)
PY
