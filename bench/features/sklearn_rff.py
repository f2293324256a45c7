#!/usr/bin/python3
"""scikit-learn side of bench/features: RBFSampler + Ridge on the same
synthetic problem as main.go; prints one JSON line with median seconds."""
import argparse
import json
import time

import numpy as np
from sklearn.kernel_approximation import RBFSampler
from sklearn.linear_model import Ridge


def synth(n, d, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(X[:, 0] + X[:, 1]) + 0.5 * X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=n)
    return X, y


p = argparse.ArgumentParser()
p.add_argument("--n", type=int, default=20000)
p.add_argument("--ntest", type=int, default=5000)
p.add_argument("--d", type=int, default=20)
p.add_argument("--D", type=int, default=2000)
p.add_argument("--gamma", type=float, default=0.05)
p.add_argument("--alpha", type=float, default=1.0)
p.add_argument("--reps", type=int, default=5)
a = p.parse_args()
X, y = synth(a.n, a.d, 1)
Xt, yt = synth(a.ntest, a.d, 2)
fit, pred = [], []
for r in range(a.reps):
    t0 = time.perf_counter()
    s = RBFSampler(gamma=a.gamma, n_components=a.D, random_state=r).fit(X)
    m = Ridge(alpha=a.alpha).fit(s.transform(X), y)
    fit.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    yp = m.predict(s.transform(Xt))
    pred.append(time.perf_counter() - t0)
    mse = float(np.mean((yp - yt) ** 2))
print(json.dumps({"engine": "scikit-learn", "fit_s": float(np.median(fit)), "predict_s": float(np.median(pred)), "test_mse": mse}))
