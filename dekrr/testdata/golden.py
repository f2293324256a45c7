"""Golden values for dekrr: the minimizer of the DeKRR penalized problem
(kernels.md §8.3) on a tiny problem, by one direct numpy solve of the joint
(block) normal equations, to compare with the distributed NATS iteration.

Regenerate: /usr/bin/python3 dekrr/testdata/golden.py > dekrr/testdata/golden.json
"""
import json
import numpy as np

rng = np.random.default_rng(7)
J, d, N = 4, 3, 6
Ds = [3, 4, 5, 4]
lam, c, sigma = 1e-3, 1.0, 1.0
nbrs = [[1, 3], [0, 2], [1, 3], [0, 2]]  # ring

X = [rng.uniform(0, 1, (N, d)) for _ in range(J)]
Y = [np.sin(3 * x.sum(1)) + 0.1 * rng.standard_normal(N) for x in X]
Om = [rng.standard_normal((D, d)) / sigma for D in Ds]
B = [rng.uniform(0, 2 * np.pi, D) for D in Ds]


def Z(i, x):  # node i's features on inputs x: D_i x n
    return np.sqrt(2 / Ds[i]) * np.cos(Om[i] @ x.T + B[i][:, None])


Ntot = J * N
lamj = [lam * Ntot / (N * J) for _ in range(J)]
cj = [c / len(nbrs[j]) for j in range(J)]
off = np.concatenate([[0], np.cumsum(Ds)])
M = np.zeros((off[-1], off[-1]))
r = np.zeros(off[-1])
# gradient of the objective w.r.t. θ_j set to zero, row block j
for j in range(J):
    sj = slice(off[j], off[j + 1])
    Zj = Z(j, X[j])
    M[sj, sj] += (1 + cj[j] * len(nbrs[j])) * Zj @ Zj.T + N * lamj[j] * np.eye(Ds[j])
    r[sj] += Zj @ Y[j]
    for i in nbrs[j]:
        si = slice(off[i], off[i + 1])
        M[sj, si] -= cj[j] * Zj @ Z(i, X[j]).T
        Zji = Z(j, X[i])
        M[sj, sj] += cj[i] * Zji @ Zji.T
        M[sj, si] -= cj[i] * Zji @ Z(i, X[i]).T
theta = np.linalg.solve(M, r)
print(json.dumps({
    "lambda": lam, "c": c, "neighbors": nbrs,
    "X": [x.tolist() for x in X], "Y": [y.tolist() for y in Y],
    "omega": [o.tolist() for o in Om], "b": [b.tolist() for b in B],
    "theta": [theta[off[j]:off[j + 1]].tolist() for j in range(J)],
}, indent=1))
