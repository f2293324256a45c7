#!/usr/bin/python3
"""Golden values for protect/golden_test.go, computed independently of Go.

1. The signed descent step shared by SEP and error-minimizing noise
   (protect/step.go), in PyTorch (float64): x <- clip(Pi_eps(x - alpha *
   sign(sum_k grad_x CE(f_k(x), labels))), 0, 1), CE the mean cross-entropy,
   for tiny tanh MLPs f_k(x) = W2 tanh(W1 x + b1) + b2 with weights drawn
   here. "sep": two models, targets (y + K/2) mod K, 6 steps; "em": one
   model, the true labels, 6 steps from a uniform random start (written
   out).
2. The one-pixel-shortcut search (protect/ops.go) in numpy: for each class,
   position and corner colour, mean/std of |v - x| over the class's images
   and channels (population std), pairs that change nothing skipped, a
   constant nonzero change scoring +inf, the best pair not taken by an
   earlier class, ties to the smallest position then colour index.

Regenerate with
    /usr/bin/python3 protect/testdata/golden.py > protect/testdata/golden.json
(torch 1.13, numpy).
"""
import json

import numpy as np
import torch

rng = np.random.default_rng(20211)
C, H, W = 1, 4, 4
D, HID, K, N = C * H * W, 8, 4, 6


def mlp():
    return dict(
        w1=(rng.standard_normal((HID, D)) * 2 / np.sqrt(D)).astype(np.float32),
        b1=(rng.standard_normal(HID) * 0.5).astype(np.float32),
        w2=(rng.standard_normal((K, HID)) * 2).astype(np.float32),
        b2=(rng.standard_normal(K) * 0.5).astype(np.float32),
    )


def forward(m, x):
    t = {k: torch.from_numpy(v.astype(np.float64)) for k, v in m.items()}
    return torch.tanh(x @ t["w1"].T + t["b1"]) @ t["w2"].T + t["b2"]


def descend(models, x0, xstart, labels, eps, alpha, steps):
    x0t = torch.from_numpy(x0.astype(np.float64))
    lo, hi = torch.clamp(x0t - eps, min=0), torch.clamp(x0t + eps, max=1)
    x = torch.from_numpy(xstart.astype(np.float64))
    y = torch.from_numpy(labels)
    for _ in range(steps):
        x.requires_grad_(True)
        g = torch.zeros_like(x)
        for m in models:
            loss = torch.nn.functional.cross_entropy(forward(m, x), y)
            g = g + torch.autograd.grad(loss, x)[0]
        with torch.no_grad():
            x = torch.minimum(torch.maximum(x - alpha * torch.sign(g), lo), hi)
    return x.detach().numpy()


x0 = rng.random((N, D)).astype(np.float32)
y = rng.integers(0, K, N)
models = [mlp(), mlp()]
eps = 0.05
cases = []
sep_t = (y + K // 2) % K
cases.append(dict(name="sep", models=[0, 1], labels=sep_t.tolist(), eps=eps, alpha=0.02, steps=6,
                  start=x0.tolist(), want=descend([models[0], models[1]], x0, x0, sep_t, eps, 0.02, 6).tolist()))
start = np.clip(x0 + rng.uniform(-eps, eps, x0.shape), np.maximum(x0 - eps, 0), np.minimum(x0 + eps, 1)).astype(np.float32)
cases.append(dict(name="em", models=[0], labels=y.tolist(), eps=eps, alpha=eps / 10, steps=6,
                  start=start.tolist(), want=descend([models[0]], x0, start, y, eps, eps / 10, 6).tolist()))
# Pixels on the box boundary of [0, 1]: the projection must clip there.
x1 = x0.copy()
x1[:, :3] = 0
x1[:, 3:5] = 1
cases.append(dict(name="sep-boundary", models=[1, 0], labels=sep_t.tolist(), eps=eps, alpha=0.03, steps=4,
                  start=x1.tolist(), x0=x1.tolist(), want=descend([models[1], models[0]], x1, x1, sep_t, eps, 0.03, 4).tolist()))
for c in cases:
    c.setdefault("x0", x0.tolist())


def ops(X, Y, ncls):
    n, c, h, w = X.shape
    used, out = set(), []
    for cls in range(ncls):
        Xi = X[Y == cls]
        if len(Xi) == 0:
            continue
        best = None
        for p in range(h * w):
            r, col = divmod(p, w)
            for k in range(2 ** c):
                v = np.array([(k >> (c - 1 - ch)) & 1 for ch in range(c)], dtype=np.float64)
                if (p, k) in used:
                    continue
                d = np.abs(v[None, :] - Xi[:, :, r, col].astype(np.float64))
                mean, std = d.mean(), d.std()
                if mean == 0:
                    continue
                score = np.inf if std <= 1e-6 * mean else mean / std
                if best is None or score > best[0]:
                    best = (score, p, k)
        used.add((best[1], best[2]))
        out.append(dict(cls=cls, row=best[1] // w, col=best[1] % w, color=[(best[2] >> (c - 1 - ch)) & 1 for ch in range(c)],
                        score=None if np.isinf(best[0]) else best[0]))
    return out


ops_cases = []
for (c, h, w, n, ncls) in [(1, 5, 5, 30, 3), (3, 4, 4, 24, 4)]:
    X = rng.random((n, c, h, w)).astype(np.float32)
    Y = np.arange(n) % ncls
    # constant pixels: (0, 0) black everywhere (white is +inf, black changes nothing),
    # (0, 1) white in class 0 only.
    X[:, :, 0, 0] = 0
    X[Y == 0, :, 0, 1] = 1
    ops_cases.append(dict(shape=[c, h, w], classes=ncls, x=X.ravel().tolist(), y=Y.tolist(), pixels=ops(X, Y, ncls)))

models_out = [{k: v.ravel().tolist() for k, v in m.items()} for m in models]
print(json.dumps(dict(d=D, hidden=HID, k=K, models=models_out, steps=cases, ops=ops_cases)))
