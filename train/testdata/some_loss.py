"""Golden values of SOME's training loss (robustness.md §8) for some_golden_test.go.

Computes, with PyTorch autograd, on fixed random logits of H heads × m noisy
copies × n inputs: the circular-teaching cross-entropy (per head h and input i,
the mean CE over the copies; weight 1 if head h-1 finds the input easy, else
(1+e^-λ)/(1+e^(ℓ_hi-λ)) without gradient; head loss = mean of weight·ℓ; total =
mean over heads, which is the official code's head weighting with
eps = (H-1)/H), its gradient with respect to the logits, the orthogonality
penalty Σ_{i<j} cos²(θ_i, θ_j) of fixed head vectors with its gradient, and the
official log10 scheduler of λ.

Run: /usr/bin/python3 some_loss.py > some_loss.json
"""
import json
import math

import torch
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
H, M, N, K = 3, 2, 5, 4
lam = 2.5

z = (torch.randn(H, M, N, K) * 2).requires_grad_(True)
y = torch.randint(0, K, (N,))

with torch.no_grad():
    ell = torch.stack([sum(F.cross_entropy(z[h, j], y, reduction="none") for j in range(M)) / M for h in range(H)])
    w = torch.ones(H, N)
    for h in range(H):
        prev = (h - 1) % H
        hard = ell[prev] >= lam
        w[h][hard] = (1 + math.exp(-lam)) / (1 + torch.exp(ell[h][hard] - lam))
head = [(w[h] * sum(F.cross_entropy(z[h, j], y, reduction="none") for j in range(M)) / M).mean() for h in range(H)]
loss = sum(head) / H
loss.backward()

thetas = [torch.randn(7).requires_grad_(True) for _ in range(H)]
thetas[1].data += 0.8 * thetas[0].data  # correlated heads: a penalty well above 0
orth = 0
for i in range(H):
    for j in range(i + 1, H):
        c = (thetas[i] * thetas[j]).sum() / thetas[i].norm() / thetas[j].norm()
        orth = orth + c * c
orth.backward()


def log10_scheduler(e, total, classes, last):
    first = math.log(classes)
    a = (math.pow(10, -first) - math.pow(10, -last)) / (1 - total)
    b = math.pow(10, -first) - a
    return -math.log(a * e + b, 10)


out = {
    "heads": H, "copies": M, "n": N, "k": K, "lambda": lam,
    "z": z.detach().flatten().tolist(), "y": y.tolist(),
    "loss": loss.item(), "head_loss": [v.item() for v in head],
    "dz": z.grad.flatten().tolist(),
    "weights_easy": int((w == 1).sum().item()),
    "theta": [t.detach().tolist() for t in thetas],
    "orth": orth.item(), "dtheta": [t.grad.tolist() for t in thetas],
    "scheduler": [[e, 150, 10, 1.2, log10_scheduler(e, 150, 10, 1.2)] for e in (1, 2, 50, 149, 150)]
    + [[e, 6, 10, 0.8, log10_scheduler(e, 6, 10, 0.8)] for e in (1, 3, 6)],
}
print(json.dumps(out, indent=1))
