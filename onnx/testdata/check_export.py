#!/usr/bin/python3
"""Independent check of trustml's ONNX export (onnx/export.go).

For every exported model (default: testdata/export/*.onnx) this script

  1. runs onnx.checker.check_model(model, full_check=True) (onnx 1.12: the
     structural checks plus strict shape inference),
  2. checks the interface: one float32 input [N, ...] with a symbolic batch
     dimension, outputs logits [N, K] and optionally probabilities [N, K]
     and features [N, F], opset 13 only,
  3. evaluates the graph with the small numpy reference evaluator below (in
     float64, written from the ONNX operator specifications, independent of
     trustml's engine) on fixed inputs drawn with a seeded generator, and
  4. writes NAME.input.npy (float32) and NAME.<output>.npy (float32) beside
     NAME.onnx, which onnx/export_test.go compares with trustml's outputs.

Regenerate (Debian bookworm: python3-onnx 1.12, python3-numpy):

  go test ./onnx -run TestExportGolden -update
  /usr/bin/python3 onnx/testdata/check_export.py

Pass model files as arguments to check other exports (for example
"trustml export --onnx m.onnx"); --no-write only checks and evaluates.
"""

import glob
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

BATCH = 4  # inputs per model
SEED = 20261206


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, a):
    """Conv (group 1, dilation 1): x [N,C,H,W], w [M,C,kh,kw]."""
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise ValueError("only group 1, dilation 1 convolutions are evaluated")
    kh, kw = w.shape[2], w.shape[3]
    sh, sw = a.get("strides", [1, 1])
    pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
    x = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (x.shape[2] - kh) // sh + 1
    ow = (x.shape[3] - kw) // sw + 1
    y = np.zeros((x.shape[0], w.shape[0], oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]  # N,C,oh,ow
            y += np.einsum("nchw,mc->nmhw", patch, w[:, :, i, j])
    if b is not None:
        y += b[None, :, None, None]
    return y


def pool(x, a, reduce):
    """MaxPool / AveragePool without padding (floor mode)."""
    if any(a.get("pads", [0, 0, 0, 0])) or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise ValueError("only unpadded, floor-mode, undilated pooling is evaluated")
    kh, kw = a["kernel_shape"]
    sh, sw = a.get("strides", [1, 1])
    oh = (x.shape[2] - kh) // sh + 1
    ow = (x.shape[3] - kw) // sw + 1
    windows = [x[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] for i in range(kh) for j in range(kw)]
    return reduce(np.stack(windows), axis=0)


def evaluate(model, feeds):
    """Runs model's graph on feeds (name -> array) in float64."""
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) if t.data_type == onnx.TensorProto.FLOAT
           else numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update({k: v.astype(np.float64) for k, v in feeds.items()})
    for node in model.graph.node:
        a = attrs(node)
        x = [env[name] if name else None for name in node.input]
        op = node.op_type
        if op == "Conv":
            y = conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * A @ B
            if len(x) > 2:
                y = y + a.get("beta", 1.0) * x[2]
        elif op == "MatMul":
            y = x[0] @ x[1]
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "MaxPool":
            y = pool(x[0], a, np.max)
        elif op == "AveragePool":
            y = pool(x[0], a, np.mean)
        elif op == "GlobalAveragePool":
            y = x[0].mean(axis=(2, 3), keepdims=True)
        elif op == "BatchNormalization":
            X, scale, bias, mean, var = x
            shape = (1, -1) + (1,) * (X.ndim - 2)
            eps = a.get("epsilon", 1e-5)
            y = (X - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * scale.reshape(shape) + bias.reshape(shape)
        elif op == "Flatten":
            axis = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:axis])), -1)
        elif op == "Reshape":
            shape = [x[0].shape[i] if s == 0 else s for i, s in enumerate(x[1].astype(int))]
            y = x[0].reshape(shape)
        elif op == "Transpose":
            y = np.transpose(x[0], a.get("perm"))
        elif op == "Gather":
            y = np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "Softmax":
            axis = a.get("axis", -1)
            e = np.exp(x[0] - x[0].max(axis=axis, keepdims=True))
            y = e / e.sum(axis=axis, keepdims=True)
        elif op == "Identity":
            y = x[0]
        else:
            raise ValueError(f"node {node.name!r}: op {op} is not evaluated by check_export.py")
        env[node.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def check(path, write=True):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert model.ir_version == 7, f"IR version {model.ir_version}"
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 13)], model.opset_import
    assert len(model.graph.input) == 1, "one input"
    inp = model.graph.input[0]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT, "float32 input"
    shape = dims(inp)
    assert isinstance(shape[0], str), f"input {inp.name}: batch dimension {shape[0]} is not symbolic"
    outs = [o.name for o in model.graph.output]
    assert outs[0] == "logits" and set(outs) <= {"logits", "probabilities", "features"}, outs
    for o in model.graph.output:
        assert dims(o)[0] == shape[0] and len(dims(o)) == 2, f"output {o.name}: shape {dims(o)}"

    rng = np.random.default_rng(SEED)
    x = rng.standard_normal([BATCH] + shape[1:]).astype(np.float32)
    res = evaluate(model, {inp.name: x})
    one = evaluate(model, {inp.name: x[1:2]})  # the batch dimension is really dynamic
    for name, y in res.items():
        assert list(y.shape) == [BATCH] + dims(next(o for o in model.graph.output if o.name == name))[1:], (name, y.shape)
        assert np.allclose(one[name], y[1:2], rtol=0, atol=1e-9), f"{name}: batch of 1 differs"
    if "probabilities" in res:
        assert np.allclose(res["probabilities"].sum(axis=1), 1)
    base = path[:-len(".onnx")]
    if write:
        np.save(base + ".input.npy", x)
        for name, y in res.items():
            np.save(f"{base}.{name}.npy", y.astype(np.float32))
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{os.path.basename(path)}: ok, input {inp.name} {shape}, outputs {outs}, {len(model.graph.node)} nodes {ops}")


def main(args):
    write = "--no-write" not in args
    paths = [a for a in args if a != "--no-write"]
    if not paths:
        paths = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "export", "*.onnx")))
    for p in paths:
        check(p, write)


if __name__ == "__main__":
    main(sys.argv[1:])
