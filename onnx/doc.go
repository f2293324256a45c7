// Package onnx converts between ONNX models and trustml's networks (package
// nn).
//
// # Import
//
// [Import] and [ImportFile] read an ONNX model (a ModelProto, parsed with
// google.golang.org/protobuf and the ONNX 1.12 schema) and map its graph
// onto nn's layers, so an imported model is an ordinary [nn.Network]: it has
// input gradients, penultimate features, batch-norm running statistics and
// the engine's im2col + GEMM convolutions, and it can be saved as a trustml
// checkpoint.
//
// The graph must be a chain from one float input (N×C×H×W or N×D, any batch
// size) to its output (the only one, or the one named "logits": nodes that
// only other outputs need are ignored, so a model [Export] wrote with
// probabilities or features reads back), with forks only where the branches join again in an
// Add (a residual block, two branches) or a Concat along channels (any
// number of branches, an input passed through included). Supported
// operators (default domain, opset 7 or later):
//
//   - Conv (square kernels and strides, no dilation; asymmetric pads become
//     a padding layer; a grouped or depthwise convolution becomes one
//     convolution per group on its slice of the channels, concatenated),
//     Pad (constant zeros)
//   - Gemm, MatMul by a constant (+ Add of a constant bias)
//   - Relu, LeakyRelu, Sigmoid, Tanh
//   - MaxPool (padding becomes a padding layer of the lowest float32),
//     AveragePool (padding only with count_include_pad), GlobalAveragePool
//   - BatchNormalization (inference form: scale, bias, running mean and
//     variance become an nn batch-norm layer; a different epsilon is folded
//     into the running variance)
//   - Flatten, Reshape to (batch, features): ONNX flattens in C, H, W order and
//     nn in H, W, C order, so the next dense layer's weights are permuted once
//     at import
//   - Add of two branches (a residual layer), Concat of branches along the
//     channel axis (a concat layer)
//   - Add, Sub, Mul, Div by a per-channel or scalar constant (a fixed affine
//     layer: input normalization; consecutive ones are merged, and a constant
//     added right after a dense layer joins its bias)
//   - Dropout, Identity (the identity at inference)
//   - a trailing Softmax or LogSoftmax, dropped since trustml models output
//     logits (recorded in the metadata as onnx_dropped_output)
//
// Anything else is an [UnsupportedOpError] naming the operator, the node and
// the opset. Initializers may be float32 (raw_data or float_data), float64 or
// integers; external data is refused.
package onnx
