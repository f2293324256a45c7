#!/usr/bin/python3
"""Independent solve of a tiny robust newsvendor (kernels.md §11) with scipy.

Regenerate: /usr/bin/python3 robustopt/testdata/golden.py > robustopt/testdata/golden.json
Inner max over the RKHS ball by SLSQP, outer min by bounded Brent search.
"""
import json
import numpy as np
from scipy.optimize import minimize, minimize_scalar

sources = [[90, 110, 95], [120, 130, 100], [80, 85, 105], [100, 115, 98]]
level, h, b, lo, hi = 0.9, 1.0, 4.0, 0.0, 200.0
pts = np.array([v for s in sources for v in s], float)
S = len(pts)
d = np.abs(pts[:, None] - pts[None, :])[np.triu_indices(S, 1)]
sigma = np.median(d)
K = np.exp(-((pts[:, None] - pts[None, :]) ** 2) / (2 * sigma**2))
W = np.zeros((len(sources), S))
o = 0
for k, s in enumerate(sources):
    W[k, o:o + len(s)] = 1 / len(s)
    o += len(s)
c = W.mean(0)
dist = np.sqrt([max((w - c) @ K @ (w - c), 0) for w in W])
r = np.quantile(dist, level)  # linear interpolation


def loss(x):
    return h * np.maximum(x - pts, 0) + b * np.maximum(pts - x, 0)


def worst(x):
    l = loss(x)
    best = -np.inf
    for w0 in [c] + [np.eye(S)[i] * 0.3 + c * 0.7 for i in range(S)]:
        res = minimize(lambda w: -l @ w, w0, jac=lambda w: -l, method="SLSQP",
                       bounds=[(0, 1)] * S,
                       constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1},
                                    {"type": "ineq", "fun": lambda w: r**2 - (w - c) @ K @ (w - c)}],
                       options={"ftol": 1e-12, "maxiter": 500})
        if res.success and r**2 - (res.x - c) @ K @ (res.x - c) > -1e-9:
            best = max(best, l @ res.x)
    return best


res = minimize_scalar(worst, bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
xs = np.linspace(lo, hi, 2001)
saa = xs[np.argmin([loss(x) @ c for x in xs])]
print(json.dumps({"radius": r, "x": res.x, "value": res.fun, "worst_at_130": worst(130.0),
                  "saa_nominal": float(loss(saa) @ c)}, indent=1))
