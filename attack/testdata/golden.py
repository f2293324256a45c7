#!/usr/bin/python3
"""Golden values for package attack's tests, computed independently of the
Go code: losses and their gradients with PyTorch autograd, the Square
p-schedule, the Square L2 pseudo-Gaussian patterns (numpy, written from the
spec robustness.md §2.2/§2.4), and the DCT basis with scipy.

Regenerate with (Debian's python3, not the pyenv one):
    /usr/bin/python3 attack/testdata/golden.py > attack/testdata/golden.json
"""
import json

import numpy as np
import scipy.fft
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20240611)


def losses():
    out = []
    for k in (2, 3, 5, 10):
        for _ in range(3):
            z = np.round(rng.normal(scale=3.0, size=k), 3)
            z = z.astype(np.float32).astype(np.float64)     # the Go side holds float32 scores
            label = int(rng.integers(k))
            for kind in ("margin", "ce", "prob"):
                for targeted in (False, True):
                    t = torch.tensor(z, requires_grad=True)
                    if kind == "margin":
                        other = torch.cat([t[:label], t[label + 1:]]).max()
                        v = t[label] - other
                    elif kind == "ce":
                        v = torch.log_softmax(t, 0)[label]
                    else:
                        v = torch.softmax(t, 0)[label]
                    if targeted:
                        v = -v
                    v.backward()
                    out.append(dict(z=z.tolist(), label=label, kind=kind, targeted=targeted,
                                    value=float(v), grad=t.grad.tolist()))
    return out


def p_schedule(p_init, it, n_iters):
    # Spec §2.2: rescale, then a piecewise-constant table.
    i = int(it / n_iters * 10000)
    table = [(10, 1), (50, 2), (200, 4), (500, 8), (1000, 16), (2000, 32),
             (4000, 64), (6000, 128), (8000, 256), (10000, 512)]
    if i <= 10 or i > 10000:
        return p_init
    for hi, div in table:
        if i <= hi:
            return p_init / div
    raise AssertionError


def square_p():
    out = []
    for n_iters in (10000, 2500, 100, 7):
        for it in sorted({0, 1, 2, 5, 9, 10, 11, 49, 50, 51, 99, 199, 200, 201, 499, 500, 501,
                          999, 1000, 1001, 1999, 2000, 2001, 3999, 4000, 4001, 5999, 6000,
                          6001, 7999, 8000, 8001, 9999, 10000, 10001, 12000}):
            out.append(dict(p_init=0.05, it=it, n_iters=n_iters, p=p_schedule(0.05, it, n_iters)))
    return out


def pseudo_gauss_rect(a, b):
    # Spec §2.4: concentric rectangles around (a//2, b//2); ring k adds
    # 1/(k+1)^2 to the (2k+1)x(2k+1) rectangle around the centre (clipped).
    d = np.zeros((a, b))
    if a == 0 or b == 0:
        return d
    for k in range(max(a // 2 + 1, b // 2 + 1)):
        r0, c0 = a // 2 - k, b // 2 - k
        d[max(r0, 0):max(min(r0 + 2 * k + 1, a), 0), max(c0, 0):max(min(c0 + 2 * k + 1, b), 0)] += 1.0 / (k + 1) ** 2
    return d / np.sqrt((d ** 2).sum())


def meta_pseudo_gauss(s):
    d = np.zeros((s, s))
    if s // 2 > 0:
        d[: s // 2] = pseudo_gauss_rect(s // 2, s)
    d[s // 2:] = -pseudo_gauss_rect(s - s // 2, s)
    return d / np.sqrt((d ** 2).sum())


def dct():
    out = []
    for n, f in ((1, 1), (5, 5), (8, 3), (28, 4)):
        basis = scipy.fft.idct(np.eye(n)[:f], axis=1, norm="ortho")
        out.append(dict(n=n, f=f, basis=basis.ravel().tolist()))
    return out


golden = dict(
    losses=losses(),
    square_p=square_p(),
    rect=[dict(a=a, b=b, values=pseudo_gauss_rect(a, b).ravel().tolist())
          for a, b in ((1, 1), (1, 3), (2, 5), (3, 3), (4, 7), (5, 5), (6, 6))],
    meta=[dict(s=s, values=meta_pseudo_gauss(s).ravel().tolist()) for s in (1, 2, 3, 4, 5, 7, 8)],
    dct=dct(),
)
print(json.dumps(golden, indent=1))
