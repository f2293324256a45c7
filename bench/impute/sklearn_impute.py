"""Imputation RMSE of scikit-learn's imputers under the protocol of
`trustml repro impute`: 70/30 stratified split (regression: plain split),
standardized with the complete training rows, MCAR masks on all rows,
imputation of all rows at once; RMSE in standardized units over the masked
entries. The masks are numpy's, not ours: compare distributions, not runs.
"""
import sys
import warnings
import numpy as np
from sklearn import datasets
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split

sets = {"iris": datasets.load_iris, "wine": datasets.load_wine, "diabetes": datasets.load_diabetes}
warnings.filterwarnings("ignore")
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
for name, load in sets.items():
    X, y = load(return_X_y=True)
    for rate in (0.1, 0.3):
        res = {"mean": [], "knn5": [], "iterative": []}
        for r in range(reps):
            seed = 1 + r
            strat = y if name != "diabetes" else None
            Xtr, Xte = train_test_split(X, test_size=0.3, random_state=seed, stratify=strat)
            mu, sd = Xtr.mean(0), Xtr.std(0, ddof=1)
            full = (np.vstack([Xtr, Xte]) - mu) / sd
            rng = np.random.default_rng(seed)
            mask = rng.random(full.shape) < rate
            miss = full.copy()
            miss[mask] = np.nan
            for key, imp in (("mean", SimpleImputer()), ("knn5", KNNImputer(n_neighbors=5)),
                             ("iterative", IterativeImputer(random_state=seed, max_iter=10))):
                out = imp.fit_transform(miss)
                res[key].append(np.sqrt(np.mean((out[mask] - full[mask]) ** 2)))
        print(f"{name:9s} r={rate}: " + "  ".join(f"{k} {np.mean(v):.4f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.2g}" for k, v in res.items()))
