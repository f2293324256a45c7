#!/usr/bin/python3
"""Golden files for package kernel's pipeline tests (float64 CSV path, kernel PCA pipeline).

Run with Debian's scikit-learn (python3-sklearn 1.2.1):

    cd kernel/testdata && /usr/bin/python3 gen_pipeline.py

It writes, under pipeline/:

- raw_train.csv, raw_test.csv: features in [0, 1) with 17 significant digits
  (float32 keeps about 7), target in the last column;
- shifted_train.csv, shifted_test.csv: features 1000 + [0, 0.001), which
  float32 cannot tell apart beyond 16 steps of 6.1e-5;
- golden.json: scikit-learn's predictions on the test files for
  KernelRidge(kernel="rbf", gamma=0.5, alpha=1e-3) on the raw features, and for
  make_pipeline(StandardScaler(), KernelRidge(kernel="rbf", gamma=1/3,
  alpha=0.1)) on the shifted ones (trustml's defaults: standardize, gamma =
  1/features); and KernelPCA(kernel="rbf", gamma=0.1, n_components=3) of
  StandardScaler()-scaled wine: eigenvalues and the first rows' scores.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import load_wine
from sklearn.decomposition import KernelPCA
from sklearn.kernel_ridge import KernelRidge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

rng = np.random.RandomState(13)
out = {"sklearn_version": sklearn.__version__}


def write(name, X, y):
    with open(os.path.join("pipeline", name), "w") as f:
        f.write(",".join(["x%d" % (j + 1) for j in range(X.shape[1])] + ["y"]) + "\n")
        for row, t in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + "," + repr(float(t)) + "\n")


def target(U):
    return np.sin(3 * U[:, 0]) + U[:, 1] * U[:, 2] + 0.01 * rng.randn(len(U))


U = rng.rand(50, 3)
V = rng.rand(15, 3)
yu, yv = target(U), target(V)
write("raw_train.csv", U, yu)
write("raw_test.csv", V, yv)
m = KernelRidge(kernel="rbf", gamma=0.5, alpha=1e-3).fit(U, yu)
out["raw_krr"] = {"kernel": "rbf:gamma=0.5", "alpha": 1e-3, "predict": m.predict(V).tolist()}

S, T = 1000 + 1e-3 * U, 1000 + 1e-3 * V
write("shifted_train.csv", S, yu)
write("shifted_test.csv", T, yv)
p = make_pipeline(StandardScaler(), KernelRidge(kernel="rbf", gamma=1 / 3, alpha=0.1)).fit(S, yu)
out["shifted_krr"] = {"kernel": "rbf:gamma=" + repr(1 / 3), "alpha": 0.1, "predict": p.predict(T).tolist()}

Xw, _ = load_wine(return_X_y=True)
Z = StandardScaler().fit_transform(Xw)
kp = KernelPCA(kernel="rbf", gamma=0.1, n_components=3, eigen_solver="dense").fit(Z)
out["wine_kpca"] = {"kernel": "rbf:gamma=0.1", "components": 3, "eigenvalues": kp.eigenvalues_.tolist(),
                    "scores_first": kp.transform(Z[:10]).tolist()}

with open(os.path.join("pipeline", "golden.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
