"""Writes the binary tensor data extension golden files of oip's tests.

The bytes are laid out as tritonclient.http does (InferenceServerClient.infer
through _get_inference_request: json.dumps of the request with its default
separators, then the inputs' raw bytes in order; Content-Length of the JSON
part in the Inference-Header-Content-Length header) and as Triton answers
(a compact JSON header, then the binary outputs in order). tritonclient is not
installed here; the format is simple enough to write with the stdlib and
numpy. Run: /usr/bin/python3 oip/testdata/binary_golden.py

Files (each .bin has its header length in the matching .json "json_len"):
  triton_request.bin     two FP32 images [2,1,2,2] and one output asked as binary
  triton_request_all.bin one FP64 image [1,4], no outputs named: binary_data_output
  triton_response.bin    outputs "logits" FP32 [2,3] and "probabilities" FP64 [2,3]
  binary_golden.json     the header lengths and the expected values
"""
import json
import os
import struct

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(19)


def request(inputs, outputs):
    infer_request = {}
    parameters = {}
    infer_request["inputs"] = [
        {"name": name, "shape": list(a.shape), "datatype": dt,
         "parameters": {"binary_data_size": a.nbytes}}
        for name, dt, a in inputs]
    if outputs:
        infer_request["outputs"] = [{"name": o, "parameters": {"binary_data": True}} for o in outputs]
    else:
        parameters["binary_data_output"] = True
    if parameters:
        infer_request["parameters"] = parameters
    body = json.dumps(infer_request)
    binary = b"".join(a.astype(a.dtype.newbyteorder("<")).tobytes() for _, _, a in inputs)
    return struct.pack("{}s{}s".format(len(body), len(binary)), body.encode(), binary), len(body)


x = rng.random((2, 1, 2, 2), dtype=np.float32)
req, req_len = request([("input", "FP32", x)], ["logits"])
y = rng.random((1, 4))  # float64
req_all, req_all_len = request([("input", "FP64", y)], [])

logits = rng.standard_normal((2, 3)).astype(np.float32)
probs = np.exp(logits.astype(np.float64))
probs /= probs.sum(axis=1, keepdims=True)
head = {"model_name": "cnn", "model_version": "1", "outputs": [
    {"name": "logits", "datatype": "FP32", "shape": [2, 3], "parameters": {"binary_data_size": logits.nbytes}},
    {"name": "probabilities", "datatype": "FP64", "shape": [2, 3], "parameters": {"binary_data_size": probs.nbytes}},
]}
head = json.dumps(head, separators=(",", ":")).encode()
resp = head + logits.astype("<f4").tobytes() + probs.astype("<f8").tobytes()

for name, b in [("triton_request.bin", req), ("triton_request_all.bin", req_all), ("triton_response.bin", resp)]:
    with open(os.path.join(here, name), "wb") as f:
        f.write(b)
with open(os.path.join(here, "binary_golden.json"), "w") as f:
    json.dump({
        "request_json_len": req_len, "request_input": x.ravel().tolist(),
        "request_all_json_len": req_all_len, "request_all_input": y.ravel().astype(np.float32).tolist(),
        "response_json_len": len(head), "logits": logits.ravel().tolist(),
        "probabilities": probs.ravel().astype(np.float32).tolist(),
    }, f, indent=1)
    f.write("\n")
