"""Golden values for package unlearn, computed independently with PyTorch,
NumPy and scikit-learn. Run from this directory:

    /usr/bin/python3 make_golden.py   # writes golden.json

1. mia: the loss-based membership-inference AUC (sklearn roc_auc_score of
   the negated losses, members labelled 1), with ties.
2. sfron: SFR-on on a tiny MLP (16-8-3, PyTorch layout) — the Fisher-ratio
   mask from one forget and one retain batch, then 2 iterations of the
   fast-slow loop (forget step every iteration, adaptive weights l^-lambda,
   cosine-decayed alpha, masked and norm-clipped forget gradient, retain
   step), one SGD (momentum 0.9, weight decay 5e-4) with a cosine learning
   rate over the iterations.
3. natmu: the four 28x28 blending masks of the reference code with
   delta = -0.19 (a direct transcription of its loops).
"""
import json
import math

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

out = {}

# 1. MIA AUC
rng = np.random.default_rng(7)
member = np.round(rng.exponential(0.3, 40), 2)     # rounded: ties within and across sets
nonmember = np.round(rng.exponential(0.6, 55), 2)
y = np.r_[np.ones(40), np.zeros(55)]
s = -np.r_[member, nonmember]
out["mia"] = {"member": member.tolist(), "nonmember": nonmember.tolist(), "auc": float(roc_auc_score(y, s))}

# 2. SFR-on
torch.manual_seed(3)
torch.set_default_dtype(torch.float64)
net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
params = list(net.parameters())
init = [p.detach().clone() for p in params]
xf = torch.rand(4, 1, 4, 4); yf = torch.tensor([0, 1, 2, 0])
xr = torch.rand(6, 1, 4, 4); yr = torch.tensor([1, 2, 0, 1, 2, 2])
lr, alpha, lam, gamma, max_norm, iters = 0.1, 2.0, 0.5, 1.0, 0.5, 2
ce = torch.nn.CrossEntropyLoss()

def grads(x, y):
    net.zero_grad()
    ce(net(x), y).backward()
    return [p.grad.detach().clone() for p in params]

ff = [g ** 2 for g in grads(xf, yf)]
fr = [g ** 2 for g in grads(xr, yr)]
mask = [((a + 1e-15) / (b + 1e-15) >= gamma).double() for a, b in zip(ff, fr)]
opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4)
for t in range(iters):
    for g in opt.param_groups:
        g["lr"] = lr * 0.5 * (1 + math.cos(math.pi * t / iters))
    a_t = alpha * 0.5 * (1 + math.cos(math.pi * t / iters))
    opt.zero_grad()
    losses = torch.nn.functional.cross_entropy(net(xf), yf, reduction="none")
    w = losses.detach() ** (-lam)
    w = w / w.sum()
    (-a_t * (w * losses).sum()).backward()
    for p, m in zip(params, mask):
        p.grad.mul_(m)
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    opt.step()
    opt.zero_grad()
    ce(net(xr), yr).backward()
    opt.step()
flat = lambda ts: torch.cat([t.reshape(-1) for t in ts]).tolist()
out["sfron"] = {
    "lr": lr, "alpha": alpha, "lambda": lam, "gamma": gamma, "max_norm": max_norm, "iters": iters,
    "xf": xf.reshape(-1).tolist(), "yf": yf.tolist(), "xr": xr.reshape(-1).tolist(), "yr": yr.tolist(),
    "init": flat(init), "mask": flat(mask), "final": flat([p.detach() for p in params]),
}

# 3. NatMU masks (28x28), transcribed from the reference loops
H = 28
a, b = 2, H // 2
m = np.zeros((4, H, H))
for i in range(a):
    for j in range(b):
        if i % 2 == 0:
            m[0, i*b+j, :] = j/b; m[1, :, i*b+j] = j/b
            m[2, i*b+j, :] = (b-1)/b - j/b; m[3, :, i*b+j] = (b-1)/b - j/b
        else:
            m[0, i*b+j, :] = (b-1)/b - j/b; m[1, :, i*b+j] = (b-1)/b - j/b
            m[2, i*b+j, :] = j/b; m[3, :, i*b+j] = j/b
m = np.clip(m - 0.19, 0, 1)
out["natmu"] = {"delta": -0.19, "masks": m.reshape(4, -1).tolist()}

with open("golden.json", "w") as f:
    json.dump(out, f)
print("mia auc", out["mia"]["auc"], "mask kept", sum(out["sfron"]["mask"]), "of", len(out["sfron"]["mask"]))

# 4. The reference code's entropy MIA: LogisticRegression(class_weight="balanced",
#    multinomial, C=1) on softmax entropies, retain = 1, test = 0; the fraction
#    of forget samples predicted member. tol is tightened so that the optimum,
#    not lbfgs's stopping point, is compared.
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(11)
ret = rng.gamma(1.0, 0.15, 300)
tst = rng.gamma(1.5, 0.3, 120)
fgt = rng.gamma(1.2, 0.22, 80)
clf = LogisticRegression(class_weight="balanced", solver="lbfgs", multi_class="multinomial", tol=1e-12, max_iter=100000)
clf.fit(np.r_[ret, tst].reshape(-1, 1), np.r_[np.ones(len(ret)), np.zeros(len(tst))])
out["entropy_mia"] = {"retain": ret.tolist(), "test": tst.tolist(), "forget": fgt.tolist(),
                      "member_fraction": float(clf.predict(fgt.reshape(-1, 1)).mean()),
                      "threshold": float(-clf.intercept_[0] / clf.coef_[0, 0])}  # binary multinomial: sklearn keeps class 1 of the symmetric pair
with open("golden.json", "w") as f:
    json.dump(out, f)
print("entropy mia", out["entropy_mia"]["member_fraction"], "threshold", out["entropy_mia"]["threshold"])
