# Regenerates gsmooth_golden.json: the generalized smoothing framework
# (Liu et al., TPAMI 2021) written independently in numpy, following the
# authors' MATLAB/C++ code (funs/generalized_smooth.m, mexGetGuideWeight.cpp,
# mexGetInternalWeight.cpp): dense weight matrices and np.linalg.solve.
# Run: /usr/bin/python3 smooth/testdata/gsmooth_golden.py > smooth/testdata/gsmooth_golden.json
import json
import numpy as np

H, W, C = 6, 7, 3
rng = np.random.default_rng(11)
img = 0.3 * rng.random((C, H, W))
img[:, 2:, 3:] += 0.6  # a corner edge
N = H * W


def gauss(r):
    if r == 0:
        return np.ones((1, 1))
    d = np.arange(-r, r + 1)
    k = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2.0 * r * r))
    return k / k.sum()


def hweight(x, a, b):
    if x < a:
        return 0.5 / a
    if x > b:
        return 1e-7
    return 0.5 / x


def mad(A, B, p, q):
    return np.abs(A[:, p // W, p % W] - B[:, q // W, q % W]).mean()


def smooth(f0, lam, rd, rs, ad, bd, as_, bs, alpha, stride, iters):
    scale = f0.max() - f0.min()
    f = f0 / scale
    ks, kd = gauss(rs), gauss(rd)
    G = np.zeros((N, N))
    for p in range(N):
        y, x = divmod(p, W)
        for dy in range(-rs, rs + 1, stride):
            for dx in range(-rs, rs + 1, stride):
                yy, xx = y + dy, x + dx
                if (dy == 0 and dx == 0) or not (0 <= yy < H and 0 <= xx < W):
                    continue
                q = yy * W + xx
                G[p, q] = (mad(f, f, p, q) + 1e-3) ** (-alpha)
    u = f.copy()
    for _ in range(iters):
        S = np.zeros((N, N))
        D = np.zeros((N, N))
        for p in range(N):
            y, x = divmod(p, W)
            for dy in range(-rs, rs + 1, stride):
                for dx in range(-rs, rs + 1, stride):
                    yy, xx = y + dy, x + dx
                    if (dy == 0 and dx == 0) or not (0 <= yy < H and 0 <= xx < W):
                        continue
                    q = yy * W + xx
                    S[p, q] = hweight(mad(u, u, p, q), as_, bs) * ks[dy + rs, dx + rs]
            for dy in range(-rd, rd + 1):
                for dx in range(-rd, rd + 1):
                    yy, xx = y + dy, x + dx
                    if (dy == 0 and dx == 0) or not (0 <= yy < H and 0 <= xx < W):
                        continue
                    q = yy * W + xx
                    D[p, q] = hweight(mad(u, f, p, q), ad, bd) * kd[dy + rd, dx + rd]
        Wc = G * S
        if rd == 0:
            L = np.eye(N)
            X0 = f.reshape(C, N).T
        else:
            L = np.diag(D.sum(1))
            X0 = D @ f.reshape(C, N).T
        L = L + 2 * lam * (np.diag(Wc.sum(0)) - Wc)
        u = np.linalg.solve(L, X0).T.reshape(C, H, W)
    return u * scale


cases = []
for name, args in [
    ("sp", (0.5, 1, 1, 1e-3, 1.0, 1e-3, 1.0, 0.5, 1, 3)),
    ("ep-trunc", (1.0, 0, 1, 1e-3, 1.0, 1e-3, 0.1, 0.2, 1, 2)),
    ("r2-stride2", (0.8, 1, 2, 1e-2, 0.5, 1e-2, 0.3, 0.4, 2, 2)),
]:
    lam, rd, rs, ad, bd, as_, bs, alpha, stride, iters = args
    cases.append({"name": name, "lambda": lam, "r_data": rd, "r_smooth": rs, "a_data": ad, "b_data": bd,
                  "a_smooth": as_, "b_smooth": bs, "alpha": alpha, "stride": stride, "iters": iters,
                  "out": smooth(img, *args).ravel().tolist()})
print(json.dumps({"w": W, "h": H, "c": C, "pix": img.ravel().tolist(), "cases": cases}))
