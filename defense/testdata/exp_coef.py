#!/usr/bin/python3
"""Coefficients of AAA's exponential polynomial (defense/exp.go, expCoef).

Fits q(r) = c2 + c3 r + ... + c6 r^4 to (e^r - 1 - r)/r^2 on
|r| <= ln2/32 (with a 1e-4 margin) by mpmath's Chebyshev fit in 60-digit
arithmetic, so that 1 + r + r^2 q(r) approximates e^r on the reduced range
of Tang's method with 16 table entries. Prints the coefficients, highest
degree first, as the nearest float64 values (repr), then the largest
relative error of the polynomial with those float64 coefficients over 4001
points, evaluated exactly.

  /usr/bin/python3 defense/testdata/exp_coef.py > defense/testdata/exp_coef.txt

Needs python3-mpmath (Debian).
"""
import mpmath as mp

mp.mp.dps = 60
a = mp.log(2) / 32 * mp.mpf("1.0001")


def f(r):
    if abs(r) < mp.mpf("1e-20"):
        return mp.mpf(1) / 2 + r / 6
    return (mp.e**r - 1 - r) / r**2


poly = mp.chebyfit(f, [-a, a], 5)
coefs = [float(c) for c in poly]
for c in coefs:
    print(repr(c))
cs = [mp.mpf(c) for c in coefs]
worst = 0
n = 4000
for i in range(n + 1):
    r = -a + 2 * a * i / n
    q = 0
    for c in cs:
        q = q * r + c
    worst = max(worst, abs((1 + r + r * r * q) / mp.e**r - 1))
print("# largest relative error", mp.nstr(worst, 3))
