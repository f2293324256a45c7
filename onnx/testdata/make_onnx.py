#!/usr/bin/python3
"""Golden files for package onnx's import tests.

Exports small PyTorch models to ONNX and writes, for each model NAME:
  NAME.onnx        the model (opset 13, batch size 1 at export, eval mode)
  NAME_x.npy       fixed inputs (float32, NCHW or N×D)
  NAME_logits.npy  PyTorch's logits for them
  NAME_w.npy       fixed weights w of the loss L = Σ logits ⊙ w
  NAME_grad.npy    dL/dx from PyTorch autograd

unsupported.onnx (an Elu, for the error test), and fashion_cnn.onnx, a small CNN trained briefly on Fashion-MNIST (Debian's
dataset-fashion-mnist IDX files), with fashion_cnn.json recording PyTorch's
accuracy on the full 10,000-image test set (pixels scaled to [0, 1], as
trustml's data.FashionMNIST reads them).

Run with Debian's python3 (torch 1.13, onnx 1.12, numpy):
  /usr/bin/python3 onnx/testdata/make_onnx.py
"""
import gzip
import json
import os

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(0)
np.random.seed(0)


class Norm(nn.Module):
    """Per-channel input normalisation, exported as Sub and Div."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        s = x if self.short is None else self.short(x)
        return torch.relu(y + s)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        self.l1 = Block(4, 4, 1)
        self.l2 = Block(4, 8, 2)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))

    def forward(self, x):
        return self.head(self.l2(self.l1(self.stem(x))))


class MatMulMLP(nn.Module):
    """x @ W + b written out, exported as MatMul and Add."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(12, 7) * 0.3)
        self.b1 = nn.Parameter(torch.randn(7) * 0.1)
        self.out = nn.Linear(7, 3)

    def forward(self, x):
        return self.out(torch.sigmoid(x @ self.w1 + self.b1))


def randomize_bn(m):
    """Non-trivial running statistics and affine parameters."""
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c) * 0.2)
            mod.running_var.copy_(torch.rand(c) + 0.5)
            mod.weight.data.copy_(torch.rand(c) + 0.5)
            mod.bias.data.copy_(torch.randn(c) * 0.1)


def models():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 5, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(),
                        nn.Linear(12, 10), nn.LeakyReLU(0.1), nn.Dropout(0.3), nn.Linear(10, 4))
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.ZeroPad2d((1, 0, 0, 1)), nn.Conv2d(4, 6, 2, 1, 0), nn.LeakyReLU(0.2), nn.AvgPool2d(2),
                        nn.Flatten(), nn.Linear(6 * 2 * 2, 8), nn.Sigmoid(), nn.Linear(8, 5))
    bn = nn.Sequential(Norm([0.5, 0.4, 0.3], [0.25, 0.2, 0.3]), nn.BatchNorm2d(3),
                       nn.Conv2d(3, 5, 3, 1, 0), nn.ReLU(), nn.Conv2d(5, 6, 3, 1, 1), nn.BatchNorm2d(6), nn.ReLU(),
                       nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(6 * 3 * 3, 10), nn.BatchNorm1d(10), nn.ReLU(),
                       nn.Linear(10, 4), nn.Softmax(dim=1))
    # groups=2, then depthwise (groups = channels)
    # with padded max pooling of negative values (padding must never win)
    grouped = nn.Sequential(nn.Conv2d(4, 6, 3, 1, 1, groups=2), nn.MaxPool2d(3, 1, 1), nn.Tanh(), nn.Conv2d(6, 6, 3, 2, 1, groups=6), nn.ReLU(),
                            nn.Flatten(), nn.Linear(6 * 3 * 3, 3))
    return {
        "mlp": (mlp, (2, 5, 5)),
        "matmul": (MatMulMLP(), (12,)),
        "cnn": (cnn, (3, 8, 8)),
        "cnn_bn": (bn, (3, 8, 8)),
        "resnet": (ResNet(), (3, 8, 8)),
        "concat": (CatNet(), (2, 6, 6)),
        "grouped": (grouped, (4, 6, 6)),
    }


