#!/usr/bin/python3
"""Golden values for package data's tests, computed with scikit-learn/numpy.

Run from data/testdata with Debian's Python (python3-sklearn 1.2.1):

    /usr/bin/python3 golden.py > golden.json

For each embedded tabular dataset it records what scikit-learn's loader gives
(sizes, class counts, per-column sums, the first rows), to check data.Tabular
against an independent reader, and the mean_, var_ and scale_ of
sklearn.preprocessing.StandardScaler with the first transformed rows, to check
data.Standardizer. The features are rounded to float32 first, as data.Dataset
stores them; digits has constant pixels, which exercise the zero-variance rule.
"""
import json

import numpy as np
import sklearn
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits,
                              load_iris, load_wine)
from sklearn.preprocessing import StandardScaler

LOADERS = {
    "iris": lambda: load_iris(),
    "wine": lambda: load_wine(),
    "breast-cancer": lambda: load_breast_cancer(),
    "digits": lambda: load_digits(),
    "diabetes": lambda: load_diabetes(scaled=False),
}

ROWS = 3


def main():
    out = {"sklearn_version": sklearn.__version__, "sets": {}}
    for name, load in LOADERS.items():
        b = load()
        x = b.data.astype(np.float32).astype(np.float64)
        entry = {
            "n": int(x.shape[0]),
            "d": int(x.shape[1]),
            "features": [str(f) for f in b.feature_names],
            "col_sums": x.sum(axis=0).tolist(),
            "first_rows": x[:ROWS].tolist(),
        }
        if name == "diabetes":
            entry["target_sum"] = float(b.target.sum())
            entry["first_targets"] = b.target[:ROWS].tolist()
        else:
            entry["classes"] = [str(c) for c in b.target_names]
            entry["class_counts"] = np.bincount(b.target).tolist()
            entry["first_labels"] = b.target[:ROWS].tolist()
        sc = StandardScaler().fit(x)
        z = sc.transform(x)
        entry["standardizer"] = {
            "mean": sc.mean_.tolist(),
            "var": sc.var_.tolist(),
            "scale": sc.scale_.tolist(),
            "constant": np.flatnonzero(sc.var_ == 0).tolist(),
            "first_rows": z[:ROWS].tolist(),
        }
        out["sets"][name] = entry
    json.dump(out, __import__("sys").stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
