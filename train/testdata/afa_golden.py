"""Golden values of the AFA loss and the dual batch norm (train/afa.go,
nn/dualbn.go), computed with PyTorch's own batch norm (F.batch_norm) and
autograd on fixed tensors. Regenerate with
    python3 train/testdata/afa_golden.py > train/testdata/afa_golden.json
Network: input 2x4x4 -> dual BN -> tanh -> global average pool -> linear 3.
"""
import json

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(7)
n, c, h, w, k = 5, 2, 4, 4, 3
s, lam, mom = 0.4, 1.5, 0.1

x = rng.uniform(0, 1, (n, c, h, w))
adv = np.clip(x + rng.uniform(-0.2, 0.2, x.shape), 0, 1)
xe = rng.uniform(0, 1, (3, c, h, w))
y = rng.integers(0, k, n)
params = {
    "0.clean.weight": rng.normal(1, 0.3, c), "0.clean.bias": rng.normal(0, 0.3, c),
    "0.adv.weight": rng.normal(1, 0.3, c), "0.adv.bias": rng.normal(0, 0.3, c),
    "0.fuse.weight": rng.normal(0, 0.5, c), "0.fuse.bias": rng.normal(0, 0.5, 1),
    "3.weight": rng.normal(0, 0.5, (k, c)), "3.bias": rng.normal(0, 0.5, k),
}
buffers = {
    "0.clean.running_mean": rng.normal(0.5, 0.1, c), "0.clean.running_var": rng.uniform(0.05, 0.2, c),
    "0.adv.running_mean": rng.normal(0.5, 0.1, c), "0.adv.running_var": rng.uniform(0.05, 0.2, c),
}
# float32 round trip so that Go (float32 weights) sees the same numbers
rt = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)
x, adv, xe = rt(x), rt(adv), rt(xe)
params = {k_: rt(v) for k_, v in params.items()}
buffers = {k_: rt(v) for k_, v in buffers.items()}

P = {k_: torch.tensor(v, requires_grad=True) for k_, v in params.items()}
B = {k_: torch.tensor(v) for k_, v in buffers.items()}


def fuse_weight(t):
    ref = torch.log(B["0.clean.running_mean"] ** 2 + B["0.clean.running_var"] + 1e-5)
    f = 4 * (torch.log(t.pow(2).mean((2, 3)) + 1e-5) - ref)
    return torch.sigmoid(f @ P["0.fuse.weight"] + P["0.fuse.bias"])


def forward(t, omega, training):
    """Logits and predicted fusing weights; omega None = predicted."""
    wp = fuse_weight(t)
    om = wp if omega is None else torch.full((t.shape[0],), float(omega))
    if training:
        wbar = float(om.mean())
        # running statistics with PyTorch's batch norm (unbiased variance)
        F.batch_norm(t, B["0.clean.running_mean"], B["0.clean.running_var"], training=True, momentum=mom * (1 - wbar))
        F.batch_norm(t, B["0.adv.running_mean"], B["0.adv.running_var"], training=True, momentum=mom * wbar)
        cl = F.batch_norm(t, None, None, P["0.clean.weight"], P["0.clean.bias"], training=True)
        ad = F.batch_norm(t, None, None, P["0.adv.weight"], P["0.adv.bias"], training=True)
    else:
        cl = F.batch_norm(t, B["0.clean.running_mean"], B["0.clean.running_var"], P["0.clean.weight"], P["0.clean.bias"], training=False)
        ad = F.batch_norm(t, B["0.adv.running_mean"], B["0.adv.running_var"], P["0.adv.weight"], P["0.adv.bias"], training=False)
    o = om.view(-1, 1, 1, 1)
    z = o * ad + (1 - o) * cl
    z = torch.tanh(z).mean((2, 3))
    return F.linear(z, P["3.weight"], P["3.bias"]), wp


yt = torch.tensor(y)
total = 0
for t, target in ((torch.tensor(x), 0.0), (torch.tensor(adv), s)):
    logits, wp = forward(t, target, True)
    bce = F.binary_cross_entropy(wp, torch.full_like(wp, target))
    total = total + 0.5 * F.cross_entropy(logits, yt) + lam * 0.5 * bce
total.backward()
with torch.no_grad():
    eval_logits, eval_w = forward(torch.tensor(xe), None, False)
    forced_logits, _ = forward(torch.tensor(xe), 1.0, False)

out = {
    "n": n, "c": c, "h": h, "w": w, "k": k, "s": s, "lambda": lam,
    "x": x.ravel().tolist(), "adv": adv.ravel().tolist(), "x_eval": xe.ravel().tolist(), "y": y.tolist(),
    "params": {k_: v.ravel().tolist() for k_, v in params.items()},
    "buffers": {k_: v.ravel().tolist() for k_, v in buffers.items()},
    "loss": float(total),
    "grads": {k_: v.grad.ravel().tolist() for k_, v in P.items()},
    "buffers_after": {k_: v.ravel().tolist() for k_, v in B.items()},
    "eval_logits": eval_logits.ravel().tolist(),
    "eval_fuse": eval_w.ravel().tolist(),
    "eval_logits_fuse1": forced_logits.ravel().tolist(),
}
print(json.dumps(out, indent=1))
