"""Golden values for kernel/tsvm_golden_test.go: tSVM-MTL (kernels.md §7.2,
SVM variant; the official TSVM-MTL code's tensor_MTLSVCTrain /
tensor_MTLSVRTrain alternation) written independently in numpy.

Every step's dual QP
    min ½ aᵀHa + pᵀa  s.t.  Eᵀa = 0 (one row per task),  0 ≤ a ≤ C
is solved by a primal-dual interior-point method (the Go code uses SMO),
and each task's bias is the QP's equality multiplier λ_t (at a free
support vector s_i ∇_i = −λ_t, so f = Σβk + λ_t meets its margin).
Classification: H = Q∘yyᵀ, p = −1, E[i, t(i)] = y_i.
Regression (ε-SVR): a = (a⁺, a⁻), β = a⁺ − a⁻, H = [[Q, −Q], [−Q, Q]],
p = (ε − y, ε + y), E[i, t] = 1, E[n+i, t] = −1; targets standardized.

Run: /usr/bin/python3 kernel/testdata/gen_tsvm.py > kernel/testdata/tsvm_golden.json
"""
import json
import sys
import numpy as np

rng = np.random.default_rng(11)
DEBUG = len(sys.argv) > 1
n, m, d = 36, 8, 3
dims = [2, 3]            # two task modes: 2 × 3 tasks
R, C, kgamma, iters, eps = 2, 10.0, 0.5, 3, 0.1


def rbf(A, B):
    d2 = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    return np.exp(-kgamma * d2)


def lin(t):
    return t[0] + dims[0] * t[1]  # column-major sub2ind


def ipm(H, p, E):
    """Primal-dual interior point for min ½aᵀHa + pᵀa, Eᵀa = 0, 0 ≤ a ≤ C."""
    mm, k = len(p), E.shape[1]
    a = np.full(mm, C / 2)
    zl, zu, lam = np.ones(mm), np.ones(mm), np.zeros(k)
    for _ in range(200):
        rd = H @ a + p + E @ lam - zl + zu
        rp = E.T @ a
        gap = (a @ zl + (C - a) @ zu) / (2 * mm)
        if np.abs(rd).max() < 1e-11 and np.abs(rp).max() < 1e-11 and gap < 1e-13:
            break
        mu = 0.1 * gap
        D = zl / a + zu / (C - a)
        r = -rd + (mu / a - zl) - (mu / (C - a) - zu)
        M = np.zeros((mm + k, mm + k))
        M[:mm, :mm] = H + np.diag(D)
        M[:mm, mm:] = E
        M[mm:, :mm] = E.T
        sol = np.linalg.solve(M, np.concatenate([r, -rp]))
        da, dl = sol[:mm], sol[mm:]
        dzl = (mu - a * zl - zl * da) / a
        dzu = (mu - (C - a) * zu + zu * da) / (C - a)
        step = 1.0
        for v, dv in [(a, da), (C - a, -da), (zl, dzl), (zu, dzu)]:
            neg = dv < 0
            if neg.any():
                step = min(step, 0.99 * np.min(-v[neg] / dv[neg]))
        a, lam, zl, zu = a + step * da, lam + step * dl, zl + step * dzl, zu + step * dzu
    return a, lam


def svm(Q, y, task, cls):
    """One step: returns β (f = Qβ + b) and the biases by task id."""
    ids = sorted(set(task))
    ns = len(y)
    if cls:
        E = np.zeros((ns, len(ids)))
        for i, t in enumerate(task):
            E[i, ids.index(t)] = y[i]
        a, lam = ipm(Q * np.outer(y, y), -np.ones(ns), E)
        beta = a * y
    else:
        E = np.zeros((2 * ns, len(ids)))
        for i, t in enumerate(task):
            E[i, ids.index(t)] = 1.0
            E[ns + i, ids.index(t)] = -1.0
        H = np.block([[Q, -Q], [-Q, Q]])
        a, lam = ipm(H, np.concatenate([eps - y, eps + y]), E)
        beta = a[:ns] - a[ns:]
    if DEBUG:
        free = (a > 1e-7 * C) & (a < C * (1 - 1e-7))
        blk = E != 0
        print("free per task", [int((free & blk[:, c]).sum()) for c in range(len(ids))], file=sys.stderr)
    return beta, dict(zip(ids, lam))


def kr(U, t, skip=-1):
    u = np.ones(R)
    for k, v in enumerate(t):
        if k != skip:
            u = u * U[k][v]
    return u


def fit(X, y, tasks, U0, cls):
    U = [u.copy() for u in U0]
    K = rbf(X, X)
    ln = [lin(t) for t in tasks]

    def lstep():
        Ut = np.array([kr(U, t) for t in tasks])
        beta, b = svm(K * (Ut @ Ut.T), y, ln, cls)
        return beta, b, Ut

    for _ in range(iters):
        beta, _, Ut = lstep()
        Z = K @ (beta[:, None] * Ut)
        for k in range(len(dims)):
            for tau in range(dims[k]):
                rows = [i for i, t in enumerate(tasks) if t[k] == tau]
                if not rows:
                    continue
                zs = np.array([Z[i] * kr(U, tasks[i], k) for i in rows])
                bs, _ = svm(zs @ zs.T, y[rows], [ln[i] for i in rows], cls)
                U[k][tau] = bs @ zs
    beta, b, Ut = lstep()
    return U, beta, b, Ut


def predict(Xtr, U, beta, b, Ut, Xte, tte):
    Kt = rbf(Xte, Xtr)
    return [Kt[i] @ (beta * (Ut @ kr(U, t))) + b.get(lin(t), 0.0) for i, t in enumerate(tte)]


X = rng.normal(size=(n, d))
tasks = [[int(rng.integers(2)), int(rng.integers(3))] for _ in range(n)]
Xte = rng.normal(size=(m, d))
tte = [[int(rng.integers(2)), int(rng.integers(3))] for _ in range(m)]
W = rng.normal(size=(d, 2 * 3))
y = np.array([X[i] @ W[:, lin(t)] + 0.1 * rng.normal() for i, t in enumerate(tasks)])
# labels by the median within each task, so that every task has both classes
ycls = np.array([1.0 if y[i] > np.median([y[j] for j in range(n) if tasks[j] == t]) else -1.0
                 for i, t in enumerate(tasks)])
U0 = [rng.uniform(size=(dd, R)) for dd in dims]

out = {"x": X.tolist(), "tasks": tasks, "x_test": Xte.tolist(), "tasks_test": tte,
       "y": y.tolist(), "y_cls": ycls.tolist(), "u0": [u.tolist() for u in U0],
       "rank": R, "c": C, "epsilon": eps, "kernel_gamma": kgamma, "iters": iters}
for name, yv, cls in [("reg", y, False), ("cls", ycls, True)]:
    mu, sd = (0.0, 1.0) if cls else (yv.mean(), yv.std())  # regression targets are standardized
    U, beta, b, Ut = fit(X, (yv - mu) / sd, tasks, U0, cls)
    out[name] = {"u": [u.tolist() for u in U], "beta": beta.tolist(),
                 "pred": [p * sd + mu for p in predict(X, U, beta, b, Ut, Xte, tte)]}
print(json.dumps(out))
