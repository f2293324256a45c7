"""Golden values for package uap's feature objectives, computed with PyTorch.

A tiny MLP (flatten, dense 16->12, relu, dense 12->6, relu, dense 6->3; the
layout of trustml's nn.MLP([1 4 4], [12 6], 3)) with fixed weights, five
images x in [0, 1] and a perturbation v in [-0.1, 0.1]. For two feature
layers (the penultimate features, output of layer 4, and the first dense
layer's output, layer 1) it stores each objective and its gradient with
respect to v (autograd, float64):

  fg:  mean_i cos(phi(x_i + v), phi(x_i))           (FG-UAP, minimised)
  dom: mean_i 1 - cos(phi(x_i + v), phi(v))         (dominant pattern)
  gd:  -log ||phi(v)||_2                             (GD-UAP, data-free)

Run: /usr/bin/python3 make_golden.py   (writes golden.npz beside it)
"""
import os
import numpy as np
import torch

torch.manual_seed(0)
rng = np.random.default_rng(7)
sizes = [(16, 12), (12, 6), (6, 3)]
ws = []
for fin, fout in sizes:
    w = rng.uniform(-1, 1, (fout, fin)) / np.sqrt(fin)
    b = rng.uniform(-0.3, 0.3, fout)
    ws += [w, b]
flat = np.concatenate([a.ravel() for a in ws]).astype(np.float32)
# the network in float64 from the float32 weights Go uses
ws = [torch.tensor(a.astype(np.float32).astype(np.float64)) for a in ws]

x = rng.uniform(0, 1, (5, 1, 4, 4)).astype(np.float32)
v = rng.uniform(-0.1, 0.1, (1, 4, 4)).astype(np.float32)


def phi(inp, layer):
    h = inp.reshape(inp.shape[0], -1)
    h = h @ ws[0].T + ws[1]
    if layer == 1:
        return h
    h = torch.relu(h)
    h = torch.relu(h @ ws[2].T + ws[3])
    return h  # layer 4, penultimate


out = {"w": flat, "x": x, "v": v}
for name, layer in [("penultimate", 4), ("dense1", 1)]:
    X = torch.tensor(x.astype(np.float64))
    for obj in ["fg", "dom", "gd"]:
        V = torch.tensor(v.astype(np.float64), requires_grad=True)
        if obj == "fg":
            loss = torch.cosine_similarity(phi(X + V, layer), phi(X, layer), dim=1, eps=0).mean()
        elif obj == "dom":
            loss = (1 - torch.cosine_similarity(phi(X + V, layer), phi(V[None], layer).expand(5, -1), dim=1, eps=0)).mean()
        else:
            loss = -torch.log(phi(V[None], layer).norm())
        loss.backward()
        out[f"{name}_{obj}_loss"] = np.array([loss.item()])
        out[f"{name}_{obj}_grad"] = V.grad.numpy().copy()

np.savez(os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.npz"), **out)
print({k: (v.shape, float(v.ravel()[0])) for k, v in out.items()})
