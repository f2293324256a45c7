"""Golden values for pcb's detection loss (TestDetLossGolden): the sigmoid
focal loss (alpha 0.25, gamma 2; torchvision.ops.sigmoid_focal_loss's
formula) of 6 type logits per cell plus the L1 loss of 4 box distances of
the positive cells, divided by the number of positives; gradients by
autograd.

Run from this directory: python3 detloss_golden.py  (writes detloss_golden.json)
"""
import json

import numpy as np
import torch

rng = np.random.default_rng(3)
torch.set_default_dtype(torch.float64)
cells, K = 12, 6
o = torch.tensor(rng.normal(scale=2, size=(cells, K + 4)), requires_grad=True)
cls = rng.integers(0, K + 1, size=cells)
cls[:4] = 0  # some background cells
reg = rng.normal(size=(cells, 4))
npos = int((cls > 0).sum())

y = torch.zeros(cells, K)
for i, c in enumerate(cls):
    if c > 0:
        y[i, c - 1] = 1
logits = o[:, :K]
p = torch.sigmoid(logits)
ce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
p_t = p * y + (1 - p) * (1 - y)
alpha_t = 0.25 * y + 0.75 * (1 - y)
focal = (alpha_t * ce * (1 - p_t) ** 2).sum()
pos = torch.tensor(cls > 0)
l1 = (o[pos, K:] - torch.tensor(reg[cls > 0])).abs().sum()
loss = (focal + l1) / npos
loss.backward()
json.dump(
    {
        "o": o.detach().reshape(-1).tolist(),
        "cls": cls.tolist(),
        "reg": reg.reshape(-1).tolist(),
        "norm": npos,
        "loss": loss.item(),
        "grad": o.grad.reshape(-1).tolist(),
    },
    open("detloss_golden.json", "w"),
)
print("loss", loss.item(), "positives", npos)
