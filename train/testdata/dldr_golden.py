"""Golden values for train's DLDR pieces (PCABasis, P-SGD, P-BFGS), computed
independently: scikit-learn's PCA and the official nblt/DLDR update rules
(P_SGD and P_plus_BFGS of train_psgd.py / train_pbfgs.py) transcribed to
NumPy / PyTorch. Run from this directory with Debian's python3-sklearn and
python3-torch:

    /usr/bin/python3 dldr_golden.py > dldr_golden.json

The checkpoints W are a 7×12 random walk (float32). PCA(n_components=3)
gives the basis P. The loss is L_t(w) = ½ Σ a_i w_i² + Σ b_t,i w_i with a
linear term b_t that changes every step like a mini-batch (the same b_t as
flat_golden.py); its gradient a⊙w + b_t is formed in float32 like a
network's. Both optimizers start from W[0] (DLDR restarts from w₀). Each
case records the flat weights after every step; P-BFGS also records how
many loss evaluations each step made (1 + line-search trials).
"""
import json
import math

import numpy as np
import torch
from sklearn.decomposition import PCA

D, T, DIM = 12, 7, 3
STEPS = 10
A = np.array([1.0, 3.0, 0.2, 2.0, 0.7, 1.5, 4.0, 0.5, 2.5, 1.2, 3.5, 0.9], dtype=np.float32)


def batch(t):
    return np.array([0.3 * math.sin(7 * t + 3 * i + 1) - 0.1 * i for i in range(D)], dtype=np.float32)


def loss_grad(w, b):
    """Loss in float64 of the float32 weights, gradient in float32."""
    w64 = w.astype(np.float64)
    loss = float(np.sum(0.5 * A.astype(np.float64) * w64 * w64 + b.astype(np.float64) * w64))
    g = (A * w + b).astype(np.float32)
    return loss, g


rng = np.random.default_rng(20220101)
W = np.zeros((T, D), dtype=np.float32)
W[0] = rng.normal(size=D)
for k in range(1, T):
    W[k] = W[k - 1] + (0.8 ** k) * rng.normal(size=D) + 0.3 * rng.normal(size=D) * (k % 2)
W = W.astype(np.float32)

pca = PCA(n_components=DIM)
pca.fit(W.astype(np.float64))
P = pca.components_  # DIM×D, float64


def psgd(lr, momentum):
    """Official P_SGD: grad ← Pᵀ(P grad), then torch.optim.SGD."""
    w = torch.tensor(W[0].copy())
    w.requires_grad_(False)
    param = torch.nn.Parameter(w.clone())
    opt = torch.optim.SGD([param], lr=lr, momentum=momentum)
    Pt = torch.from_numpy(P)
    traj = []
    for t in range(STEPS):
        _, g = loss_grad(param.detach().numpy().copy(), batch(t))
        gk = Pt @ torch.from_numpy(g.astype(np.float64))
        param.grad = (Pt.T @ gk).to(torch.float32)
        opt.step()
        traj.append([float(v) for v in param.detach().numpy()])
    return traj


def pbfgs():
    """Official P_plus_BFGS (rho = sigma = 0.4, 20 trials, alpha = 0)."""
    rho, sigma = 0.4, 0.4
    Bk = np.eye(DIM)
    sk = None
    gk_last = None
    w = W[0].copy()
    traj, evals = [], []
    for t in range(STEPS):
        b = batch(t)
        oldf, grad = loss_grad(w, b)
        n = 1
        gk = P @ grad.astype(np.float64).reshape(-1, 1)
        if gk_last is not None:
            yk = gk - gk_last
            g = (yk.T @ sk)[0, 0]
            if g > 1e-20:
                pk = 1.0 / g
                t1 = np.eye(DIM) - (pk * yk) @ sk.T
                Bk = t1.T @ Bk @ t1 + (pk * sk) @ sk.T
        gk_last = gk
        dk = -Bk @ gk
        descent = (gk.T @ dk)[0, 0]
        sk = dk.copy()
        m = 0
        while m < 20:
            trial = (w + (P.T @ sk).reshape(-1).astype(np.float32)).astype(np.float32)
            newf, _ = loss_grad(trial, b)
            n += 1
            if newf < oldf + sigma * descent:
                break
            m += 1
            descent *= rho
            sk = sk * rho
        w = (w + (P.T @ sk).reshape(-1).astype(np.float32)).astype(np.float32)
        traj.append([float(v) for v in w])
        evals.append(n)
    return traj, evals


traj, evals = pbfgs()
out = {
    "a": [float(v) for v in A],
    "checkpoints": [[float(v) for v in row] for row in W],
    "components": P.tolist(),
    "explained_variance": pca.explained_variance_.tolist(),
    "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
    "total_variance": float(np.sum(np.var(W.astype(np.float64), axis=0, ddof=1))),
    "psgd": {"lr": 0.5, "momentum": 0.9, "traj": psgd(0.5, 0.9)},
    "pbfgs": {"traj": traj, "evals": evals},
}
print(json.dumps(out, indent=1))
