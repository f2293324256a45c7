"""One row of `make bench`'s table (bench/all.sh, bench/summary.py).

A suite's summary step calls emit() for each comparison it measured; the row
is appended to the JSON-lines file $BENCH_JSONL (Go programs: package
bench/internal/benchrow), and nothing happens when
that variable is unset (the suite run on its own). ratio > 1 means trustml
is better: faster, or more throughput.
"""
import json
import os


def emit(suite, case, engine, ours, peer_name, peer, unit, higher_is_better=True, goal=None, note=""):
    path = os.environ.get("BENCH_JSONL")
    if not path or not ours or not peer:
        return
    ratio = ours / peer if higher_is_better else peer / ours
    row = {"suite": suite, "case": case, "engine": engine, "value": ours, "peer": peer_name,
           "peer_value": peer, "unit": unit, "higher_is_better": higher_is_better,
           "ratio": ratio, "goal": goal, "note": note}
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")
