"""Golden values for package hgnn, computed with numpy and PyTorch (float64).

Regenerate with:  /usr/bin/python3 golden.py > golden.json

A small two-view problem: the k-NN hypergraph of each view (each node with
its k nearest other rows, ties to the lower index) plus a self-loop
hyperedge per node, their propagation matrices
P = Dv^-1/2 H W De^-1 H^T Dv^-1/2, and, for HGNN, ResHGNN, MultiHGNN and
ResMHGNN (dropout 0), the loss (mean over labeled nodes of minus the
average over branches of log-softmax at the true class) and its gradient
with respect to every weight. Weights are stored as (in, out) matrices
(x @ W + b) in the order branch, layer, W then b.
"""
import json
import math

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(7)
N, C, K = 12, 3, 3
X1 = rng.normal(size=(N, 5))
X2 = rng.normal(size=(N, 4))
y = [int(v) for v in rng.integers(0, C, size=N)]
labeled = [0, 1, 2, 5, 7, 9, 10]


def knn_edges(X, k):
    d = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    edges = []
    for i in range(len(X)):
        di = d[i].copy()
        di[i] = -np.inf
        edges.append([int(j) for j in np.argsort(di, kind="stable")[: k + 1]])
    return edges


def propagation(n, edges, w=None):
    H = np.zeros((n, len(edges)))
    for e, nodes in enumerate(edges):
        H[nodes, e] = 1
    W = np.ones(len(edges)) if w is None else np.asarray(w)
    dv = H @ W
    de = H.sum(0)
    Dv = np.diag(dv ** -0.5)
    return Dv @ H @ np.diag(W) @ np.diag(1 / de) @ H.T @ Dv


E1 = knn_edges(X1, K)
E2 = knn_edges(X2, K)
loops = [[i] for i in range(N)]
P1 = propagation(N, E1 + loops)
P2 = propagation(N, E2 + loops)
# a weighted hypergraph with a categorical-style edge set, for P alone
Ew = [[0, 1, 2], [2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [0, 11]]
ww = [1.0, 2.0, 0.5, 1.5, 3.0]
Pw = propagation(N, Ew, ww)

HID, L, ALPHA, LAMBDA = 4, 2, 0.1, 0.5
torch.manual_seed(3)


def lin(i, o):
    b = 1 / math.sqrt(i)
    return [(torch.rand(i, o) * 2 - 1) * b, (torch.rand(o) * 2 - 1) * b]


def params(arch, d):
    if arch == "hgnn":
        return [lin(d, HID), lin(HID, C)]
    return [lin(d, HID)] + [lin(HID, HID) for _ in range(L)] + [lin(HID, C)]


def branch(arch, ps, X, P):
    X, P = torch.tensor(X), torch.tensor(P)
    if arch == "hgnn":
        h = torch.relu(P @ (X @ ps[0][0] + ps[0][1]))
        return P @ (h @ ps[1][0] + ps[1][1])
    h = torch.relu(X @ ps[0][0] + ps[0][1])
    h0 = h
    for l in range(1, L + 1):
        beta = math.log(LAMBDA / l + 1)
        xi = (1 - ALPHA) * (P @ h) + ALPHA * h0
        h = torch.relu((1 - beta) * xi + beta * (xi @ ps[l][0] + ps[l][1]))
    return h @ ps[L + 1][0] + ps[L + 1][1]


def case(name, arch, views):
    allp = []
    for X, _ in views:
        allp.append(params(arch, X.shape[1]))
    flat = [t for bp in allp for pair in bp for t in pair]
    for t in flat:
        t.requires_grad_(True)
    out = sum(torch.log_softmax(branch(arch, bp, X, P), 1) for bp, (X, P) in zip(allp, views)) / len(views)
    loss = -out[labeled, [y[i] for i in labeled]].mean()
    loss.backward()
    return {
        "name": name, "arch": arch, "views": [0, 1][: len(views)],
        "params": [t.detach().reshape(-1).tolist() for t in flat],
        "loss": loss.item(),
        "grads": [t.grad.reshape(-1).tolist() for t in flat],
    }


cases = [
    case("HGNN", "hgnn", [(X1, P1)]),
    case("ResHGNN", "reshgnn", [(X1, P1)]),
    case("MultiHGNN", "hgnn", [(X1, P1), (X2, P2)]),
    case("ResMHGNN", "reshgnn", [(X1, P1), (X2, P2)]),
]
print(json.dumps({
    "n": N, "classes": C, "k": K, "hidden": HID, "layers": L, "alpha": ALPHA, "lambda": LAMBDA,
    "x": [X1.tolist(), X2.tolist()], "y": y, "labeled": labeled,
    "edges": [E1, E2], "p": [P1.tolist(), P2.tolist()],
    "weighted_edges": Ew, "weights": ww, "p_weighted": Pw.tolist(),
    "cases": cases,
}))
