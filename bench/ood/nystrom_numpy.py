"""The Nyström KPCA OoD fit of ood.KPCA (Map cos-nystrom, uniform landmarks)
written in numpy, step for step, as the peer of BenchmarkKPCANystromFit:
row-normalize the features, pick M landmarks uniformly, K_LL = RBF(L, L),
its eigendecomposition, proj = U S^(-1/2) U^T, phi = RBF(x, L) proj, center,
cov = phi^T phi, its eigendecomposition. Prints the median wall time.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/ood/nystrom_numpy.py 60000 2048 128 [reps]

Features are ReLU'd standard normals, as in the Go benchmark (same
distribution, not the same draws: the timing does not depend on them).
"""
import sys
import time

import numpy as np


def rbf(a, b, gamma):
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    np.maximum(d, 0, out=d)
    d *= -gamma
    return np.exp(d, out=d)


def fit(x, m, gamma=0.5, ratio=0.99, seed=1):
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    lmk = x[rng.permutation(len(x))[:m]]
    s, u = np.linalg.eigh(rbf(lmk, lmk, gamma))
    proj = (u / np.sqrt(np.maximum(s, 1e-12))) @ u.T
    phi = np.empty((len(x), m))
    rows = max(1, (1 << 21) // m)
    for lo in range(0, len(x), rows):  # 16 MB blocks, as the Go code
        phi[lo:lo + rows] = rbf(x[lo:lo + rows], lmk, gamma) @ proj
    phi -= phi.mean(0)
    cov = phi.T @ phi
    w, v = np.linalg.eigh(cov)
    w, v = w[::-1], v[:, ::-1]
    c = np.cumsum(np.maximum(w, 0))
    q = int(np.searchsorted(c, ratio * c[-1]) + 1)
    return v[:, :q]


def main():
    n, m, d = (int(a) for a in sys.argv[1:4])
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    x = np.maximum(np.random.default_rng(2).standard_normal((n, d)), 0)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fit(x, m)
        times.append(time.perf_counter() - t0)
    print(f"numpy {np.__version__} Nystrom KPCA fit n={n} M={m} d={d}: median {sorted(times)[len(times) // 2]:.2f} s (runs {' '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
