"""Golden values for package certify, computed with scipy (1.10).

Run from this directory: /usr/bin/python3 golden.py > golden.json

- cp: Clopper-Pearson lower bound = beta.ppf(alpha, nA, n - nA + 1)
  (0 for nA = 0, as statsmodels' proportion_confint(method="beta") gives),
  and the certified radius sigma * norm.ppf(p_low) when p_low >= 0.5
  (Cohen et al.'s core.py), else abstain (radius 0, ok false).
- ppf: norm.ppf(p).
- binom: binomtest(k, n, p).pvalue, the two-sided exact test that Predict uses.
"""
import json

import scipy
from scipy.stats import beta, binomtest, norm

cp = []
for nA, n, alpha in [
    (0, 10, 0.001), (1, 10, 0.05), (5, 10, 0.05), (9, 10, 0.001), (10, 10, 0.001),
    (50, 100, 0.001), (90, 100, 0.001), (99, 100, 0.01), (100, 100, 0.001),
    (520, 1000, 0.05), (600, 1000, 0.001), (999, 1000, 0.001), (1000, 1000, 0.001),
    (5100, 10000, 0.001), (9000, 10000, 0.001), (9999, 10000, 0.001), (10000, 10000, 0.001),
    (10000, 10000, 0.1), (60000, 100000, 0.001), (99990, 100000, 0.001), (100000, 100000, 0.001),
]:
    p = 0.0 if nA == 0 else float(beta.ppf(alpha, nA, n - nA + 1))
    sigma = 0.25
    ok = p >= 0.5
    cp.append({"nA": nA, "n": n, "alpha": alpha, "lower": p, "sigma": sigma,
               "radius": sigma * float(norm.ppf(p)) if ok else 0.0, "ok": bool(ok)})

ppf = [{"p": p, "q": float(norm.ppf(p))} for p in
       [1e-12, 1e-6, 0.001, 0.01, 0.1, 0.3, 0.5, 0.5001, 0.7, 0.9, 0.99, 0.999, 0.999999, 1 - 1e-12]]

binom = []
for k, n, p in [
    (5, 10, 0.5), (6, 10, 0.5), (10, 10, 0.5), (1, 1, 0.5), (7, 9, 0.5), (2, 9, 0.5),
    (55, 100, 0.5), (61, 100, 0.5), (39, 100, 0.5), (100, 100, 0.5),
    (520, 1000, 0.5), (551, 1000, 0.5), (5050, 10000, 0.5), (5200, 10000, 0.5),
    (9000, 10000, 0.5), (3, 20, 0.3), (12, 20, 0.3),
]:
    binom.append({"k": k, "n": n, "p": p, "pvalue": float(binomtest(k, n, p).pvalue)})

print(json.dumps({"scipy": scipy.__version__, "cp": cp, "ppf": ppf, "binom": binom}, indent=1))
