"""Golden values for impute/supervised_golden_test.go: supervised kernel
imputation (methods/kernels.md §9, impute.Supervised) written independently
in numpy on a tiny binary problem with C, γ, η and r given (so no SVM is
fitted): stage 1, alternating Adam steps on the SVM dual over α (projected
on the box and the hyperplane), K_Δ (box) and E (ball) with the learned
kernel projected on PSD unit-diagonal matrices (numpy.linalg.eigh); stage 2,
Adam on the rows' missing entries so that squared distances match the
kernel.

Run: /usr/bin/python3 impute/testdata/supervised_golden.py > impute/testdata/supervised_golden.json
"""
import json
import numpy as np

rng = np.random.default_rng(3)
n, d, nl = 12, 3, 9
C, gamma, eta, r, steps, sweeps, lr = 2.0, 2.0, 0.5, 0.8, 6, 4, 0.02

y = np.array([1 if i % 2 else -1 for i in range(nl)], float)
X = rng.normal(size=(n, d)) + np.outer(np.r_[y, np.ones(n - nl)], np.ones(d))
mask = rng.uniform(size=(n, d)) < 0.3
mask[0, 0] = True
Xm = np.where(mask, np.nan, X)


class Adam:
    def __init__(self, shape):
        self.m, self.v, self.t = np.zeros(shape), np.zeros(shape), np.zeros(shape)

    def step(self, x, g, lr, sel=slice(None)):
        self.t[sel] += 1
        self.m[sel] = 0.9 * self.m[sel] + 0.1 * g
        self.v[sel] = 0.999 * self.v[sel] + 0.001 * g * g
        mh = self.m[sel] / (1 - 0.9 ** self.t[sel])
        vh = self.v[sel] / (1 - 0.999 ** self.t[sel])
        return x - lr * mh / (np.sqrt(vh) + 1e-8)


def psd(K):
    w, V = np.linalg.eigh((K + K.T) / 2)
    P = (V * np.maximum(w, 0)) @ V.T
    dg = np.sqrt(np.maximum(np.diag(P), 0))
    out = np.where(np.outer(dg > 1e-12, dg > 1e-12), P / np.outer(np.where(dg > 0, dg, 1), np.where(dg > 0, dg, 1)), 0.0)
    np.fill_diagonal(out, 1.0)
    return out


def project_alpha(a):
    lo, hi = -(np.abs(a).max() + C + 1), np.abs(a).max() + C + 1
    for _ in range(100):
        mid = (lo + hi) / 2
        if y @ np.clip(a - mid * y, 0, C) > 0:
            lo = mid
        else:
            hi = mid
    return np.clip(a - (lo + hi) / 2 * y, 0, C)


lo_ = np.nanmin(Xm, 0)
span = np.nanmax(Xm, 0) - lo_
span[span == 0] = 1
S = (Xm - lo_) / span
miss = np.isnan(S)
Kobs, Bl, dobs, dmiss = (np.zeros((n, n)) for _ in range(4))
for i in range(n):
    for k in range(n):
        o = m = 0.0
        for j in range(d):
            a, b = S[i, j], S[k, j]
            if not np.isnan(a) and not np.isnan(b):
                o += (a - b) ** 2
            elif np.isnan(a) and np.isnan(b):
                m += 1
            elif np.isnan(a):
                m += max(b, 1 - b) ** 2
            else:
                m += max(a, 1 - a) ** 2
        Kobs[i, k], Bl[i, k], dobs[i, k], dmiss[i, k] = np.exp(-gamma * o), np.exp(-gamma * m), o, m

KD, E = np.ones((n, n)), np.ones((n, n))
K = psd(Kobs * KD * E)
alpha = np.zeros(nl)
aA, aKD, aE = Adam(nl), Adam((n, n)), Adam((n, n))
objective = []
for t in range(steps):
    st = 0.1 / np.sqrt(t + 1)
    v = alpha * y
    ga = 1 - y * (K[:nl, :nl] @ v)
    alpha = project_alpha(aA.step(alpha, -ga, st))
    v = alpha * y
    G = np.zeros((n, n))
    G[:nl, :nl] = np.outer(v, v)
    gKD = -0.5 * G * Kobs * E + 2 * eta * (KD - 1)
    gE = -0.5 * G * Kobs * KD
    KD = np.clip(aKD.step(KD, gKD, st), Bl, 1)
    E = aE.step(E, gE, st)
    nrm = np.linalg.norm(E - 1)
    if nrm > r:
        E = 1 + r / nrm * (E - 1)
    K = psd(Kobs * KD * E)
    objective.append(float(alpha.sum() - 0.5 * v @ K[:nl, :nl] @ v + eta * ((KD - 1) ** 2).sum()))

target = np.clip(-np.log(np.clip(K, 1e-300, 1)) / gamma, dobs, dobs + dmiss)
colmean = np.nanmean(S, 0)
Z = np.where(miss, colmean, S)
aZ = Adam((n, d))
for _ in range(sweeps):
    for i in range(n):
        if not miss[i].any():
            continue
        g = np.zeros(d)
        for k in range(n):
            if k == i:
                continue
            d2 = ((Z[i] - Z[k]) ** 2).sum()
            g += 4 * (d2 - target[i, k]) / n * (Z[i] - Z[k])
        g[~miss[i]] = 0
        Z[i] = aZ.step(Z[i], g, lr, sel=i)
        Z[i, miss[i]] = np.clip(Z[i, miss[i]], 0, 1)
out = np.where(miss, lo_ + span * Z, Xm)

print(json.dumps({"x": np.where(mask, None, Xm).tolist(), "y": y.astype(int).tolist(),
                  "c": C, "gamma": gamma, "eta": eta, "radius": r, "steps": steps, "sweeps": sweeps, "lr": lr,
                  "objective": objective, "k": K.tolist(), "imputed": out.tolist()}))
