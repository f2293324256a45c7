#!/usr/bin/python3
"""Golden values for package data's tests, computed with scikit-learn/numpy.

Run from data/testdata with Debian's Python (python3-sklearn 1.2.1):

    /usr/bin/python3 golden.py > golden.json

For each embedded tabular dataset it records what scikit-learn's loader gives (for boston, whose loader
scikit-learn 1.2 removed, numpy's reading of the same file)
(sizes, class counts, per-column sums, the first rows), to check data.Tabular
against an independent reader, and the mean_, var_ and scale_ of
sklearn.preprocessing.StandardScaler with the first transformed rows, to check
data.Standardizer. The features are rounded to float32 for the loader checks,
as data.Dataset.X stores them, and kept in float64 for the standardizer, as
data.Dataset.X64 (which data.FitStandardizer uses) holds them; digits has
constant pixels, which exercise the zero-variance rule.
"""
import json
import os

import numpy as np
import sklearn
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_digits,
                              load_iris, load_wine)
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

LOADERS = {
    "iris": lambda: load_iris(),
    "wine": lambda: load_wine(),
    "breast-cancer": lambda: load_breast_cancer(),
    "digits": lambda: load_digits(),
    "diabetes": lambda: load_diabetes(scaled=False),
    "boston": lambda: load_boston_csv(),
}

# scikit-learn 1.2 removed load_boston but still ships the file; read it as
# the old loader did: a count line, a header, 13 features and MEDV.
BOSTON = os.path.join(os.path.dirname(sklearn.__file__), "datasets", "data", "boston_house_prices.csv")


def load_boston_csv():
    with open(BOSTON) as f:
        f.readline()
        names = [s.strip('"') for s in f.readline().strip().split(",")]
    raw = np.loadtxt(BOSTON, delimiter=",", skiprows=2)
    return Bunch(data=raw[:, :-1], target=raw[:, -1], feature_names=names[:-1])

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
        if name in ("diabetes", "boston"):
            entry["target_sum"] = float(b.target.sum())
            entry["first_targets"] = b.target[:ROWS].tolist()
        else:
            entry["classes"] = [str(c) for c in b.target_names]
            entry["class_counts"] = np.bincount(b.target).tolist()
            entry["first_labels"] = b.target[:ROWS].tolist()
        x64 = np.asarray(b.data, dtype=np.float64)
        sc = StandardScaler().fit(x64)
        z = sc.transform(x64)
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
