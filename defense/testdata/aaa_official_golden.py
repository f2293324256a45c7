#!/usr/bin/python3
"""Golden values for AAA's official update rule (defense/aaa.go, Official
mode): the official algorithm (shared/methods/robustness.md §1.2) run in
PyTorch with autograd on one fixed batch of 64 rows x 10 classes.

As in the official code (AAALinear/AAASine.forward), the whole batch is one
tensor optimised by one Adam (lr 0.1, betas (0.9, 0.999), eps 1e-8) for 100
steps on

    mean_rows |m(z) - t| + kappa * mean_rows |softmax(z)_c - p_ref|,

with m(z) the top-2 margin of the current logits (topk recomputed every
step), c the original top-1 class, p_ref = softmax(z0 / T)_c, attractor
a = (round(m0/tau + 0.5) - 0.5)*tau, linear target a - alpha*(m0 - a), sine
target m0 - 0.7*tau*sin((1 - 2(m0 - a)/tau)*pi); tau = 6, alpha = 1,
kappa = 5, T = 1. Because the loss is a batch mean, each row's gradient is
1/64 of its per-row gradient, and Adam's eps acts against it: rows with
tiny probabilities move differently from a per-row optimisation.

The official code runs in float32 (the model's logits); this script runs in
float64, the precision of the Go implementation, so that the comparison
tests the update rule and not float32 rounding. The official code returns
the optimised logits even when a row's argmax changed; the Go code's guard
returns such rows unchanged, so the script records which rows changed
argmax ("argmax_changed") and the test expects the input there.

The logits: rows from a seeded numpy generator at logit scales 1, 3 and 8,
and rows with one class 15 to 40 logits above the rest, whose other
probabilities are below 1e-6 (down to about 1e-17).

Regenerate with:  /usr/bin/python3 defense/testdata/aaa_official_golden.py
(writes aaa_official_golden.json next to this script; needs torch, e.g.
Debian's python3-torch).
"""
import json
import math
import os

import numpy as np
import torch


def official_batch(z0, variant, tau=6.0, alpha=1.0, kappa=5.0, temperature=1.0,
                   iters=100, lr=0.1):
    logits_ori = torch.tensor(z0, dtype=torch.float64)
    prob_ori = torch.softmax(logits_ori / temperature, dim=1)
    value, index_ori = torch.topk(logits_ori, k=2, dim=1)
    c = index_ori[:, 0]
    prob_max_ori = prob_ori.gather(1, c[:, None])[:, 0]
    mask_first = torch.zeros_like(logits_ori)
    mask_first[torch.arange(len(c)), c] = 1
    margin_ori = value[:, 0] - value[:, 1]
    attractor = ((margin_ori / tau + 0.5).round() - 0.5) * tau
    if variant == "linear":
        target = attractor - alpha * (margin_ori - attractor)
    else:
        target = margin_ori - 0.7 * tau * torch.sin(
            (1 - 2 / tau * (margin_ori - attractor)) * math.pi)
    logits = logits_ori.clone().requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    for _ in range(iters):
        prob = torch.softmax(logits, dim=1)
        # The official code takes (prob * mask_first).max(1): p_c.
        loss_calibration = ((prob * mask_first).max(1)[0] - prob_max_ori).abs().mean()
        v, _ = torch.topk(logits, k=2, dim=1)
        margin = v[:, 0] - v[:, 1]
        loss_defense = (margin - target).abs().mean()
        loss = loss_defense + loss_calibration * kappa
        loss.backward()
        opt.step()
        opt.zero_grad()
    out = logits.detach()
    changed = (out.float().argmax(1) != c).tolist()
    return out.numpy().tolist(), changed


def main():
    rng = np.random.default_rng(20261206)
    rows = []
    for scale, n in ((1.0, 16), (3.0, 16), (8.0, 16)):
        rows += (scale * rng.standard_normal((n, 10))).tolist()
    for i in range(16):
        r = rng.standard_normal(10)
        r[rng.integers(10)] += 15 + 25 * i / 15  # one class far above the rest
        rows.append(r.tolist())
    # Store float32 values, the Go input type, and optimise those exactly.
    rows = np.asarray(rows, dtype=np.float32)
    out = {"k": 10, "logits": rows.reshape(-1).tolist(), "cases": []}
    z0 = rows.astype(np.float64)
    for variant in ("linear", "sine"):
        want, changed = official_batch(z0, variant)
        out["cases"].append({
            "variant": variant, "tau": 6.0, "alpha": 1.0, "kappa": 5.0,
            "temperature": 1.0, "iters": 100, "lr": 0.1, "eps": 1e-8,
            "want": [x for r in want for x in r], "argmax_changed": changed,
        })
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "aaa_official_golden.json"), "w") as f:
        json.dump(out, f, indent=None)
        f.write("\n")


if __name__ == "__main__":
    main()
