# Regenerates golden.json: the bilateral and guided filters and WLS of package smooth
# computed independently with numpy on a small fixed RGB image.
# Run: /usr/bin/python3 smooth/testdata/golden.py > smooth/testdata/golden.json
import json
import numpy as np

H, W, C = 9, 11, 3
rng = np.random.default_rng(7)
img = rng.random((C, H, W))
img[:, :, 6:] += 0.8  # a vertical edge
img = np.clip(img / 1.8, 0, 1)


def bilateral(I, ss, sr, r):
    out = np.zeros_like(I)
    for y in range(H):
        for x in range(W):
            y0, y1, x0, x1 = max(0, y - r), min(H, y + r + 1), max(0, x - r), min(W, x + r + 1)
            yy, xx = np.mgrid[y0:y1, x0:x1]
            win = I[:, y0:y1, x0:x1]
            d2 = ((win - I[:, y:y + 1, x:x + 1]) ** 2).sum(0)
            w = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * ss * ss) - d2 / (2 * sr * sr))
            out[:, y, x] = (win * w).sum((1, 2)) / w.sum()
    return out


def box(v, r):
    o = np.zeros_like(v)
    for y in range(H):
        for x in range(W):
            o[y, x] = v[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].mean()
    return o


def guided(I, r, eps):
    out = np.zeros_like(I)
    for c in range(C):
        p = I[c]
        m = box(p, r)
        v = box(p * p, r) - m * m
        a = v / (v + eps)
        b = m - a * m
        out[c] = box(a, r) * p + box(b, r)
    return out


def wls(I, lam, alpha):
    # Farbman et al. 2008 with 4-neighbour weights lam / (|dl|^alpha + 1e-4)
    # on the log luminance, one dense solve per channel.
    eps = 1e-4
    lum = 0.299 * I[0] + 0.587 * I[1] + 0.114 * I[2]
    l = np.log(lum + eps).ravel()
    n = H * W
    A = np.eye(n)
    for y in range(H):
        for x in range(W):
            p = y * W + x
            for dy, dx in ((0, 1), (1, 0)):
                if y + dy < H and x + dx < W:
                    q = (y + dy) * W + x + dx
                    w = lam / (abs(l[p] - l[q]) ** alpha + eps)
                    A[p, p] += w
                    A[q, q] += w
                    A[p, q] -= w
                    A[q, p] -= w
    return np.stack([np.linalg.solve(A, I[c].ravel()).reshape(H, W) for c in range(C)])


print(json.dumps({
    "w": W, "h": H, "c": C, "pix": img.ravel().tolist(),
    "bilateral": {"sigma_s": 1.5, "sigma_r": 0.2, "radius": 3, "out": bilateral(img, 1.5, 0.2, 3).ravel().tolist()},
    "guided": {"radius": 2, "eps": 0.01, "out": guided(img, 2, 0.01).ravel().tolist()},
    "wls": {"lambda": 0.5, "alpha": 1.2, "out": wls(img, 0.5, 1.2).ravel().tolist()},
}))
