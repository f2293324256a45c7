#!/usr/bin/env python3
"""Golden values for continual.LAS: the ER-LAS loss CE(logits + tau*log(counts + 1e-50), y)
and its gradient with respect to the raw logits, computed with PyTorch autograd
(float64), following models/er_las.py. Regenerate with
    /usr/bin/python3 continual/testdata/las_golden.py > continual/testdata/las_golden.json
"""
import json

import numpy as np
import torch

rng = np.random.default_rng(17)
k, n = 6, 5
window = 2
tau = 1.0
# three batches of labels pushed into a window of 2: the first drops out;
# classes 4 and 5 appear only in the first, so they are absent (masked).
batches = [[4, 5, 0, 0, 1], [0, 1, 1, 2, 2, 2], [3, 0, 2, 1, 1]]
counts = np.zeros(k)
hist = []
for b in batches:
    c = np.bincount(b, minlength=k).astype(np.float64)
    hist.append(c)
    counts += c
    while len(hist) > window:
        counts -= hist.pop(0)
labels = batches[-1]
logits = np.round(rng.normal(size=(n, k)) * 2, 3).astype(np.float32).astype(np.float64)
z = torch.tensor(logits, requires_grad=True)
adj = tau * torch.log(torch.tensor(counts) + 1e-50)
loss = torch.nn.functional.cross_entropy(z + adj, torch.tensor(labels))
loss.backward()
json.dump({
    "k": k, "window": window, "tau": tau, "batches": batches,
    "logits": logits.ravel().tolist(), "labels": labels,
    "counts": counts.tolist(), "adjustment": adj.tolist(),
    "loss": loss.item(), "grad": z.grad.numpy().ravel().tolist(),
}, __import__("sys").stdout, indent=1)
print()
