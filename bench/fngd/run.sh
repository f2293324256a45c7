#!/usr/bin/env bash
# Natural-gradient comparison (README "Natural gradient"): sgd, adam, exact
# damped NGD and FNGD training the MLP on the embedded Fashion-MNIST subset,
# same epochs and batch, 3 seeds, one thread each (GOMAXPROCS=1).
# Usage: bench/fngd/run.sh [trustml binary] [out dir]; then
#   python3 bench/fngd/table.py OUTDIR
set -euo pipefail
bin=${1:-./trustml}
out=${2:-/tmp/fngd-bench}
epochs=${EPOCHS:-2}
batch=${BATCH:-32}
mkdir -p "$out"
for seed in 1 2 3; do
  for spec in "sgd 0.05" "adam 0.001" "ngd 0.01" "fngd 0.01"; do
    set -- $spec
    GOMAXPROCS=1 "$bin" train --arch mlp --optimizer "$1" --lr "$2" --epochs "$epochs" --batch "$batch" \
      --seed "$seed" --out "$out/$1-$seed.ckpt" --json 2>/dev/null >"$out/$1-$seed.json"
    echo "$1 seed $seed done"
  done
done
