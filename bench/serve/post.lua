-- wrk script for bench/serve/run.sh: POST the same v2 inference request
-- ($BODY, JSON or binary) on every connection; each thread stops after $MAX_PER_THREAD
-- replies (0: no limit, wrk's -d bounds the time). done() prints one JSON
-- line that bench/serve reads.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- $HEADER_LEN set: $BODY is a binary tensor extension body whose JSON
-- header has that many bytes.
local hl = os.getenv("HEADER_LEN")
if hl and hl ~= "" then
  wrk.headers["Content-Type"] = "application/octet-stream"
  wrk.headers["Inference-Header-Content-Length"] = hl
end
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

local limit = tonumber(os.getenv("MAX_PER_THREAD") or "0")
local replies = 0

function response(status, headers, body)
  replies = replies + 1
  if limit > 0 and replies >= limit then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
