#!/bin/sh
# Load benchmark of "trustml serve" on loopback (127.0.0.1 only): single-image
# v2 requests (one embedded Fashion-MNIST test image) from 64 concurrent
# clients against the default model. Server and load generator share the
# machine. Each run is bounded in time (DURATION).
#
# Part 1, the wires: one server (AAA, dynamic batching, HTTP and --grpc)
# answers, in ROUNDS interleaved rounds, JSON and binary-tensor HTTP from wrk
# (a C load generator) and JSON, binary HTTP and gRPC from bench/serve's Go
# load generator; then the median of each column per wire.
# Part 2 (DEFENSES=1, the default): wrk with JSON against a fresh server per
# configuration, with and without AAA, with and without dynamic batching.
#
#   bench/serve/run.sh                         # OpenBLAS build
#   TAGS= bench/serve/run.sh                   # pure-Go build
#   DURATION=20s ROUNDS=5 DEFENSES=0 bench/serve/run.sh
#
# Columns: requests answered, requests/s, the load generator's p50 and p99
# latency, mean images per forward pass, the defense's share of the forward
# pass (defense / (model + defense) time) and of the server's CPU time, the
# CPU cores the server and the Go load generator used on average (wrk's is
# not measured: "-"), the server's CPU time per request (the column least
# sensitive to other load), and errors (non-2xx replies, socket errors,
# timeouts).
# Other load on the machine shows in the load average printed around runs.
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
ROUNDS=${ROUNDS:-3}
DEFENSES=${DEFENSES:-1}
PORT=${PORT:-18931}
GPORT=${GPORT:-18932}
OUT=${OUT:-$(mktemp -d)}
command -v curl >/dev/null || { echo "bench/serve: needs curl" >&2; exit 1; }
HAVE_WRK=1
command -v wrk >/dev/null || { HAVE_WRK=0; echo "bench/serve: no wrk (apt-get install wrk): wrk rows skipped" >&2; }
go build -tags "$TAGS" -o "$OUT/trustml" ./cmd/trustml
go build -o "$OUT/helper" ./bench/serve
"$OUT/helper" body > "$OUT/body.json"
"$OUT/helper" body -binary -header-len "$OUT/header-len.txt" > "$OUT/body.bin"
load() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(load)"
echo "build tags '$TAGS'; $CONNS clients, $DURATION per run (after a $WARMUP warm-up), workers $WORKERS, max delay $MAX_DELAY"
base=http://127.0.0.1:$PORT
url=$base/v2/models/fashion-cnn
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; true' EXIT INT TERM

start() {
  "$OUT/trustml" serve --addr "127.0.0.1:$PORT" --grpc "127.0.0.1:$GPORT" --log-level warn --workers "$WORKERS" "$@" 2>"$OUT/server.log" &
  pid=$!
  i=0
  until curl -sf "$base/v2/health/ready" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then cat "$OUT/server.log" >&2; exit 1; fi
    sleep 0.05
  done
}

stop() {
  kill -TERM "$pid"
  wait "$pid"
  pid=
}

# wrkrun LABEL BODY HEADER_LEN [ROWS]: one wrk run against the running server.
wrkrun() {
  BODY=$2 HEADER_LEN=$3 MAX_PER_THREAD=0 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s bench/serve/post.lua "$url/infer" >/dev/null
  curl -sf "$base/metrics" >"$OUT/m0.txt"
  BODY=$2 HEADER_LEN=$3 MAX_PER_THREAD=$MAX_PER_THREAD wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --timeout 5s \
    -s bench/serve/post.lua "$url/infer" >"$OUT/run.txt"
  curl -sf "$base/metrics" >"$OUT/m1.txt"
  "$OUT/helper" report -label "$1" -wrk "$OUT/run.txt" -before "$OUT/m0.txt" -after "$OUT/m1.txt" ${4:+-json "$4"}
}

# gorun LABEL MODE [ROWS]: one run of the Go load generator.
gorun() {
  target=$url
  [ "$2" = grpc ] && target=127.0.0.1:$GPORT
  curl -sf "$base/metrics" >"$OUT/m0.txt"
  "$OUT/helper" load -mode "$2" -url "$target" -conns "$CONNS" -duration "$DURATION" -warmup "$WARMUP" >"$OUT/run.txt"
  curl -sf "$base/metrics" >"$OUT/m1.txt"
  "$OUT/helper" report -label "$1" -wrk "$OUT/run.txt" -before "$OUT/m0.txt" -after "$OUT/m1.txt" ${3:+-json "$3"}
}

echo
echo "wires: aaa-linear, batching (max batch 64); $ROUNDS interleaved rounds"
"$OUT/helper" header
rows=$OUT/wires.jsonl
: >"$rows"
start --defense aaa-linear --max-batch 64 --max-delay "$MAX_DELAY"
r=1
while [ $r -le "$ROUNDS" ]; do
  echo "round $r, $(load)"
  if [ $HAVE_WRK = 1 ]; then
    wrkrun "json, wrk" "$OUT/body.json" "" "$rows"
    wrkrun "binary, wrk" "$OUT/body.bin" "$(cat "$OUT/header-len.txt")" "$rows"
  fi
  gorun "json, go" json "$rows"
  gorun "binary, go" binary "$rows"
  gorun "grpc, go" grpc "$rows"
  r=$((r + 1))
done
stop
echo "medians, $(load)"
"$OUT/helper" medians "$rows"

if [ "$DEFENSES" = 1 ] && [ $HAVE_WRK = 1 ]; then
  echo
  echo "defenses and batching: JSON over wrk, one run each"
  "$OUT/helper" header
  for cfg in "aaa-linear, batching|--defense aaa-linear --max-batch 64 --max-delay $MAX_DELAY" \
    "none, batching|--defense none --max-batch 64 --max-delay $MAX_DELAY" \
    "aaa-linear, no batching|--defense aaa-linear --max-batch 1" \
    "none, no batching|--defense none --max-batch 1"; do
    # shellcheck disable=SC2086
    start ${cfg#*|}
    wrkrun "${cfg%%|*}" "$OUT/body.json" ""
    stop
  done
fi
