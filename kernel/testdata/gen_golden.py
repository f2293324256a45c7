#!/usr/bin/python3
"""Regenerate golden.json for package kernel's golden tests.

Run with Debian's scikit-learn (python3-sklearn 1.2.1):

    cd kernel/testdata && /usr/bin/python3 gen_golden.py

Everything the Go tests need (inputs, parameters, expected outputs) is written
to golden.json, so the Go tests run without Python.
"""
import json

import numpy as np
import sklearn
from sklearn.datasets import load_diabetes, load_wine
from sklearn.kernel_approximation import Nystroem
from sklearn.kernel_ridge import KernelRidge
from sklearn.decomposition import KernelPCA
from sklearn.metrics.pairwise import (cosine_similarity, laplacian_kernel, linear_kernel,
                                      polynomial_kernel, rbf_kernel, sigmoid_kernel)


def rows(a):
    return [list(map(float, r)) for r in np.asarray(a)]


out = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__}

# Diabetes regression (442×10, already centred and scaled by sklearn).
Xd, yd = load_diabetes(return_X_y=True)
rng = np.random.RandomState(0)
perm = rng.permutation(len(yd))
tr, te = perm[:300], perm[300:]
Xtr, ytr, Xte = Xd[tr], yd[tr], Xd[te]
out["diabetes"] = {"x_train": rows(Xtr), "y_train": list(map(float, ytr)), "x_test": rows(Xte)}

krr = []
for spec, kw, alpha in [
    ("rbf:gamma=10", dict(kernel="rbf", gamma=10.0), 0.01),
    ("rbf:gamma=2", dict(kernel="rbf", gamma=2.0), 1.0),
    ("laplacian:gamma=2", dict(kernel="laplacian", gamma=2.0), 0.1),
    ("poly:gamma=5,coef0=1,degree=3", dict(kernel="poly", gamma=5.0, coef0=1.0, degree=3), 0.5),
    ("linear", dict(kernel="linear"), 0.001),
    ("cosine", dict(kernel="cosine"), 0.05),
]:
    m = KernelRidge(alpha=alpha, **kw).fit(Xtr, ytr)
    krr.append({"kernel": spec, "alpha": alpha, "dual": list(map(float, m.dual_coef_)),
                "predict": list(map(float, m.predict(Xte)))})
out["krr"] = krr

# Nyström on diabetes with the landmark indices sklearn chose.
nys = []
for spec, kw, m_comp in [("rbf:gamma=5", dict(kernel="rbf", gamma=5.0), 40),
                         ("poly:gamma=1,coef0=1,degree=2", dict(kernel="poly", gamma=1.0, coef0=1.0, degree=2), 30)]:
    ny = Nystroem(n_components=m_comp, random_state=0, **kw).fit(Xtr)
    F = ny.transform(Xte)
    K = {"rbf": rbf_kernel, "poly": polynomial_kernel}[kw["kernel"]](
        Xte, **{k: v for k, v in kw.items() if k != "kernel"})
    err = np.linalg.norm(K - F @ F.T) / np.linalg.norm(K)
    nys.append({"kernel": spec, "landmarks": list(map(int, ny.component_indices_)),
                "transform": rows(F), "rel_error": float(err)})
out["nystroem"] = nys

# Kernel PCA on standardized wine (178×13).
Xw, _ = load_wine(return_X_y=True)
Xw = (Xw - Xw.mean(0)) / Xw.std(0)
wtr, wte = Xw[:140], Xw[140:]
out["wine"] = {"x_train": rows(wtr), "x_test": rows(wte)}
kp = []
for spec, kw, q in [("rbf:gamma=0.05", dict(kernel="rbf", gamma=0.05), 6),
                    ("poly:gamma=0.1,coef0=1,degree=2", dict(kernel="poly", gamma=0.1, coef0=1.0, degree=2), 4),
                    ("cosine", dict(kernel="cosine"), 5)]:
    p = KernelPCA(n_components=q, eigen_solver="dense", **kw).fit(wtr)
    kp.append({"kernel": spec, "components": q, "eigenvalues": list(map(float, p.eigenvalues_)),
               "transform_test": rows(p.transform(wte)), "transform_train": rows(p.transform(wtr))})
out["kpca"] = kp

# Pairwise kernel definitions (parameterization check).
A, B = Xw[:9], Xw[100:106]
out["pairwise"] = {
    "a": rows(A), "b": rows(B),
    "kernels": [
        {"kernel": "rbf:gamma=0.3", "k": rows(rbf_kernel(A, B, gamma=0.3))},
        {"kernel": "laplacian:gamma=0.2", "k": rows(laplacian_kernel(A, B, gamma=0.2))},
        {"kernel": "poly:gamma=0.5,coef0=2,degree=3", "k": rows(polynomial_kernel(A, B, degree=3, gamma=0.5, coef0=2))},
        {"kernel": "sigmoid:gamma=0.1,coef0=0.5", "k": rows(sigmoid_kernel(A, B, gamma=0.1, coef0=0.5))},
        {"kernel": "cosine", "k": rows(cosine_similarity(A, B))},
        {"kernel": "linear", "k": rows(linear_kernel(A, B))},
    ],
}

with open("golden.json", "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
print("wrote golden.json")
