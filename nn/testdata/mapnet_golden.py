"""Golden values for nn's MapNet (TestMapNetGolden): a small siamese,
fully convolutional network with group pyramid pooling, upsampling and two
output heads, built in PyTorch with the weights drawn here; forward outputs
and the gradients of loss = sum_h sum(c_h * out_h).

Run from this directory: python3 mapnet_golden.py  (writes mapnet_golden.json)
The network mirrors testMapSpec in mapnet_test.go.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(7)
torch.set_default_dtype(torch.float64)

# (name, out, in, k) in the parameter order of MapNet (builder order).
convs = [
    ("shared.0", 3, 1, 3),
    ("trunk.0", 4, 6, 3),
    ("trunk.2.branches.1.1", 2, 4, 1),
    ("trunk.2.branches.2.1", 2, 4, 1),
    ("trunk.3", 3, 8, 1),
    ("heads.0.0", 2, 6, 1),
    ("heads.1.1", 5, 3, 3),
]
W = {}
for name, o, i, k in convs:
    W[name + ".weight"] = torch.tensor(rng.uniform(-0.5, 0.5, (o, i, k, k)), requires_grad=True)
    W[name + ".bias"] = torch.tensor(rng.uniform(-0.5, 0.5, (o,)), requires_grad=True)

n = 2
x = torch.tensor(rng.uniform(0, 1, (n, 2, 8, 8)), requires_grad=True)


def conv(t, name, stride=1, pad=0):
    return F.conv2d(t, W[name + ".weight"], W[name + ".bias"], stride=stride, padding=pad)


# siamese stem: each channel through the same conv, features concatenated
feats = [F.relu(conv(x[:, g : g + 1], "shared.0", pad=1)) for g in range(2)]
m = torch.cat(feats, dim=1)  # 6 x 8 x 8
t = F.relu(conv(m, "trunk.0", stride=2, pad=1))  # 4 x 4 x 4
branches = [t]
for b, s in ((1, 2), (2, 4)):
    p = F.avg_pool2d(t, s, s)
    p = F.relu(conv(p, f"trunk.2.branches.{b}.1"))
    branches.append(F.interpolate(p, scale_factor=s, mode="nearest"))
t = torch.cat(branches, dim=1)  # 8 x 4 x 4
t = conv(t, "trunk.3")  # 3 x 4 x 4
t = t + F.interpolate(F.max_pool2d(t, 2), scale_factor=2, mode="nearest")  # residual
outs = [conv(m, "heads.0.0"), conv(F.interpolate(t, scale_factor=2, mode="nearest"), "heads.1.1", pad=1)]

nhwc = lambda a: a.permute(0, 2, 3, 1)
cs = [torch.tensor(rng.normal(size=tuple(nhwc(o).shape))) for o in outs]
loss = sum((c * nhwc(o)).sum() for c, o in zip(cs, outs))
loss.backward()

ours = lambda w: (w.permute(0, 2, 3, 1) if w.dim() == 4 else w).reshape(-1).tolist()
names = [n_ for c in convs for n_ in (c[0] + ".weight", c[0] + ".bias")]
json.dump(
    {
        "names": names,
        "weights": [v for k in names for v in ours(W[k].detach())],
        "x": x.detach().reshape(-1).tolist(),
        "c": [c.reshape(-1).tolist() for c in cs],
        "outs": [nhwc(o).detach().reshape(-1).tolist() for o in outs],
        "grads": [v for k in names for v in ours(W[k].grad)],
        "dx": x.grad.reshape(-1).tolist(),
    },
    open("mapnet_golden.json", "w"),
)
print("loss", loss.item())
