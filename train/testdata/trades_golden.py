"""Golden values of the TRADES loss and its logit gradients (PyTorch).

The loss is the official TRADES code's (yaodongyu/TRADES, trades.py):

    loss_natural = F.cross_entropy(logits_nat, y)
    loss_robust = (1.0 / batch_size) * nn.KLDivLoss(size_average=False)(
        F.log_softmax(logits_adv, dim=1), F.softmax(logits_nat, dim=1))
    loss = loss_natural + beta * loss_robust

with the gradient flowing through both logits. Run from this directory:

    /usr/bin/python3 trades_golden.py > trades_golden.json
"""
import json

import torch
import torch.nn.functional as F

torch.manual_seed(0)
cases = []
for n, k, beta, scale in [(4, 3, 6.0, 1.0), (5, 10, 1.0, 3.0), (3, 10, 6.0, 0.2)]:
    z = (scale * torch.randn(n, k, dtype=torch.float64)).float().double()
    a = (z + 0.5 * torch.randn(n, k, dtype=torch.float64)).float().double()
    y = torch.randint(0, k, (n,))
    z.requires_grad_()
    a.requires_grad_()
    crit = torch.nn.KLDivLoss(reduction="sum")
    loss = F.cross_entropy(z, y) + beta * (1.0 / n) * crit(F.log_softmax(a, dim=1), F.softmax(z, dim=1))
    loss.backward()
    cases.append({
        "n": n, "k": k, "beta": beta,
        "z": z.detach().flatten().tolist(), "a": a.detach().flatten().tolist(), "y": y.tolist(),
        "loss": loss.item(),
        "dz": z.grad.flatten().tolist(), "da": a.grad.flatten().tolist(),
    })
print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
