"""Golden values for train's optimizers, computed with PyTorch's own
optimizers (Debian python3-torch). Run from this directory:

    /usr/bin/python3 optim_golden.py > optim_golden.json

Each case starts from the same weights, applies the same gradient sequence
(gradients are a fixed function of the step and the current weights, so the
trajectory depends on the update rule), and records the weights after every
step.
"""
import json

import torch

torch.set_default_dtype(torch.float64)

W0 = [0.5, -1.25, 2.0, 0.0, -0.3]


def grad(step, w):
    # A gradient that depends on the weights, like a real loss's would.
    return torch.tensor([0.1 * (step + 1), -0.2, 0.05 * step, 0.3, -0.1]) + 0.5 * w


CASES = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum_wd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=5e-4),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "sgd_dampening": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.5, dampening=0.3),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=1e-2),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=1e-1),
}

out = {"w0": W0, "cases": {}}
for name, make in CASES.items():
    w = torch.tensor(W0, requires_grad=True)
    opt = make([w])
    traj = []
    for step in range(6):
        opt.zero_grad()
        w.grad = grad(step, w.detach())
        opt.step()
        traj.append(w.detach().tolist())
    out["cases"][name] = traj
print(json.dumps(out, indent=1))
