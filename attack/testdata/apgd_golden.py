#!/usr/bin/python3
"""Golden values for attack/apgd_test.go: APGD (Croce & Hein 2020) in PyTorch.

This follows attack_single_run of the official code (fra31/auto-attack,
autoattack/autopgd_base.py) for the L-inf and L2 norms: step size 2*eps,
momentum 0.75 (none on the first step), checkpoints after
max(int(0.22 n), 1) iterations then intervals shrinking by
max(int(0.03 n), 1) to max(int(0.06 n), 1), halving the step and restarting
from the best point when the loss rose in at most rho*k of the last k steps
or when the step was not halved at the last checkpoint and the best loss did
not improve. Losses: cross-entropy, DLR, and the targeted DLR of APGD-T
towards the second most likely clean class. The starting points are fixed
(drawn here as the official code draws them, and written out) so that the
Go implementation can start from the same points.

The model is the tiny tanh MLP of the Go tests (z = W2 tanh(W1 x + b1) + b2)
with weights drawn here. Regenerate with
    /usr/bin/python3 attack/testdata/apgd_golden.py > attack/testdata/apgd_golden.json
(torch 1.13, numpy).
"""
import json

import numpy as np
import torch

torch.set_grad_enabled(False)
rng = np.random.default_rng(20201)
D, H, K, N = 16, 12, 5, 8

w1 = (rng.standard_normal((H, D)) * 3 / np.sqrt(D)).astype(np.float32)
b1 = rng.standard_normal(H).astype(np.float32)
w2 = (rng.standard_normal((K, H)) * 3).astype(np.float32)
b2 = (rng.standard_normal(K) * 0.5).astype(np.float32)
# The reference runs in float64 (on the float32 weights and inputs): in
# float32, torch's cross-entropy gradient p - e_y loses most of its digits
# when p_y is near 1, which would make the reference, not the Go code, the
# less accurate side.
W1, B1, W2, B2 = (torch.from_numpy(v.astype(np.float64)) for v in (w1, b1, w2, b2))


def model(x):
    return torch.tanh(x @ W1.T + B1) @ W2.T + B2


# N inputs classified with a clean margin of at least 0.5, labelled with the
# model's prediction.
xs = []
while len(xs) < N:
    v = rng.random(D).astype(np.float32)
    z = model(torch.from_numpy(v.astype(np.float64))[None])[0]
    s = torch.sort(z)[0]
    if s[-1] - s[-2] >= 0.5:
        xs.append(v)
X = torch.from_numpy(np.stack(xs).astype(np.float64))
Y = model(X).argmax(1)


def ce(z, y, t):
    return torch.nn.functional.cross_entropy(z, y, reduction="none")


def dlr(z, y, t):
    zs, ind = z.sort(dim=1)
    top_is_y = (ind[:, -1] == y).float()
    u = torch.arange(z.shape[0])
    return -(z[u, y] - zs[:, -2] * top_is_y - zs[:, -1] * (1.0 - top_is_y)) / (
        zs[:, -1] - zs[:, -3] + 1e-12)


def dlr_targeted(z, y, t):
    zs, _ = z.sort(dim=1)
    u = torch.arange(z.shape[0])
    return -(z[u, y] - z[u, t]) / (zs[:, -1] - 0.5 * (zs[:, -3] + zs[:, -4]) + 1e-12)


def grad_of(x, y, t, loss):
    with torch.enable_grad():
        x = x.clone().requires_grad_()
        z = model(x)
        li = loss(z, y, t)
        g = torch.autograd.grad(li.sum(), [x])[0]
    return z.detach(), li.detach(), g.detach()


def normalize(v, norm):
    if norm == "Linf":
        t = v.abs().max(1, keepdim=True)[0]
    else:
        t = (v ** 2).sum(1, keepdim=True).sqrt()
    return v / (t + 1e-12)


def proj(v, x, eps, norm):
    if norm == "Linf":
        return torch.clamp(torch.min(torch.max(v, x - eps), x + eps), 0.0, 1.0)
    d = v - x
    n = (d ** 2).sum(1, keepdim=True).sqrt()
    return torch.clamp(x + normalize(d, norm) * torch.min(eps * torch.ones_like(n), n), 0.0, 1.0)


def start(x, eps, norm, gen):
    if norm == "Linf":
        t = 2 * torch.rand(x.shape, generator=gen) - 1
    else:
        t = torch.randn(x.shape, generator=gen)
    # Rounded to float32, the precision of the Go inputs.
    return (x + eps * normalize(t.double(), norm)).clamp(0.0, 1.0).float().double()


TIE = 1e-6  # relative difference below which a float32 run may decide the other way


def close(a, b, xa, xb):
    """Near-tied losses a, b at different points xa, xb (equal points give
    equal losses in both runs)."""
    same = (xa == xb).all(1)
    return ~same & ((a - b).abs() <= TIE * torch.max(torch.ones_like(a), torch.max(a.abs(), b.abs())))


