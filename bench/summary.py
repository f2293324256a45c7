"""Print `make bench`'s one table of ratios and write it as JSON.

usage: summary.py ROWS.jsonl OUT.json
ROWS.jsonl holds the rows the suites emitted (bench/emit.py). A ratio > 1
means trustml is better than the peer measured in the same run; goal is the
ratio issue 19 asks for, where it names one.
"""
import json
import sys


def main():
    rows_path, out_path = sys.argv[1], sys.argv[2]
    try:
        rows = [json.loads(l) for l in open(rows_path) if l.strip()]
    except FileNotFoundError:
        rows = []
    if not rows:
        print("no comparison rows were emitted (every suite failed or was skipped)")
        return 1
    w = max(len(f"{r['suite']}: {r['case']}") for r in rows)
    e = max(len(r["engine"]) for r in rows)
    print(f"{'comparison':<{w}}  {'engine':<{e}}  {'trustml':>10}  {'peer':>10}  {'unit':<8}  {'ratio':>6}  goal   peer")
    for r in rows:
        goal = r.get("goal")
        mark = "" if goal is None else (f"≥{goal:g} " + ("met" if r["ratio"] >= goal else "NOT met"))
        print(f"{r['suite'] + ': ' + r['case']:<{w}}  {r['engine']:<{e}}  {r['value']:>10.4g}  {r['peer_value']:>10.4g}  "
              f"{r['unit']:<8}  {r['ratio']:>6.2f}  {mark:<12} {r['peer']}{'  (' + r['note'] + ')' if r.get('note') else ''}")
    with open(out_path + ".tmp", "w") as f:
        json.dump({"rows": rows}, f, indent=1)
    import os
    os.replace(out_path + ".tmp", out_path)
    print(f"\nratio > 1: trustml better than the peer measured in the same run; JSON: {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
