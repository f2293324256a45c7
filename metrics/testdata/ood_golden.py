#!/usr/bin/python3
"""Regenerate ood_golden.json: scikit-learn's roc_curve (drop_intermediate=False),
roc_auc_score and average_precision_score on OoD score sets, some with ties.

Run with Debian's python3 (scikit-learn 1.2.1):  /usr/bin/python3 gen_metrics.py
Convention: scores are higher = more in-distribution. AUPR-In uses ID as the
positive class on the scores; AUPR-Out uses OoD as positive on the negated
scores. FPR95 (ID positive) is the FPR at the first ROC point whose TPR >= 0.95.
"""
import json
import numpy as np
import sklearn
from sklearn.metrics import roc_curve, roc_auc_score, average_precision_score


def case(name, id_s, ood_s):
    id_s = np.asarray(id_s, dtype=float)
    ood_s = np.asarray(ood_s, dtype=float)
    s = np.concatenate([id_s, ood_s])
    y = np.concatenate([np.ones(len(id_s)), np.zeros(len(ood_s))])
    out = {"name": name, "id": id_s.tolist(), "ood": ood_s.tolist()}
    for pos, yy, ss in (("in", y, s), ("out", 1 - y, -s)):
        fpr, tpr, thr = roc_curve(yy, ss, drop_intermediate=False)
        i = int(np.searchsorted(tpr, 0.95, side="left"))
        out[pos] = {
            "fpr": fpr.tolist(), "tpr": tpr.tolist(),
            "thresholds": thr[1:].tolist(),  # thr[0] is the +inf / max+1 sentinel
            "auroc": roc_auc_score(yy, ss),
            "aupr": average_precision_score(yy, ss),
            "fpr95": float(fpr[i]),
        }
    return out


rng = np.random.default_rng(0)
cases = [
    case("separable", [3, 4, 5, 6], [0, 1, 2]),
    case("reversed", [0, 1], [5, 6, 7]),
    case("all-tied", [1, 1, 1], [1, 1]),
    case("small-ties", [0.9, 0.8, 0.8, 0.5, 0.3], [0.8, 0.4, 0.3, 0.1]),
    case("gauss", rng.normal(1, 1, 200), rng.normal(0, 1, 150)),
    case("gauss-rounded", np.round(rng.normal(0.5, 1, 300), 1), np.round(rng.normal(0, 1, 250), 1)),
    case("integers", rng.integers(0, 5, 100).astype(float), rng.integers(0, 4, 80).astype(float)),
    case("unbalanced", rng.normal(2, 1, 20), rng.normal(0, 1.5, 400)),
]
with open("ood_golden.json", "w") as f:
    json.dump({"sklearn": sklearn.__version__, "cases": cases}, f)
