#!/usr/bin/python3
"""Golden values for AAA (defense/aaa.go), written from the spec
(shared/methods/robustness.md §1.2) in PyTorch with autograd, so that the Go
implementation's analytic gradients, Adam loop, attractor and target are
checked against an independent computation.

Each row is optimised as its own batch of one (B = 1, where the Go
implementation's Official and PerRow modes agree; aaa_official_golden.py
checks the official batch mean over many rows, which Adam does not cancel
against eps), in float64, with the official loop structure:
softmax, topk(2) margin, |margin - target| + kappa*|p_c - p_ref|, Adam.
Rows whose argmax changes get the spec's safety guard: the input is returned.

Regenerate with:  /usr/bin/python3 defense/testdata/aaa_golden.py
(writes defense/testdata/aaa_golden.json next to this script).
"""
import json
import math
import os

import numpy as np
import torch


def aaa_row(z0, variant, tau, alpha, kappa, temperature, iters, lr):
    z0 = torch.tensor(z0, dtype=torch.float64).reshape(1, -1)
    prob_ori = torch.softmax(z0 / temperature, dim=1)
    value, index_ori = torch.topk(z0, k=2, dim=1)
    c = int(index_ori[0, 0])
    p_ref = prob_ori[0, c]
    margin_ori = value[:, 0] - value[:, 1]
    attractor = ((margin_ori / tau + 0.5).round() - 0.5) * tau
    if variant == "linear":
        target = attractor - alpha * (margin_ori - attractor)
    else:
        target = margin_ori - 0.7 * tau * torch.sin(
            (1 - 2 / tau * (margin_ori - attractor)) * math.pi)
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    for _ in range(iters):
        prob = torch.softmax(z, dim=1)
        loss_cal = (prob[0, c] - p_ref).abs()
        v, _ = torch.topk(z, k=2, dim=1)
        margin = v[:, 0] - v[:, 1]
        loss = (margin - target).abs().mean() + kappa * loss_cal
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = z.detach()[0]
    # Argmax guard on the float32 output (first index on ties).
    out32 = out.numpy().astype(np.float32)
    reverted = int(np.argmax(out32)) != c
    if reverted:
        out = z0[0]
    return out.numpy().tolist(), float(attractor), float(target), reverted


def main():
    rng = np.random.default_rng(20240607)
    rows = []
    # Random rows at three logit scales, K = 10.
    for scale in (1.0, 3.0, 6.0):
        for _ in range(6):
            rows.append(rng.normal(0, scale, 10))
    # Rows with chosen top-2 margins around the attractor boundaries of tau = 6.
    for m0 in (0.3, 2.9, 3.1, 5.0, 5.9, 6.2, 9.0, 11.5, 14.0, 30.0):
        r = rng.normal(0, 1, 10)
        r.sort()
        r = r[::-1].copy()
        r[0] = r[1] + m0
        rng.shuffle(r)
        rows.append(r)
    # Small K.
    for k in (2, 3, 5):
        for _ in range(3):
            rows.append(rng.normal(0, 2.5, k))
    rows = [np.asarray(r, dtype=np.float32) for r in rows]

    configs = [
        dict(variant="linear", tau=6.0, alpha=1.0, kappa=5.0, temperature=1.0, iters=100, lr=0.1),
        dict(variant="sine", tau=6.0, alpha=1.0, kappa=5.0, temperature=1.0, iters=100, lr=0.1),
        dict(variant="linear", tau=3.0, alpha=0.5, kappa=5.0, temperature=2.5, iters=100, lr=0.1),
        dict(variant="sine", tau=4.0, alpha=1.0, kappa=0.0, temperature=0.7, iters=37, lr=0.05),
    ]
    cases = []
    for cfg in configs:
        for r in rows:
            out, a, t, rev = aaa_row(r.astype(np.float64), **cfg)
            cases.append(dict(cfg, logits=[float(x) for x in r], want=out,
                              attractor=a, target=t, reverted=rev))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "aaa_golden.json")
    with open(path, "w") as f:
        json.dump({"generator": "defense/testdata/aaa_golden.py",
                   "torch": torch.__version__, "cases": cases}, f, indent=0)
        f.write("\n")
    print("wrote", len(cases), "cases to", path,
          "(reverted:", sum(c["reverted"] for c in cases), ")")


if __name__ == "__main__":
    main()
