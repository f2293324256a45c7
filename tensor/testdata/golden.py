#!/usr/bin/python3
"""Golden values for package tensor, computed with numpy alone.

Regenerate: /usr/bin/python3 tensor/testdata/golden.py > tensor/testdata/golden.json

The semi-tensor product is computed from its definition with np.kron,
TT-SVD (Oseledets 2011), TR-SVD (Zhao et al. 2016), HOSVD/HOOI (De Lathauwer et al. 2000) and the
semi-tensor train, ring and Tucker (STP factor t: each split C = A (B kron I_t), fitted by an
SVD of the t column classes of C stacked) are written here from their
definitions; reconstructions are compared. TR-SVD's depends on the signs of
the first split's singular vectors, fixed by the convention of fix_signs.
"""
import json
from math import gcd

import numpy as np


def stp(a, b):
    n, p = a.shape[1], b.shape[0]
    t = n * p // gcd(n, p)
    return np.kron(a, np.eye(t // n)) @ np.kron(b, np.eye(t // p))


def fix_signs(u):
    """Flip each column so that its largest-magnitude entry (the first of
    equals) is positive, the convention of package tensor."""
    for k in range(u.shape[1]):
        best, at = -1.0, 0
        for i in range(u.shape[0]):
            a = abs(u[i, k])
            if a > best + 1e-12 * best:
                best, at = a, i
        if u[at, k] < 0:
            u[:, k] = -u[:, k]
    return u


def trunc_svd(c, r):
    u, s, vt = np.linalg.svd(c, full_matrices=False)
    r = min(r, len(s))
    u = fix_signs(u[:, :r].copy())
    return u, u.T @ c


def stt(x, r, t):
    """Semi-tensor train; t = 1 is TT-SVD. Returns the reconstruction."""
    shape = x.shape
    n = len(shape)
    cores = []
    c = x.reshape(shape[0], -1)
    rows = 1
    for k in range(n - 1):
        m, cols = c.shape
        rq = min(r // t, t * m, cols // t)
        # big[s*m + i, j] = c[i, j*t + s]
        big = np.concatenate([c[:, s::t] for s in range(t)], axis=0)
        u, w = trunc_svd(big, rq)
        a = np.zeros((m, rq * t))
        for s in range(t):
            a[:, s::t] = u[s * m:(s + 1) * m, :]
        cores.append(a)
        c = w
        if k < n - 2:
            c = w.reshape(rq * shape[k + 1], -1)
    b = c
    for k in range(n - 2, -1, -1):
        p = stp(cores[k], b)
        rows_k = cores[k].shape[0] // shape[k]
        b = p.reshape(rows_k, -1)
    return b.reshape(shape)


def str_(x, r, t):
    """Semi-tensor ring; t = 1 is TR-SVD. Returns the reconstruction."""
    shape = list(x.shape)
    i1 = shape[0]
    m = min(i1, x.size // i1)
    r0 = min(r, m)
    if t > 1 and r0 % t:
        r0 = r0 // t * t or t
    r1 = max(1, min(r, m // r0))
    u, w = trunc_svd(x.reshape(i1, -1), r0 * r1)
    z = np.moveaxis(w.reshape([r0, r1] + shape[1:]), 0, -1)  # r1, I2..IN, r0
    zshape = [r1 * shape[1]] + shape[2:-1] + [shape[-1] * r0]
    zr = np.moveaxis(stt(z.reshape(zshape), r, t).reshape([r1] + shape[1:] + [r0]), -1, 0)
    return (u @ zr.reshape(r0 * r1, -1)).reshape(shape)


def st_mode(y, n, u):
    """The tensor whose mode-n unfolding is u ⋉ y_(n)."""
    p = stp(u, unfold(y, n))
    rest = [d for k, d in enumerate(y.shape) if k != n]
    return np.moveaxis(p.reshape([p.shape[0]] + rest), 0, n)


def sttu(x, r, t, iters):
    """Semi-tensor Tucker (semi-tensor HOSVD, then HOOI sweeps)."""
    rq = [min(r // t, d // t, t * (x.size // d)) for d in x.shape]

    def factor(y, n):
        yn = unfold(y, n)
        w = np.concatenate([yn[s::t, :] for s in range(t)], axis=1)
        return np.linalg.svd(w, full_matrices=False)[0][:, :rq[n]]

    us = [factor(x, n) for n in range(x.ndim)]

    def project(skip):
        y = x
        for k in range(x.ndim):
            if k != skip:
                y = st_mode(y, k, us[k].T)
        return y

    for _ in range(iters):
        for n in range(x.ndim):
            us[n] = factor(project(n), n)
    y = project(-1)
    for n in range(x.ndim):
        y = st_mode(y, n, us[n])
    return y


def unfold(x, n):
    return np.moveaxis(x, n, 0).reshape(x.shape[n], -1)


def mode_product(x, u, n):
    y = u @ unfold(x, n)
    rest = [d for k, d in enumerate(x.shape) if k != n]
    return np.moveaxis(y.reshape([u.shape[0]] + rest), 0, n)


def tucker(x, r, iters):
    ranks = [min(r, d) for d in x.shape]
    us = [np.linalg.svd(unfold(x, n), full_matrices=False)[0][:, :ranks[n]] for n in range(x.ndim)]
    for _ in range(iters):
        for n in range(x.ndim):
            y = x
            for m in range(x.ndim):
                if m != n:
                    y = mode_product(y, us[m].T, m)
            us[n] = np.linalg.svd(unfold(y, n), full_matrices=False)[0][:, :ranks[n]]
    g = x
    for n in range(x.ndim):
        g = mode_product(g, us[n].T, n)
    y = g
    for n in range(x.ndim):
        y = mode_product(y, us[n], n)
    return y


def rel(x, y):
    return float(np.linalg.norm(x - y) / np.linalg.norm(x))


def main():
    rng = np.random.default_rng(20)
    out = {"stp": []}
    for m, n, p, q in [(2, 4, 2, 3), (3, 2, 6, 2), (2, 3, 3, 4), (2, 4, 6, 1)]:
        a = np.round(rng.standard_normal((m, n)), 3)
        b = np.round(rng.standard_normal((p, q)), 3)
        c = stp(a, b)
        out["stp"].append({"a": a.ravel().tolist(), "a_shape": [m, n], "b": b.ravel().tolist(),
                           "b_shape": [p, q], "out": c.ravel().tolist(), "out_shape": list(c.shape)})
    # A tensor with decaying spectra (so truncations are well separated).
    i, j, k = np.meshgrid(np.arange(4), np.arange(6), np.arange(8), indexing="ij")
    x = np.exp(-((i / 4 - 0.3) ** 2 + (j / 6 - 0.5) ** 2 + (k / 8) ** 2)) + np.sin(i + 2 * j * k / 8)
    x = np.round(x + 0.05 * rng.standard_normal(x.shape), 4)
    out["x"] = {"shape": list(x.shape), "data": x.ravel().tolist()}
    cases = []
    for name, y in [("tt r=3", stt(x, 3, 1)), ("stt t=2 r=4", stt(x, 4, 2)),
                    ("tucker r=3 hosvd", tucker(x, 3, 0)), ("tucker r=3 hooi2", tucker(x, 3, 2)),
                    ("tr r=2", str_(x, 2, 1)), ("str t=2 r=2", str_(x, 2, 2)),
                    ("sttu t=2 r=2 hooi1", sttu(x, 2, 2, 1))]:
        cases.append({"name": name, "recon": y.ravel().tolist(), "rel_error": rel(x, y)})
    out["cases"] = cases
    print(json.dumps(out))


if __name__ == "__main__":
    main()
