"""Golden values for kernel/ntk_golden_test.go: the per-layer empirical NTK
Gram blocks Θ_l(X, Z) = J_X,l J_Z,lᵀ of a tiny ReLU MLP (3 → 5 → 4 → 2, output 0),
computed with PyTorch by a loop of per-sample backward passes (no functorch).

Run: /usr/bin/python3 kernel/testdata/gen_ntk.py > kernel/testdata/ntk_golden.json
"""
import json
import numpy as np
import torch

rng = np.random.default_rng(11)
sizes = [3, 5, 4, 2]  # trustml networks have ≥ 2 outputs; f is output 0
layers = []
params = []
for i in range(len(sizes) - 1):
    lin = torch.nn.Linear(sizes[i], sizes[i + 1]).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(rng.uniform(-0.8, 0.8, size=(sizes[i + 1], sizes[i]))))
        lin.bias.copy_(torch.tensor(rng.uniform(-0.3, 0.3, size=sizes[i + 1])))
    layers.append(lin)
    params.append([lin.weight, lin.bias])
mods = []
for i, lin in enumerate(layers):
    mods.append(lin)
    if i < len(layers) - 1:
        mods.append(torch.nn.ReLU())
net = torch.nn.Sequential(*mods)

X = rng.normal(size=(6, 3))
Z = rng.normal(size=(4, 3))


def jac(A):
    rows = []
    for a in A:
        net.zero_grad()
        out = net(torch.tensor(a[None, :]))[0, 0]
        out.backward()
        rows.append([torch.cat([p.grad.flatten() for p in group]).numpy().copy() for group in params])
    return rows


JX, JZ = jac(X), jac(Z)
grams = []
for l in range(len(params)):
    a = np.array([r[l] for r in JX])
    b = np.array([r[l] for r in JZ])
    grams.append((a @ b.T).tolist())
out = {
    "sizes": sizes,
    "params": [p.detach().numpy().flatten().tolist() for group in params for p in group],
    "x": X.tolist(), "z": Z.tolist(), "grams": grams,
    "f_x": net(torch.tensor(X)).detach().numpy()[:, 0].tolist(),
}
print(json.dumps(out))
