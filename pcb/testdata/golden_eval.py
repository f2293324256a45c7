#!/usr/bin/env python3
"""Golden values for pcb.Evaluate, computed independently with numpy.

Run from this directory: python3 golden_eval.py
Writes eval_gt.txt ("image x1 y1 x2 y2 type"), eval_det.txt
("image x1,y1,x2,y2,confidence,type") and eval_golden.json.

Protocol (the DeepPCB authors'): per defect type, detections ranked by
decreasing confidence (ties: image, then detection order; numpy's stable
argsort) each take the unmatched same-type box of their image with the
largest IoU when it is > 0.33. AP = sum of precision at each correct
detection / number of boxes (the authors' compute_ap, no interpolation).
mAP = mean over types. Pooled AP: all types' ranked lists concatenated in
type order, then ranked again (stable) by confidence. Best F-score over
thresholds "confidence >= t" (t a detection's confidence).
"""
import json
import numpy as np

NAMES = ["open", "short", "mousebite", "spur", "copper", "pin-hole"]
rng = np.random.default_rng(21)
gt, det = [], []  # (img, x1, y1, x2, y2, cls) / (img, x1, y1, x2, y2, conf, cls)
for img in range(24):
    for _ in range(rng.integers(3, 11)):
        w, h = rng.integers(15, 60, size=2)
        x1, y1 = rng.integers(0, 640 - 60, size=2)
        c = int(rng.integers(1, 7))
        gt.append((img, x1, y1, x1 + w, y1 + h, c))
    mine = [g for g in gt if g[0] == img]
    for g in mine:
        for _ in range(rng.choice([0, 1, 1, 1, 2])):  # missed, found, duplicated
            j = rng.integers(-12, 13, size=4)
            x1, y1 = max(0, g[1] + j[0]), max(0, g[2] + j[1])
            x2, y2 = min(640, max(x1 + 1, g[3] + j[2])), min(640, max(y1 + 1, g[4] + j[3]))
            c = g[5] if rng.random() < 0.85 else int(rng.integers(1, 7))
            det.append((img, x1, y1, x2, y2, round(float(rng.random()), 2), c))
    for _ in range(rng.integers(0, 4)):  # false positives
        x1, y1 = rng.integers(0, 600, size=2)
        w, h = rng.integers(5, 40, size=2)
        det.append((img, x1, y1, x1 + w, y1 + h, round(float(rng.random()), 2), int(rng.integers(1, 7))))

gt = np.array(gt, dtype=float)
det = np.array(det, dtype=float)


def iou(b, boxes):
    iw = np.minimum(b[2], boxes[:, 2]) - np.maximum(b[0], boxes[:, 0])
    ih = np.minimum(b[3], boxes[:, 3]) - np.maximum(b[1], boxes[:, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
    return inter / (area(b) + area(boxes) - inter)


def compute_ap(tp, n_gt):
    correct = np.cumsum(tp)
    ranks = np.arange(1, len(tp) + 1)
    return float(np.sum(np.where(tp, correct / ranks, 0.0)) / n_gt)


per_class, pooled_conf, pooled_tp = [], [], []
for c in range(1, 7):
    d = det[det[:, 6] == c]
    order = np.argsort(-d[:, 5], kind="stable")
    d = d[order]
    g_idx = np.where(gt[:, 5] == c)[0]
    used = np.zeros(len(gt), dtype=bool)
    tp = np.zeros(len(d), dtype=bool)
    for i, row in enumerate(d):
        cand = g_idx[(gt[g_idx, 0] == row[0]) & ~used[g_idx]]
        if len(cand) == 0:
            continue
        v = iou(row[1:5], gt[cand, 1:5])
        k = int(np.argmax(v))
        if v[k] > 0.33:
            used[cand[k]] = True
            tp[i] = True
    per_class.append({"class": NAMES[c - 1], "gt": int(len(g_idx)), "detections": int(len(d)),
                      "correct": int(tp.sum()), "ap": compute_ap(tp, len(g_idx))})
    pooled_conf.append(d[:, 5])
    pooled_tp.append(tp)

conf = np.concatenate(pooled_conf)
tp = np.concatenate(pooled_tp)
order = np.argsort(-conf, kind="stable")
conf, tp = conf[order], tp[order]
n_gt = len(gt)
best = None
for t in np.unique(conf)[::-1]:
    keep = conf >= t
    p = tp[keep].sum() / keep.sum()
    r = tp[keep].sum() / n_gt
    f = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    if best is None or f > best[0]:
        best = (float(f), float(p), float(r), float(t))

out = {"per_class": per_class, "map": float(np.mean([c["ap"] for c in per_class])),
       "pooled_ap": compute_ap(tp, n_gt), "f": best[0], "precision": best[1], "recall": best[2],
       "threshold": best[3], "gt": int(n_gt), "detections": int(len(det)), "images": 24}
with open("eval_gt.txt", "w") as f:
    for r in gt.astype(int):
        f.write("%d %d %d %d %d %d\n" % tuple(r))
with open("eval_det.txt", "w") as f:
    for r in det:
        f.write("%d %d,%d,%d,%d,%.2f,%s\n" % (r[0], r[1], r[2], r[3], r[4], r[5], NAMES[int(r[6]) - 1]))
with open("eval_golden.json", "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps({k: v for k, v in out.items() if k != "per_class"}))
