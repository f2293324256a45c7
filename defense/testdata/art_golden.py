#!/usr/bin/python3
"""Golden values for the probability post-processors in defense/art.go,
computed with numpy following the Adversarial Robustness Toolbox's
implementations (art/defences/postprocessor: reverse_sigmoid.py, rounded.py,
high_confidence.py, class_labels.py) applied to softmax probabilities, plus
top-k (keep the k most likely classes, ties to the lower index; no
renormalisation). ClassLabels is the intended per-row one-hot (ART's code
sets the predicted columns of every row).

Regenerate with:  /usr/bin/python3 defense/testdata/art_golden.py
(writes defense/testdata/art_golden.json next to this script).
"""
import json
import os

import numpy as np


def softmax(z):
    z = z.astype(np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def reverse_sigmoid(preds, beta, gamma):
    clip_min, clip_max = 1e-9, 1.0 - 1e-9

    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    pc = np.clip(preds, clip_min, clip_max)
    r = beta * (sigmoid(-gamma * np.log((1.0 - pc) / pc)) - 0.5)
    pp = np.clip(preds - r, 0.0, 1.0)
    return pp / np.sum(pp, axis=-1, keepdims=True)


def rounded(preds, decimals):
    return np.around(preds, decimals=decimals)


def high_confidence(preds, cutoff):
    out = preds.copy()
    out[out < cutoff] = 0.0
    return out


def class_labels(logits):
    out = np.zeros(logits.shape)
    out[np.arange(len(logits)), np.argmax(logits, axis=1)] = 1
    return out


def top_k(logits, preds, k):
    out = np.zeros(preds.shape)
    for i, row in enumerate(logits):
        idx = np.argsort(-row, kind="stable")[:k]
        out[i, idx] = preds[i, idx]
    return out


def main():
    rng = np.random.default_rng(7)
    logits = np.concatenate([
        rng.normal(0, 1, (8, 10)),
        rng.normal(0, 4, (8, 10)),
        np.array([[2, 2, 0, 0, 1, 1, -3, 5, 5, 0]], dtype=np.float64),  # ties
    ]).astype(np.float32)
    k = logits.shape[1]
    p = softmax(logits)
    cases = []

    def add(name, params, out):
        cases.append(dict(name=name, params=params, k=k,
                          logits=[float(x) for x in logits.ravel()],
                          want=[float(x) for x in np.asarray(out).ravel()]))

    add("reverse-sigmoid", "", reverse_sigmoid(p, 1.0, 0.1))
    add("reverse-sigmoid", "beta=2,gamma=0.5", reverse_sigmoid(p, 2.0, 0.5))
    add("rounded", "", rounded(p, 3))
    add("rounded", "decimals=1", rounded(p, 1))
    add("high-confidence", "", high_confidence(p, 0.25))
    add("high-confidence", "cutoff=0.1", high_confidence(p, 0.1))
    add("class-labels", "", class_labels(logits))
    add("top-k", "", top_k(logits, p, 1))
    add("top-k", "k=3", top_k(logits, p, 3))
    add("none", "", logits.astype(np.float64))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "art_golden.json")
    with open(path, "w") as f:
        json.dump({"generator": "defense/testdata/art_golden.py",
                   "numpy": np.__version__, "cases": cases}, f, indent=0)
        f.write("\n")
    print("wrote", len(cases), "cases to", path)


if __name__ == "__main__":
    main()
