#!/usr/bin/python3
"""Regenerate the score files and score_files.json: OoD metrics of score files
by scikit-learn, for "trustml ood metrics" (ood.MetricsFiles).

Scores are higher = more in-distribution. id.npy (float64) and ood.npy
(float32, shape (n, 1)) hold the same values as id.txt and ood.txt (text, one
per line, with a comment and blank lines); err_id.npy and err_ood.txt hold
the negated scores (higher = more OoD, --higher-is-id=false). Rounded to 2
decimals so that there are ties. The metrics follow
metrics/testdata/ood_golden.py: AUROC and AUPR-In with ID positive,
AUPR-Out with OoD positive on the negated scores, FPR95 the FPR at the first
ROC point whose TPR >= 0.95.

Run with Debian's python3 (scikit-learn):  /usr/bin/python3 score_files.py
"""
import json
import numpy as np
from sklearn.metrics import roc_curve, roc_auc_score, average_precision_score

rng = np.random.default_rng(3)
id_s = np.round(rng.normal(1, 1, 300), 2)
ood_s = np.round(rng.normal(0, 1.2, 200), 2).astype(np.float32).astype(np.float64)

s = np.concatenate([id_s, ood_s])
y = np.concatenate([np.ones(len(id_s)), np.zeros(len(ood_s))])
fpr, tpr, _ = roc_curve(y, s, drop_intermediate=False)
out = {
    "auroc": roc_auc_score(y, s),
    "aupr_in": average_precision_score(y, s),
    "aupr_out": average_precision_score(1 - y, -s),
    "fpr95": float(fpr[int(np.searchsorted(tpr, 0.95, side="left"))]),
}
np.save("id.npy", id_s)
np.save("ood.npy", ood_s.astype(np.float32).reshape(-1, 1))
np.save("err_id.npy", -id_s)
with open("id.txt", "w") as f:
    f.write("# ID scores, higher = more in-distribution\n")
    f.write("\n".join(repr(float(v)) for v in id_s) + "\n\n")
for name, v in (("ood.txt", ood_s), ("err_ood.txt", -ood_s)):
    with open(name, "w") as f:
        f.write("\r\n".join("  %r " % float(x) for x in v) + "\n")
with open("score_files.json", "w") as f:
    json.dump(out, f, indent=1)
print(out)
