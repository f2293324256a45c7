"""Regenerate knn_golden.json: scikit-learn's KNNImputer on a tiny array.

Run: /usr/bin/python3 knn_golden.py > knn_golden.json
Values are chosen so that no two candidate distances tie.
"""
import json
import numpy as np
from sklearn.impute import KNNImputer

X = np.array([
    [1.0, 2.0, np.nan, 4.0],
    [3.1, np.nan, 2.7, 0.5],
    [np.nan, 6.3, 2.2, 5.9],
    [8.4, 8.8, np.nan, 7.3],
    [0.6, 1.9, 3.7, np.nan],
    [5.2, 4.1, 1.3, 2.6],
    [2.9, np.nan, np.nan, 3.3],
])
cases = []
for k in (1, 2, 3):
    out = KNNImputer(n_neighbors=k).fit_transform(X)
    cases.append({"k": k, "want": out.tolist()})
print(json.dumps({"X": [[None if np.isnan(v) else v for v in r] for r in X], "cases": cases}, indent=1))
