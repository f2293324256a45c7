"""PyTorch side of bench/nn: the same small CNN as trustml's nn.CNN
("cnn": conv3x3(32, pad 1)-ReLU-maxpool2, conv3x3(64, pad 1)-ReLU-maxpool2,
dense 128-ReLU, dense 10; "cnn-bn" adds batch norm after each convolution
and dropout 0.25), SGD with momentum, batch 128, on 2 threads.

    /usr/bin/python3 torch_cnn.py --arch cnn --reps 5

Prints one JSON line with the median images/s over the repetitions.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as tnn

p = argparse.ArgumentParser()
p.add_argument("--arch", default="cnn")
p.add_argument("--batch", type=int, default=128)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--reps", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

bn = a.arch == "cnn-bn"
layers = []
cin = 1
for ch in (32, 64):
    layers.append(tnn.Conv2d(cin, ch, 3, padding=1))
    if bn:
        layers.append(tnn.BatchNorm2d(ch))
    layers += [tnn.ReLU(), tnn.MaxPool2d(2)]
    cin = ch
layers += [tnn.Flatten(), tnn.Linear(64 * 7 * 7, 128), tnn.ReLU()]
if bn:
    layers.append(tnn.Dropout(0.25))
layers.append(tnn.Linear(128, 10))
net = tnn.Sequential(*layers)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
x = torch.rand(a.batch, 1, 28, 28)
y = torch.randint(0, 10, (a.batch,))
loss_fn = tnn.CrossEntropyLoss()


def train_step():
    opt.zero_grad()
    loss_fn(net(x), y).backward()
    opt.step()


def infer_step():
    with torch.no_grad():
        net(x)


def measure(step, train):
    net.train(train)
    step()
    rates = []
    for _ in range(a.reps):
        t = time.perf_counter()
        for _ in range(a.steps):
            step()
        rates.append(a.batch * a.steps / (time.perf_counter() - t))
    return statistics.median(rates)


print(json.dumps({
    "engine": "pytorch-" + torch.__version__, "arch": a.arch, "batch": a.batch, "threads": a.threads,
    "train_img_s": measure(train_step, True), "infer_img_s": measure(infer_step, False),
}))