def export(m, shape, path):
    m.eval()
    torch.onnx.export(m, torch.zeros((1,) + shape), path, opset_version=13, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      training=torch.onnx.TrainingMode.EVAL)
    onnx.checker.check_model(onnx.load(path))


def fold_pads(path, pads):
    """Replace the shape arithmetic PyTorch exports for ZeroPad2d's pads with
    the constant it computes (ONNX order: begins of N, C, H, W, then ends),
    and drop the nodes that only fed it."""
    m = onnx.load(path)
    g = m.graph
    pad = next(n for n in g.node if n.op_type == "Pad" and n.input[1].endswith("Cast_output_0"))
    g.initializer.append(onnx.numpy_helper.from_array(np.array(pads, np.int64), "pads_folded"))
    pad.input[1] = "pads_folded"
    while True:
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        dead = [n for n in g.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def golden():
    for name, (m, shape) in models().items():
        torch.manual_seed(1)
        randomize_bn(m)
        m.eval()
        path = os.path.join(HERE, name + ".onnx")
        export(m, shape, path)
        if name == "cnn":
            fold_pads(path, [0, 0, 0, 1, 0, 0, 1, 0])  # ZeroPad2d((1, 0, 0, 1))
        x = torch.rand((3,) + shape, requires_grad=True)
        out = m(x)
        if isinstance(m[-1] if isinstance(m, nn.Sequential) else None, nn.Softmax):
            out = m[:-1](x)  # trustml drops the trailing Softmax: compare logits
        w = torch.randn(out.shape)
        (out * w).sum().backward()
        for suffix, a in [("x", x), ("logits", out), ("w", w), ("grad", x.grad)]:
            np.save(os.path.join(HERE, "%s_%s.npy" % (name, suffix)), a.detach().numpy().astype(np.float32))
        ops = sorted({n.op_type for n in onnx.load(path).graph.node})
        print(name, "ops:", " ".join(ops))


class CatNet(nn.Module):
    """DenseNet-style: the input concatenated with a convolution of it."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, 1, 1)
        self.mix = nn.Conv2d(5, 2, 1)
        self.out = nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        y = torch.cat([x, torch.relu(self.conv(x))], 1)
        return self.out(torch.flatten(torch.relu(self.mix(y)), 1))


def unsupported():
    """A model with an operator the importer refuses (Elu)."""
    torch.manual_seed(4)
    m = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ELU(), nn.Linear(3, 2))
    export(m, (4,), os.path.join(HERE, "unsupported.onnx"))


def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    ndim = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion():
    d = "/usr/share/datasets/fashion-mnist"
    xtr = torch.tensor(idx(d + "/train-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255
    ytr = torch.tensor(idx(d + "/train-labels-idx1-ubyte.gz"), dtype=torch.long)
    xte = torch.tensor(idx(d + "/t10k-images-idx3-ubyte.gz"), dtype=torch.float32).unsqueeze(1) / 255
    yte = torch.tensor(idx(d + "/t10k-labels-idx1-ubyte.gz"), dtype=torch.long)
    torch.manual_seed(2)
    m = nn.Sequential(Norm([0.2860], [0.3530]), nn.Conv2d(1, 8, 3, 1, 1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(8, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(3)
    m.train()
    steps = 400
    for step in range(steps):
        i = torch.randint(0, len(xtr), (128,), generator=g)
        loss = nn.functional.cross_entropy(m(xtr[i]), ytr[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
    m.eval()
    with torch.no_grad():
        pred = torch.cat([m(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
    correct = int((pred == yte).sum())
    export(m, (1, 28, 28), os.path.join(HERE, "fashion_cnn.onnx"))
    rec = {"test_correct": correct, "test_n": len(yte), "test_accuracy": correct / len(yte),
           "train_steps": steps, "batch": 128, "optimizer": "Adam lr 2e-3", "torch": torch.__version__}
    with open(os.path.join(HERE, "fashion_cnn.json"), "w") as f:
        json.dump(rec, f, indent=1)
        f.write("\n")
    print("fashion_cnn", rec)


if __name__ == "__main__":
    torch.set_num_threads(1)
    golden()
    unsupported()
    fashion()
