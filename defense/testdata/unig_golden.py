"""Golden values for UniG (spec robustness.md §6.2), computed with PyTorch autograd.

For fixed features h (n×f), a linear head (W, b) and initial multipliers P0,
run the algorithm of one forward call:
  y = argmax(W h + b); P = P0;
  for each epoch: z = W(h⊙P)+b; g = ∂CE(z, y)/∂h (create_graph);
                  ĝ = (g − min)/(max − min), min/max of the first step, held fixed;
                  L = Σ_j ‖ĝ_j − ĝ_{j+1}‖₂; SGD(lr, momentum, weight decay) step on P;
                  clamp P to [1−δ, 1+δ];
  output W(h⊙P)+b.
Regenerate: /usr/bin/python3 defense/testdata/unig_golden.py > defense/testdata/unig_golden.json
"""
import json

import torch

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)


def unig(h, W, b, P0, lr, epochs, delta, momentum, wd):
    y = (h @ W.T + b).argmax(1)
    P = P0.clone().requires_grad_(True)
    opt = torch.optim.SGD([P], lr=lr, momentum=momentum, weight_decay=wd)
    gmin = gmax = None
    for t in range(epochs):
        hv = h.clone().requires_grad_(True)
        z = (hv * P) @ W.T + b
        ce = torch.nn.functional.cross_entropy(z, y, reduction="sum")
        (g,) = torch.autograd.grad(ce, hv, create_graph=True)
        if t == 0:
            gmin, gmax = g.min().detach(), g.max().detach()
        gn = (g - gmin) / (gmax - gmin)
        loss = (gn[:-1] - gn[1:]).norm(dim=1).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            P.clamp_(1 - delta, 1 + delta)
    with torch.no_grad():
        return (h * P) @ W.T + b, P.detach()


def f32(t):
    # Inputs are rounded to float32 so that Go sees the same numbers.
    return t.float().double()


cases = []
for name, n, f, k, lr, epochs, delta in [
    ("cifar-defaults", 6, 5, 4, 10.0, 1, 0.5),
    ("three-steps", 7, 6, 3, 2.0, 3, 0.3),
    ("small-lr", 5, 8, 10, 0.5, 2, 1.0),
]:
    h = f32(torch.rand(n, f) * 2)
    W = f32(torch.randn(k, f))
    b = f32(torch.randn(k) * 0.1)
    P0 = f32(1 + 0.5 * torch.randn(n, f))
    z, P = unig(h, W, b, P0, lr, epochs, delta, 0.9, 5e-4)
    cases.append({
        "name": name, "n": n, "f": f, "k": k, "lr": lr, "epochs": epochs, "delta": delta,
        "momentum": 0.9, "weight_decay": 5e-4,
        "h": h.flatten().tolist(), "w": W.flatten().tolist(), "b": b.tolist(),
        "p0": P0.flatten().tolist(), "logits": z.flatten().tolist(), "p": P.flatten().tolist(),
    })
print(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1))
