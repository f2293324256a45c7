"""Golden values for transfer's tests, computed independently with numpy
(float64): MI-FGSM iterates (Dong et al. 2018) on a fixed linear softmax
model, the l2 measure of the final perturbations, and Pearson / Spearman
(average ranks for ties) correlations.

Regenerate: /usr/bin/python3 transfer/testdata/mifgsm_golden.py > transfer/testdata/mifgsm_golden.json
"""
import json

import numpy as np

rng = np.random.default_rng(7)
n, d, k = 5, 12, 3
W = rng.normal(0, 3, (k, d)).round(4)
b = rng.normal(0, 0.1, k).round(4)
x = rng.uniform(0, 1, (n, d)).round(4)
x[:, :3] = 0.0   # pixels at the box edges, where the [0, 1] clip binds
x[:, 3] = 1.0
x[0, 4] = 0.05
y = np.array([0, 1, 2, 0, 1])
eps, steps, decay = 0.3, 5, 1.0
alpha = eps / steps


def ce_grad(xc):
    """Input gradient of the mean cross-entropy (the ascent direction)."""
    z = xc @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    e = np.zeros_like(p)
    e[np.arange(n), y] = 1
    return (p - e) @ W / n


iterates = []
xc = x.copy()
g = np.zeros_like(x)
for t in range(steps):
    gr = ce_grad(xc)
    g = decay * g + gr / np.abs(gr).sum(1, keepdims=True)
    xc = xc + alpha * np.sign(g)
    xc = np.clip(xc, np.maximum(x - eps, 0), np.minimum(x + eps, 1))
    iterates.append(xc.copy())

delta = xc - x
l2 = np.sqrt((delta ** 2).sum(1))
linf = np.abs(delta).max(1)
ratio = l2 / (eps * np.sqrt(d))


def ranks(v):
    v = np.asarray(v, dtype=float)
    order = np.argsort(v, kind="stable")
    r = np.empty(len(v))
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return r


cx = [0.7, 0.9, 0.8, 0.8, 0.95, 0.6, 0.72]
cy = [0.10, 0.40, 0.35, 0.20, 0.50, 0.05, 0.35]
print(json.dumps({
    "W": W.ravel().tolist(), "b": b.tolist(), "x": x.ravel().tolist(), "y": y.tolist(),
    "n": n, "d": d, "k": k, "eps": eps, "steps": steps, "decay": decay,
    "iterates": [it.ravel().tolist() for it in iterates],
    "l2": l2.tolist(), "linf": linf.tolist(), "ratio": ratio.tolist(),
    "corr_x": cx, "corr_y": cy,
    "pearson": float(np.corrcoef(cx, cy)[0, 1]),
    "spearman": float(np.corrcoef(ranks(cx), ranks(cy))[0, 1]),
}, indent=1))
