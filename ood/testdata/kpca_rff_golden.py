#!/usr/bin/python3
"""Regenerate kpca_rff_golden.npz: CoRP (KPCA reconstruction error with random
Fourier features of the cosine-Gaussian kernel) as the official code computes
it (fanghenshaometeor/ood-kernel-pca, CoP_CoRP_c10.py: normalise, map with
w = sqrt(2*gamma)*N(0,1) of shape (M, m) and u = 2*pi*U[0,1) of shape (M,),
centre, SVD of Phi^T Phi, q from the explained-variance ratio, score = minus
the reconstruction error), on small synthetic float32 "features", in float64
throughout (the official code normalises in float32). The draw (w, u) is
stored so that trustml's kpca-cos-rff:rff=FILE can use the same one.

Run with Debian's python3 (numpy):  /usr/bin/python3 kpca_rff_golden.py
"""
import numpy as np

rng = np.random.default_rng(7)
m, M, gamma, ratio = 16, 64, 2.0, 0.8
centres = rng.normal(0, 1, (4, m))


def feats(n, shift):
    c = centres[rng.integers(0, 4, n)]
    return np.abs(c + shift + 0.3 * rng.normal(0, 1, (n, m))).astype(np.float32)


train, test, ood = feats(400, 0), feats(100, 0), feats(100, 0.8 * rng.normal(0, 1, m))

np.random.seed(0)  # the official setup_seed
w = np.sqrt(2 * gamma) * np.random.normal(size=(M, m))
u = 2 * np.pi * np.random.rand(M)

normalizer = lambda x: x / (np.linalg.norm(x, ord=2, axis=-1, keepdims=True) + 1e-10)
phi = lambda x: np.sqrt(2 / M) * np.cos(normalizer(x.astype(np.float64)).dot(w.T) + u[np.newaxis, :])
ftrain, ftest, food = phi(train), phi(test), phi(ood)
mu = ftrain.mean(axis=0)
ftrain, ftest, food = ftrain - mu, ftest - mu, food - mu
K = ftrain.T.dot(ftrain)
u_full, s, _ = np.linalg.svd(K)
q, s_accuml = -1, np.zeros(ftrain.shape[1])
for i in range(ftrain.shape[1]):
    s_accuml[i] = sum(s[:i]) / sum(s)
    if i > 0 and q < 0:
        if s_accuml[i - 1] < ratio and s_accuml[i] >= ratio:
            q = i
u_q = u_full[:, :q]
score = lambda f: -np.linalg.norm(f - u_q.dot(u_q.T).dot(f.T).T, ord=2, axis=1)

np.savez("kpca_rff_golden.npz", train=train, test=test, ood=ood, w=w, u=u,
         scores_test=score(ftest), scores_ood=score(food), q=np.array([q]))
np.savez("kpca_rff_draw.npz", w=w, u=u)
print("q =", q)
