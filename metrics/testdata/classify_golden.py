"""Golden values for package eval, computed independently with numpy and
scikit-learn (Debian python3-numpy, python3-sklearn). Run from this directory:

    /usr/bin/python3 classify_golden.py > classify_golden.json

ECE follows the AAA evaluation code: 15 equal-width bins (m/15, (m+1)/15] on
the top softmax probability, weighted by bin size.
"""
import json

import numpy as np
from sklearn.metrics import accuracy_score, log_loss

rng = np.random.default_rng(7)
cases = []
for n, k, scale in [(50, 3, 1.0), (200, 10, 4.0), (120, 5, 0.2)]:
    logits = (rng.standard_normal((n, k)) * scale).astype(np.float32)
    labels = rng.integers(0, k, n)
    # Make the logits informative so accuracy is not trivial.
    logits[np.arange(n), labels] += np.float32(scale)
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    conf = p.max(1)
    pred = p.argmax(1)
    ece = 0.0
    edges = np.linspace(0, 1, 16)
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.mean() * abs((pred[m] == labels[m]).mean() - conf[m].mean())
    cases.append({
        "k": k,
        "logits": logits.ravel().tolist(),
        "labels": labels.tolist(),
        "accuracy": accuracy_score(labels, pred),
        "nll": log_loss(labels, p, labels=list(range(k))),
        "ece": ece,
    })
print(json.dumps(cases))
