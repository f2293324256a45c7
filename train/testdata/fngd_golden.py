"""Golden for train/fngd_test.go: per-sample gradients of a tiny MLP
(Flatten, Dense 4→5, ReLU, Dense 5→3, softmax cross-entropy) and the
layer-wise damped natural direction (F_l + λI)^{-1} ḡ_l computed directly
(a D_l×D_l solve) and through the n×n Sherman–Morrison–Woodbury form.

Regenerate: /usr/bin/python3 train/testdata/fngd_golden.py > train/testdata/fngd_golden.json
"""
import json
import numpy as np

rng = np.random.default_rng(17)
n, din, h, k, lam = 6, 4, 5, 3, 0.05
W1 = rng.normal(0, 0.6, (h, din)).astype(np.float32).astype(np.float64)
b1 = rng.normal(0, 0.1, h).astype(np.float32).astype(np.float64)
W2 = rng.normal(0, 0.6, (k, h)).astype(np.float32).astype(np.float64)
b2 = rng.normal(0, 0.1, k).astype(np.float32).astype(np.float64)
x = rng.normal(0, 1, (n, din)).astype(np.float32).astype(np.float64)
y = rng.integers(0, k, n)

G = []  # per-sample gradients, flat in nn's parameter order
for i in range(n):
    z1 = W1 @ x[i] + b1
    a1 = np.maximum(z1, 0)
    z2 = W2 @ a1 + b2
    p = np.exp(z2 - z2.max()); p /= p.sum()
    d2 = p.copy(); d2[y[i]] -= 1
    gW2, gb2 = np.outer(d2, a1), d2
    d1 = (W2.T @ d2) * (z1 > 0)
    gW1, gb1 = np.outer(d1, x[i]), d1
    G.append(np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2]))
G = np.array(G)  # n×D

blocks = [(0, h * din + h), (h * din + h, k * h + k)]
direct, smw = np.zeros(G.shape[1]), np.zeros(G.shape[1])
coef = []
for off, size in blocks:
    Gl = G[:, off:off + size]            # n×D_l, rows g_i
    F = Gl.T @ Gl / n
    gbar = Gl.mean(axis=0)
    direct[off:off + size] = np.linalg.solve(F + lam * np.eye(size), gbar)
    c = np.linalg.solve(Gl @ Gl.T + n * lam * np.eye(n), np.ones(n))
    smw[off:off + size] = Gl.T @ c
    coef.append(c.tolist())
assert np.allclose(direct, smw, atol=1e-10)

json.dump({
    "lambda": lam, "n": n, "in": din, "hidden": h, "classes": k,
    "weights": np.concatenate([W1.ravel(), b1, W2.ravel(), b2]).tolist(),
    "x": x.ravel().tolist(), "y": y.tolist(),
    "per_sample": G.ravel().tolist(),
    "direct": direct.tolist(), "smw": smw.tolist(), "coef": coef,
}, __import__("sys").stdout, indent=1)
