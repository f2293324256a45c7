#!/bin/sh
# Load benchmark of "trustml serve" on loopback (127.0.0.1 only): single-image
# v2 requests (one embedded Fashion-MNIST test image) from 64 concurrent
# connections with Debian's wrk, against the default model with and without
# AAA, with and without dynamic batching. Server and load generator share the
# machine. Each run is bounded in time (DURATION) and count (MAX_PER_THREAD
# replies per wrk thread).
#
#   bench/serve/run.sh                         # OpenBLAS build
#   TAGS= bench/serve/run.sh                   # pure-Go build
#   DURATION=20s WORKERS=2 bench/serve/run.sh
#
# Columns: requests answered, requests/s, wrk's p50 and p99 latency, mean
# images per forward pass, the defense's share of the forward pass
# (defense / (model + defense) time) and of the server's CPU time, the CPU
# cores the server used on average, and wrk's error count (non-2xx replies,
# socket errors, timeouts). Other load on the machine shows in "srv cores".
set -eu
cd "$(dirname "$0")/../.."
TAGS=${TAGS-openblas}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
MAX_PER_THREAD=${MAX_PER_THREAD:-100000}
WORKERS=${WORKERS:-1}
MAX_DELAY=${MAX_DELAY:-2ms}
PORT=${PORT:-18931}
OUT=${OUT:-$(mktemp -d)}
command -v wrk >/dev/null || { echo "bench/serve: needs wrk (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench/serve: needs curl" >&2; exit 1; }
go build -tags "$TAGS" -o "$OUT/trustml" ./cmd/trustml
go build -o "$OUT/helper" ./bench/serve
"$OUT/helper" body > "$OUT/body.json"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "build tags '$TAGS'; wrk -t$THREADS -c$CONNS -d$DURATION (after a $WARMUP warm-up), workers $WORKERS, max delay $MAX_DELAY"
base=http://127.0.0.1:$PORT
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT INT TERM

run() {
  label=$1
  shift
  "$OUT/trustml" serve --addr "127.0.0.1:$PORT" --log-level warn --workers "$WORKERS" "$@" 2>"$OUT/server.log" &
  pid=$!
  i=0
  until curl -sf "$base/v2/health/ready" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then cat "$OUT/server.log" >&2; exit 1; fi
    sleep 0.05
  done
  url=$base/v2/models/fashion-cnn/infer
  BODY=$OUT/body.json MAX_PER_THREAD=0 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s bench/serve/post.lua "$url" >/dev/null
  curl -sf "$base/metrics" >"$OUT/m0.txt"
  BODY=$OUT/body.json MAX_PER_THREAD=$MAX_PER_THREAD wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s \
    -s bench/serve/post.lua "$url" >"$OUT/wrk.txt"
  curl -sf "$base/metrics" >"$OUT/m1.txt"
  kill -TERM "$pid"
  wait "$pid"
  pid=
  "$OUT/helper" report -label "$label" -wrk "$OUT/wrk.txt" -before "$OUT/m0.txt" -after "$OUT/m1.txt"
}

"$OUT/helper" header
run "aaa-linear, batching" --defense aaa-linear --max-batch 64 --max-delay "$MAX_DELAY"
run "none, batching" --defense none --max-batch 64 --max-delay "$MAX_DELAY"
run "aaa-linear, no batching" --defense aaa-linear --max-batch 1
run "none, no batching" --defense none --max-batch 1