def apgd(x, y, t, x0, eps, norm, loss, n_iter, rho=0.75):
    """attack_single_run; returns the per-sample trajectory and outcome.

    reliable[i] counts the leading trajectory entries of sample i computed
    before any decision that hinged on a near tie (a loss comparison, a
    gradient sign or the predicted class within TIE): the Go model runs in
    float32, so after such a decision the two runs may legitimately part.
    """
    n = x.shape[0]
    reliable = torch.full((n,), n_iter + 1)

    def fragile(mask, at):
        reliable[mask & (reliable > at)] = at

    def check_eval(z, g, at):
        zs = z.sort(dim=1)[0]
        fragile((zs[:, -1] - zs[:, -2]).abs() <= TIE * torch.max(torch.ones_like(zs[:, -1]), zs[:, -1].abs()), at + 1)
        if norm == "Linf":
            small = (g.abs() <= TIE * g.abs().max(1, keepdim=True)[0]) & (g != 0)
            fragile(small.any(1), at + 1)

    n_iter_2, n_iter_min, size_decr = max(int(0.22 * n_iter), 1), max(int(0.06 * n_iter), 1), max(int(0.03 * n_iter), 1)
    x_adv = x0.clone()
    z, li, grad = grad_of(x_adv, y, t, loss)
    check_eval(z, grad, 0)
    traj = [li.clone()]
    acc = z.argmax(1) == y
    fooled_at = torch.where(acc, torch.full((n,), -1), torch.zeros(n, dtype=torch.long))
    x_best, grad_best, loss_best = x_adv.clone(), grad.clone(), li.clone()
    step = 2.0 * eps * torch.ones(n, 1, dtype=torch.float64)
    x_old = x_adv.clone()
    loss_steps = torch.zeros(n_iter, n, dtype=torch.float64)
    x_steps = torch.full((n_iter, n, x.shape[1]), -1.0, dtype=torch.float64)
    k, counter3 = n_iter_2, 0
    loss_best_last, reduced_last = loss_best.clone(), torch.ones(n)
    x_best_last = x_best.clone()
    for i in range(n_iter):
        grad2 = x_adv - x_old
        x_old = x_adv.clone()
        a = 0.75 if i > 0 else 1.0
        if norm == "Linf":
            x1 = proj(x_adv + step * torch.sign(grad), x, eps, norm)
        else:
            x1 = proj(x_adv + step * normalize(grad, norm), x, eps, norm)
        x_adv = proj(x_adv + (x1 - x_adv) * a + grad2 * (1 - a), x, eps, norm)
        z, li, grad = grad_of(x_adv, y, t, loss)
        check_eval(z, grad, i + 1)
        traj.append(li.clone())
        pred = z.argmax(1) == y
        newly = acc & ~pred
        fooled_at[newly] = i + 1
        acc = acc & pred
        loss_steps[i] = li
        x_steps[i] = x_adv
        fragile(close(li, loss_best, x_adv, x_best), i + 2)
        ind = li > loss_best
        x_best[ind], grad_best[ind], loss_best[ind] = x_adv[ind], grad[ind], li[ind]
        counter3 += 1
        if counter3 == k:
            ups = torch.zeros(n)
            for c in range(k):
                ups += (loss_steps[i - c] > loss_steps[i - c - 1]).float()
                fragile(close(loss_steps[i - c], loss_steps[i - c - 1], x_steps[i - c], x_steps[i - c - 1]), i + 2)
            osc = ups <= k * rho
            noimpr = (reduced_last == 0) & (loss_best_last >= loss_best)
            fragile((reduced_last == 0) & close(loss_best_last, loss_best, x_best_last, x_best), i + 2)
            fl = osc | noimpr
            reduced_last = fl.float()
            loss_best_last = loss_best.clone()
            x_best_last = x_best.clone()
            step[fl] /= 2.0
            x_adv[fl] = x_best[fl]
            grad[fl] = grad_best[fl]
            counter3 = 0
            k = max(k - size_decr, n_iter_min)
    return {
        "trajectory": torch.stack(traj).T.tolist(),  # n × (n_iter+1): start, then each iteration
        "reliable": reliable.tolist(),
        "fooled_at": fooled_at.tolist(),  # evaluation index of the first fooling point (0: start), -1 never
        "loss_best": loss_best.tolist(),
        "x_best": x_best.reshape(-1).tolist(),
        "step": step.reshape(-1).tolist(),
    }


gen = torch.Generator().manual_seed(0)
cases = []
for norm, eps in (("Linf", 0.08), ("L2", 0.35)):
    for objective in ("ce", "dlr", "dlr-t"):
        n_iter = 40
        x0 = start(X, eps, norm, gen)
        if objective == "dlr-t":
            t = model(X).sort(dim=1)[1][:, -2]
            out = apgd(X, Y, t, x0, eps, norm, dlr_targeted, n_iter)
        else:
            out = apgd(X, Y, None, x0, eps, norm, ce if objective == "ce" else dlr, n_iter)
        out.update(norm=norm, eps=eps, objective=objective, iters=n_iter, init=x0.reshape(-1).tolist())
        cases.append(out)

print(json.dumps({
    "d": D, "h": H, "k": K,
    "w1": w1.reshape(-1).tolist(), "b1": b1.tolist(), "w2": w2.reshape(-1).tolist(), "b2": b2.tolist(),
    "x": X.reshape(-1).tolist(), "y": Y.tolist(),
    "cases": cases,
}))
