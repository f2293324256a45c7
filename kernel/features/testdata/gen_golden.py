#!/usr/bin/python3
"""Golden values for package features, computed with numpy/scipy/scikit-learn.

Run from this directory with Debian's interpreter:  /usr/bin/python3 gen_golden.py
It rewrites rff_ridge.json and bessel.json. The Go tests read them and never
call Python.
"""
import json
from math import factorial

import numpy as np
from scipy.special import jv
from scipy.integrate import quad
from sklearn.kernel_approximation import RBFSampler
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.svm import LinearSVC


def rff_ridge():
    rng = np.random.RandomState(7)
    n, m, d = 200, 50, 5
    X = rng.normal(size=(n, d))
    Xt = rng.normal(size=(m, d))
    w0 = rng.normal(size=d)
    f = lambda A: np.sin(A @ w0) + 0.1 * (A ** 2).sum(1)
    y = f(X) + 0.1 * rng.normal(size=n)
    gamma, D, alpha = 0.25, 300, 0.1
    samp = RBFSampler(gamma=gamma, n_components=D, random_state=0).fit(X)
    Z, Zt = samp.transform(X), samp.transform(Xt)
    reg = Ridge(alpha=alpha).fit(Z, y)
    # classification: 3 classes from the sign pattern of two projections
    lab = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    clf = RidgeClassifier(alpha=alpha).fit(Z, lab)
    # binary L2-loss linear SVM without intercept (liblinear dual CD)
    yb = np.where(X[:, 0] + 0.5 * X[:, 2] > 0, 1, 0)
    svc = LinearSVC(C=10.0, loss="squared_hinge", dual=True, fit_intercept=False,
                    tol=1e-10, max_iter=1000000).fit(Z, yb)
    return {
        "gamma": gamma, "alpha": alpha,
        "X": X.tolist(), "y": y.tolist(), "Xtest": Xt.tolist(),
        "W": samp.random_weights_.T.tolist(),  # D×d, row j = ω_j
        "b": samp.random_offset_.tolist(),
        "Z_first_rows": Z[:3].tolist(),
        "coef": reg.coef_.tolist(), "intercept": float(reg.intercept_),
        "pred": reg.predict(Zt).tolist(),
        "labels": lab.tolist(),
        "clf_decision": clf.decision_function(Zt).tolist(),
        "clf_pred": clf.predict(Zt).tolist(),
        "svc_C": 10.0, "svc_labels": yb.tolist(),
        "svc_coef": svc.coef_[0].tolist(),
    }


def poly_density(w, d, a, p):
    nu = d / 2
    s = 0.0
    for j in range(p + 1):
        s += factorial(p) / factorial(p - j) * (1 - 4 / a**2) ** (p - j) * (2 / a**2) ** j \
            * (2 / w) ** (nu + j) * jv(nu + j, 2 * w)
    return (2 * np.pi) ** (-d / 2) * s


def poly_density_hankel(w, d, a, p):
    # independent check: the Hankel transform of the truncated kernel
    g = lambda t: (1 - t * t / a / a) ** p * jv(d / 2 - 1, w * t) * t ** (d / 2)
    return (2 * np.pi) ** (-d / 2) * w ** (1 - d / 2) * quad(g, 0, 2, limit=400, epsabs=0, epsrel=1e-13)[0]


def bessel():
    orders = [0.5, 1.5, 2.5, 3.5, 7.5, 8.0, 8.5, 12.5, 31.5, 63.5]
    xs = [1e-3, 0.1, 0.9, 2.0, 3.14159, 5.5, 10.0, 20.0, 47.0, 90.0]
    jvals = [[float(jv(nu, x)) for x in xs] for nu in orders]
    dens = []
    for d, a, p in [(2, 3.0, 1), (3, 3.0, 1), (3, 2.5, 2), (5, 3.0, 3), (13, 3.0, 1), (16, 3.0, 2)]:
        for r in [0.05, 0.7, 1.9, 4.3, 9.6]:
            c = poly_density(r, d, a, p)
            h = poly_density_hankel(r, d, a, p)
            assert abs(c - h) <= 1e-9 * max(abs(c), 1e-300) + 1e-25, (d, a, p, r, c, h)
            dens.append({"d": d, "a": a, "p": p, "r": r, "mu": float(c)})
    # Masses M± = S_{d-1} ∫_0^rmax r^{d-1} max(±μ(r), 0) dr by adaptive quadrature
    # between the sign changes of μ.
    from scipy.optimize import brentq
    from scipy.special import gamma as G
    masses = []
    for d, a, p, rmax in [(2, 3.0, 1, 5.0), (3, 3.0, 1, 5.0), (3, 3.0, 1, 10.0), (5, 3.0, 2, 6.0)]:
        area = 2 * np.pi ** (d / 2) / G(d / 2)
        f = lambda r: area * r ** (d - 1) * poly_density(max(r, 1e-12), d, a, p)
        grid = np.linspace(1e-9, rmax, 20001)
        vals = np.array([f(r) for r in grid])
        knots = [0.0]
        for i in range(len(grid) - 1):
            if vals[i] * vals[i + 1] < 0:
                knots.append(brentq(f, grid[i], grid[i + 1], xtol=1e-14))
        knots.append(rmax)
        mp = mn = 0.0
        for lo, hi in zip(knots[:-1], knots[1:]):
            v = quad(f, lo, hi, limit=200, epsabs=0, epsrel=1e-12)[0]
            if v > 0:
                mp += v
            else:
                mn -= v
        masses.append({"d": d, "a": a, "p": p, "rmax": rmax, "pos": mp, "neg": mn})
    return {"orders": orders, "x": xs, "J": jvals, "poly_density": dens, "poly_masses": masses}


if __name__ == "__main__":
    with open("rff_ridge.json", "w") as fh:
        json.dump(rff_ridge(), fh)
    with open("bessel.json", "w") as fh:
        json.dump(bessel(), fh, indent=1)
