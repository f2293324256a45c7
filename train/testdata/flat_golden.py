"""Golden trajectories for train's SAM and F-SAM, computed with PyTorch
(Debian python3-torch) by the reference SAM optimizer (as vendored by
nblt/RWP and nblt/F-SAM) and the official FriendlySAM first step, around
PyTorch's own SGD and AdamW. Run from this directory:

    /usr/bin/python3 flat_golden.py > flat_golden.json

The loss is L_t(w) = ½ Σ a_i w_i² + Σ b_t,i w_i over two tensors (shapes
(2, 3) and (4,), flattened in that order, so the norm must be global); the
linear term b_t changes every step like a mini-batch would. Each case
records the flat weights after every step.
"""
import json
import math

import numpy as np
import torch

A = [1.0, 3.0, 0.2, 2.0, 0.7, 1.5, 4.0, 0.5, 2.5, 1.2]
W0 = [0.5, -1.0, 2.0, 0.1, -0.4, 0.8, 1.1, -2.0, 0.3, 0.05]
STEPS = 8


def batch(t):
    return [np.float32(0.3 * math.sin(7 * t + 3 * i + 1) - 0.1 * i) for i in range(len(A))]


class SAM(torch.optim.Optimizer):
    """The reference SAM (davda54/sam) as the nblt repositories vendor it."""

    def __init__(self, params, base_optimizer, rho=0.05, adaptive=False, **kwargs):
        defaults = dict(rho=rho, adaptive=adaptive, **kwargs)
        super().__init__(params, defaults)
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    @torch.no_grad()
    def first_step(self):
        grad_norm = self._grad_norm()
        for group in self.param_groups:
            scale = group["rho"] / (grad_norm + 1e-12)
            for p in group["params"]:
                self.state[p]["old_p"] = p.data.clone()
                e_w = (torch.pow(p, 2) if group["adaptive"] else 1.0) * p.grad * scale.to(p)
                p.add_(e_w)

    @torch.no_grad()
    def second_step(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.data = self.state[p]["old_p"]
        self.base_optimizer.step()

    def _grad_norm(self):
        return torch.norm(torch.stack([
            ((torch.abs(p) if g["adaptive"] else 1.0) * p.grad).norm(p=2)
            for g in self.param_groups for p in g["params"]]), p=2)


class FriendlySAM(SAM):
    """nblt/F-SAM's FriendlySAM: SAM whose ascent removes σ·EMA of gradients."""

    def __init__(self, params, base_optimizer, rho=0.05, sigma=1, lmbda=0.9, **kwargs):
        super().__init__(params, base_optimizer, rho=rho, **kwargs)
        self.sigma, self.lmbda = sigma, lmbda

    @torch.no_grad()
    def first_step(self):
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad.clone()
                if "momentum" not in self.state[p]:
                    self.state[p]["momentum"] = grad
                else:
                    p.grad -= self.state[p]["momentum"] * self.sigma
                    self.state[p]["momentum"] = self.state[p]["momentum"] * self.lmbda + grad * (1 - self.lmbda)
        super().first_step()


CASES = {
    "sam": lambda ps: SAM(ps, torch.optim.SGD, rho=0.2, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "asam": lambda ps: SAM(ps, torch.optim.SGD, rho=0.5, adaptive=True, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "fsam": lambda ps: FriendlySAM(ps, torch.optim.SGD, rho=0.2, sigma=1, lmbda=0.6, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "fsam_adamw": lambda ps: FriendlySAM(ps, torch.optim.AdamW, rho=0.1, sigma=0.8, lmbda=0.95, lr=0.01, weight_decay=0.1),
}


def run(make):
    a = torch.tensor(A, dtype=torch.float32)
    w = torch.tensor(W0, dtype=torch.float32)
    ps = [w[:6].reshape(2, 3).clone().requires_grad_(), w[6:].clone().requires_grad_()]
    opt = make(ps)
    traj = []

    def closure(b):
        for p in ps:
            p.grad = None
        flat = torch.cat([p.reshape(-1) for p in ps])
        loss = 0.5 * (a * flat * flat).sum() + (b * flat).sum()
        loss.backward()

    for t in range(STEPS):
        b = torch.tensor(batch(t), dtype=torch.float32)
        closure(b)
        opt.first_step()
        closure(b)
        opt.second_step()
        traj.append([float(v) for v in torch.cat([p.detach().reshape(-1) for p in ps])])
    return traj


print(json.dumps({"a": A, "w0": W0, "cases": {k: run(v) for k, v in CASES.items()}}, indent=1))
