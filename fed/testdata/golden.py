"""Golden values for package fed, computed with PyTorch in float64.

Regenerate with: /usr/bin/python3 golden.py > golden.json

fedavg: one FedAvg round on a tiny MLP (4 -> 3 ReLU -> 2): from the initial
weights w0, each of 3 clients takes one full-batch SGD step (lr 0.1, one
local epoch with the batch = the client's data) and the server averages the
client models weighted by their sample counts.

mix: one Learn2pFed mixing step on the same MLP: the personal model is
w + beta_g (v - w) per parameter tensor g with beta_g = eta / (eta + exp(l_g));
the gradient of the mean cross-entropy on a batch is taken with respect to
l_g and l takes one SGD step of size lr.
"""
import json

import torch

torch.manual_seed(18)
D = torch.float64
shapes = [(3, 4), (3,), (2, 3), (2,)]


def flat(ps):
    return torch.cat([p.reshape(-1) for p in ps])


def unflat(v):
    out, off = [], 0
    for s in shapes:
        n = 1
        for d in s:
            n *= d
        out.append(v[off:off + n].reshape(s))
        off += n
    return out


def forward(ps, x):
    w1, b1, w2, b2 = ps
    return torch.relu(x @ w1.T + b1) @ w2.T + b2


def rnd(*s):
    # values exactly representable in float32, so the Go side starts equal
    return torch.randn(*s, dtype=D).float().double()


w0 = rnd(sum(torch.Size(s).numel() for s in shapes))
clients = []
for n in (5, 8, 3):
    x = rnd(n, 4)
    y = torch.randint(0, 2, (n,))
    clients.append((x, y))

lr = 0.1
ups, ns = [], []
for x, y in clients:
    ps = [p.clone().requires_grad_(True) for p in unflat(w0)]
    loss = torch.nn.functional.cross_entropy(forward(ps, x), y)
    loss.backward()
    with torch.no_grad():
        ups.append(flat([p - lr * p.grad for p in ps]))
    ns.append(len(y))
w1 = sum(n * u for n, u in zip(ns, ups)) / sum(ns)

# mixing step
w = rnd(w0.numel())
v = rnd(w0.numel())
l0 = torch.tensor([-0.5, 0.3, 1.2, -2.0], dtype=D)
eta, mlr = 1.0, 0.7
xb = rnd(6, 4)
yb = torch.randint(0, 2, (6,))
ell = l0.clone().requires_grad_(True)
beta = eta / (eta + torch.exp(ell))
ws, vs = unflat(w), unflat(v)
ps = [ws[g] + beta[g] * (vs[g] - ws[g]) for g in range(4)]
mloss = torch.nn.functional.cross_entropy(forward(ps, xb), yb)
mloss.backward()
with torch.no_grad():
    l1 = l0 - mlr * ell.grad
    b1 = eta / (eta + torch.exp(l1))
    share = flat([ws[g] + (1 - b1[g]) * (vs[g] - ws[g]) for g in range(4)])

L = lambda t: [float(a) for a in t.reshape(-1).tolist()]
print(json.dumps({
    "fedavg": {"w0": L(w0), "lr": lr,
               "clients": [{"x": L(x), "y": [int(a) for a in y.tolist()]} for x, y in clients],
               "uploads": [L(u) for u in ups], "w1": L(w1)},
    "mix": {"w": L(w), "v": L(v), "l0": L(l0), "eta": eta, "lr": mlr, "x": L(xb), "y": [int(a) for a in yb.tolist()],
            "loss": float(mloss), "grad": L(ell.grad), "l1": L(l1), "beta1": L(b1), "share": L(share)},
}, indent=1))
