"""Markdown table of bench/fngd/run.sh's outputs: per optimizer, the median
time per update in epoch 1 and in the last epoch (over seeds), the test
accuracy (mean ± std over seeds) and accuracy per wall-clock second of
training."""
import glob, json, os, statistics as st, sys

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/fngd-bench"
rows = {}
for f in sorted(glob.glob(os.path.join(d, "*.json"))):
    if os.path.getsize(f) == 0:
        continue
    name = os.path.basename(f).rsplit("-", 1)[0]
    r = json.load(open(f))
    h = r["history"]
    steps = [h[0]["step"]] + [b["step"] - a["step"] for a, b in zip(h, h[1:])]
    per = [e["elapsed_ns"] / 1e6 / s for e, s in zip(h, steps)]
    train_s = sum(e["elapsed_ns"] for e in h) / 1e9
    rows.setdefault(name, []).append((per[0], per[-1], r["test"]["accuracy"], train_s))
print("| optimizer | ms/update, epoch 1 | ms/update, last epoch | train s | test acc. | acc./s |")
print("|---|---|---|---|---|---|")
for name in ["sgd", "adam", "ngd", "fngd"]:
    if name not in rows:
        continue
    v = rows[name]
    acc = [a for _, _, a, _ in v]
    ts = st.median(t for *_, t in v)
    print(f"| {name} | {st.median(p for p, *_ in v):.2f} | {st.median(p for _, p, *_ in v):.2f} | {ts:.1f} | "
          f"{100*st.mean(acc):.2f} ± {100*st.stdev(acc) if len(acc) > 1 else 0:.2f}% | {100*st.mean(acc)/ts:.2f} %/s |")
print(f"\n{len(next(iter(rows.values())))} seeds; medians of the per-seed timings.")
