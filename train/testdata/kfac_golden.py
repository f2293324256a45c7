"""Golden for train/kfac_test.go: two K-FAC steps (Martens & Grosse 2015,
empirical Fisher, factored Tikhonov damping with π, running averages with
ε_k = min(1 − 1/k, decay), KL clip, plain SGD base) on a tiny MLP
(Flatten, Dense 4→5, ReLU, Dense 5→3, softmax cross-entropy), each on its
own batch, inverses recomputed at both steps. Independent of the Go code:
forward and backward by hand in float64, the damped Kronecker inverse
applied as an explicit (A⊗G + …) solve per layer is checked against the
factored form.

Regenerate: /usr/bin/python3 train/testdata/kfac_golden.py > train/testdata/kfac_golden.json
"""
import json
import sys
import numpy as np

rng = np.random.default_rng(23)
n, din, h, k = 6, 4, 5, 3
lam, decay, klclip, lr = 0.01, 0.95, 0.05, 0.5
f32 = lambda a: a.astype(np.float32).astype(np.float64)
W1, b1 = f32(rng.normal(0, 0.6, (h, din))), f32(rng.normal(0, 0.1, h))
W2, b2 = f32(rng.normal(0, 0.6, (k, h))), f32(rng.normal(0, 0.1, k))
w0 = np.concatenate([W1.ravel(), b1, W2.ravel(), b2])
batches = [(f32(rng.normal(0, 1, (n, din))), rng.integers(0, k, n)) for _ in range(2)]

def unpack(w):
    o = 0
    W1 = w[o:o + h * din].reshape(h, din); o += h * din
    b1 = w[o:o + h]; o += h
    W2 = w[o:o + k * h].reshape(k, h); o += k * h
    b2 = w[o:o + k]
    return W1, b1, W2, b2

A = [np.zeros((din + 1, din + 1)), np.zeros((h + 1, h + 1))]
G = [np.zeros((h, h)), np.zeros((k, k))]
w = w0.copy()
steps = []
for step, (x, y) in enumerate(batches, 1):
    W1, b1, W2, b2 = unpack(w)
    z1 = x @ W1.T + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2.T + b2
    p = np.exp(z2 - z2.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    d2 = p.copy(); d2[np.arange(n), y] -= 1; d2 /= n       # ∂(mean loss)/∂z2
    d1 = (d2 @ W2) * (z1 > 0)
    grads = [np.hstack([d1.T @ x, d1.sum(0)[:, None]]), np.hstack([d2.T @ a1, d2.sum(0)[:, None]])]
    ins = [np.hstack([x, np.ones((n, 1))]), np.hstack([a1, np.ones((n, 1))])]
    outs = [d1 * n, d2 * n]                                 # per-sample loss gradients
    eps = min(1 - 1 / step, decay)
    vs, vg = [], 0.0
    for l in range(2):
        A[l] = eps * A[l] + (1 - eps) * ins[l].T @ ins[l] / n
        G[l] = eps * G[l] + (1 - eps) * outs[l].T @ outs[l] / n
        pi = np.sqrt((np.trace(A[l]) / len(A[l])) / (np.trace(G[l]) / len(G[l])))
        Ad = A[l] + pi * np.sqrt(lam) * np.eye(len(A[l]))
        Gd = G[l] + np.sqrt(lam) / pi * np.eye(len(G[l]))
        v = np.linalg.solve(Gd, grads[l]) @ np.linalg.inv(Ad)
        # the same through the Kronecker product: vec(V) = (Ad ⊗ Gd)^{-1} vec(∇), column-major vec
        vk = np.linalg.solve(np.kron(Ad, Gd), grads[l].ravel(order="F")).reshape(grads[l].shape, order="F")
        assert np.allclose(v, vk, atol=1e-10)
        vs.append(v)
        vg += (v * grads[l]).sum()
    nu = min(1.0, np.sqrt(klclip / (vg * lr * lr)))
    flat = []
    for v in vs:
        flat += [v[:, :-1].ravel(), v[:, -1]]
    d = nu * np.concatenate(flat)
    g = np.concatenate([grads[0][:, :-1].ravel(), grads[0][:, -1], grads[1][:, :-1].ravel(), grads[1][:, -1]])
    w = w - lr * d
    steps.append({"nu": nu, "grad": g.tolist(), "direction": d.tolist(), "weights": w.tolist()})

json.dump({"lambda": lam, "decay": decay, "kl_clip": klclip, "lr": lr, "n": n, "in": din, "hidden": h, "classes": k,
           "weights": w0.tolist(), "x": [b[0].ravel().tolist() for b in batches], "y": [b[1].tolist() for b in batches],
           "steps": steps}, sys.stdout, indent=1)
