"""PyTorch side of bench/at: one PGD-AT training step on the same CNN as
trustml's nn.CNN ("cnn": conv3x3(32, pad 1)-ReLU-maxpool2, conv3x3(64,
pad 1)-ReLU-maxpool2, dense 128-ReLU, dense 10), batch 128: PGD-10 at
eps 0.1 (step 2.5*eps/10, uniform random start, clipped to [0, 1]) in eval
mode, then an SGD step (momentum 0.9, wd 5e-4) on the adversarial batch in
train mode, on 2 threads.

    /usr/bin/python3 torch_at.py --steps 3 --reps 1

Prints one JSON line: the images/s of each repetition and their median.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as tnn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--batch", type=int, default=128)
p.add_argument("--pgd-steps", type=int, default=10)
p.add_argument("--steps", type=int, default=3)
p.add_argument("--reps", type=int, default=1)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

net = tnn.Sequential(
    tnn.Conv2d(1, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
    tnn.Conv2d(32, 64, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
    tnn.Flatten(), tnn.Linear(64 * 7 * 7, 128), tnn.ReLU(), tnn.Linear(128, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.rand(a.batch, 1, 28, 28)
y = torch.randint(0, 10, (a.batch,))
eps = 0.1
alpha = 2.5 * eps / a.pgd_steps


def pgd(x, y):
    net.eval()
    d = torch.empty_like(x).uniform_(-eps, eps)
    xa = (x + d).clamp(0, 1)
    for _ in range(a.pgd_steps):
        xa.requires_grad_(True)
        loss = F.cross_entropy(net(xa), y)
        (g,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            xa = torch.min(torch.max(xa + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    net.train()
    return xa.detach()


def step():
    xa = pgd(x, y)
    opt.zero_grad()
    F.cross_entropy(net(xa), y).backward()
    opt.step()


step()  # warm up
rates = []
for _ in range(a.reps):
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    rates.append(a.batch * a.steps / (time.perf_counter() - t))
print(json.dumps({"engine": "pytorch-" + torch.__version__ + f" ({a.threads} threads)", "batch": a.batch,
                  "pgd_steps": a.pgd_steps, "img_s": rates, "median_img_s": statistics.median(rates)}))
