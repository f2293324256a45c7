"""Golden values for kernel/tsvm_svc_test.go: scikit-learn's SVC with a
precomputed kernel (libsvm) on a tiny binary problem.

Run: /usr/bin/python3 kernel/testdata/gen_svc.py > kernel/testdata/svc_golden.json
"""
import json
import numpy as np
from sklearn.svm import SVC

rng = np.random.default_rng(5)
X = rng.normal(size=(30, 2))
y = (X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=30) > 0).astype(int)
Xt = rng.normal(size=(6, 2))
K = np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
Kt = np.exp(-0.5 * ((Xt[:, None] - X[None]) ** 2).sum(-1))
m = SVC(C=2.0, kernel="precomputed", tol=1e-8).fit(K, y)
print(json.dumps({"k": K.tolist(), "kt": Kt.tolist(), "y": y.tolist(), "c": 2.0,
                  "decision": m.decision_function(Kt).tolist()}))
