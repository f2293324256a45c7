"""Golden values for kernel/mtl_golden_test.go: tLSSVM-MTL (kernels.md §7.2)
written independently in numpy, each LS-SVM solved as the full bordered
system [[Q + I/γ, A], [Aᵀ, 0]] [α; b] = [rhs; 0] with numpy.linalg.solve
(the Go code uses a Cholesky and the Schur complement).

Run: /usr/bin/python3 kernel/testdata/gen_mtl.py > kernel/testdata/mtl_golden.json
"""
import json
import numpy as np

rng = np.random.default_rng(7)
n, m, d = 30, 8, 3
dims = [2, 3]            # two task modes: 2 × 3 tasks
R, gamma, kgamma, iters = 2, 10.0, 0.5, 4


def rbf(A, B):
    d2 = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    return np.exp(-kgamma * d2)


def lin(t):
    return t[0] + dims[0] * t[1]  # column-major sub2ind


def lssvm(Q, y, task, cls):
    ids = sorted(set(task))
    ns, T = len(y), len(ids)
    A = np.zeros((ns, T))
    for i, t in enumerate(task):
        A[i, ids.index(t)] = y[i] if cls else 1.0
    M = np.zeros((ns + T, ns + T))
    M[:ns, :ns] = Q + np.eye(ns) / gamma
    M[:ns, ns:] = A
    M[ns:, :ns] = A.T
    rhs = np.concatenate([np.ones(ns) if cls else y, np.zeros(T)])
    sol = np.linalg.solve(M, rhs)
    return sol[:ns], dict(zip(ids, sol[ns:]))


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
    yy = y if cls else np.ones(len(y))

    def lstep():
        Ut = np.array([kr(U, t) for t in tasks])
        Q = K * (Ut @ Ut.T) * np.outer(yy, yy)
        a, b = lssvm(Q, y, ln, cls)
        return a, b, Ut

    for _ in range(iters):
        a, _, Ut = lstep()
        beta = a * yy
        Z = K @ (beta[:, None] * Ut)
        for k in range(len(dims)):
            for tau in range(dims[k]):
                rows = [i for i, t in enumerate(tasks) if t[k] == tau]
                if not rows:
                    continue
                zs = np.array([Z[i] * kr(U, tasks[i], k) for i in rows])
                ys = y[rows]
                ws = ys if cls else np.ones(len(rows))
                Qs = (zs @ zs.T) * np.outer(ws, ws)
                As, _ = lssvm(Qs, ys, [ln[i] for i in rows], cls)
                U[k][tau] = (As * ws) @ zs
    a, b, Ut = lstep()
    return U, a * yy, b, Ut


def predict(Xtr, U, beta, b, Ut, Xte, tte):
    Kt = rbf(Xte, Xtr)
    out = []
    for i, t in enumerate(tte):
        out.append(Kt[i] @ (beta * (Ut @ kr(U, t))) + b.get(lin(t), 0.0))
    return out


X = rng.normal(size=(n, d))
tasks = [[int(rng.integers(2)), int(rng.integers(3))] for _ in range(n)]
Xte = rng.normal(size=(m, d))
tte = [[int(rng.integers(2)), int(rng.integers(3))] for _ in range(m)]
W = rng.normal(size=(d, 2 * 3))
y = np.array([X[i] @ W[:, lin(t)] + 0.1 * rng.normal() for i, t in enumerate(tasks)])
ycls = np.where(y > np.median(y), 1.0, -1.0)
U0 = [rng.uniform(size=(dd, R)) for dd in dims]

out = {"x": X.tolist(), "tasks": tasks, "x_test": Xte.tolist(), "tasks_test": tte,
       "y": y.tolist(), "y_cls": ycls.tolist(), "u0": [u.tolist() for u in U0],
       "rank": R, "gamma": gamma, "kernel_gamma": kgamma, "iters": iters}
for name, yv, cls in [("reg", y, False), ("cls", ycls, True)]:
    mu, sd = (0.0, 1.0) if cls else (yv.mean(), yv.std())  # regression targets are standardized
    U, beta, b, Ut = fit(X, (yv - mu) / sd, tasks, U0, cls)
    out[name] = {"u": [u.tolist() for u in U], "beta": beta.tolist(),
                 "pred": [p * sd + mu for p in predict(X, U, beta, b, Ut, Xte, tte)]}
print(json.dumps(out))
