package nn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Layer kinds accepted in [LayerSpec.Kind].
const (
	KindDense     = "dense"     // fully connected: Out units (input flattened if needed)
	KindConv      = "conv"      // 2-D convolution: Out channels, Kernel, Stride, Pad
	KindMaxPool   = "maxpool"   // max pooling: Kernel, Stride (0 = Kernel)
	KindAvgPool   = "avgpool"   // average pooling: Kernel, Stride (0 = Kernel)
	KindGlobalAvg = "globalavg" // global average pooling to one value per channel
	KindBatchNorm = "batchnorm" // batch normalization over the channel (last) axis
	KindReLU      = "relu"      // rectified linear unit
	KindDropout   = "dropout"   // inverted dropout with drop probability Rate
	KindFlatten   = "flatten"   // reshape to a vector
	KindResidual  = "residual"  // Body(x) + Shortcut(x); empty Shortcut = identity
	KindSigmoid   = "sigmoid"   // logistic function 1/(1+e⁻ˣ)
	KindTanh      = "tanh"      // hyperbolic tangent
	KindLeakyReLU = "leakyrelu" // x for x ≥ 0, Rate·x below
	KindAffine    = "affine"    // fixed per-channel x·Scale + Shift (input normalization)
	KindPad       = "pad"       // zero padding by Pads (top, left, bottom, right)
	KindConcat    = "concat"    // Branches run on the input, outputs concatenated along channels
	KindSlice     = "slice"     // the channels [Channels[0], Channels[1]) of the last axis
)

// LayerSpec describes one layer. Only the fields its Kind uses are set.
type LayerSpec struct {
	Kind     string      `json:"kind"`
	Out      int         `json:"out,omitempty"`
	Kernel   int         `json:"kernel,omitempty"`
	Stride   int         `json:"stride,omitempty"`
	Pad      int         `json:"pad,omitempty"`
	Rate     float64     `json:"rate,omitempty"`
	Body     []LayerSpec `json:"body,omitempty"`
	Shortcut []LayerSpec `json:"shortcut,omitempty"`

	// Fields of the layers imported models use (package onnx).
	Scale    []float32     `json:"scale,omitempty"`    // affine: per-channel factors
	Shift    []float32     `json:"shift,omitempty"`    // affine: per-channel offsets
	Pads     []int         `json:"pads,omitempty"`     // pad: top, left, bottom, right
	Fill     string        `json:"fill,omitempty"`     // pad: "" (zeros) or "lowest" (-MaxFloat32, before max pooling)
	Branches [][]LayerSpec `json:"branches,omitempty"` // concat: the branches (empty = identity)
	Channels []int         `json:"channels,omitempty"` // slice: lo, hi
}

// Spec is a serializable network architecture: the input shape (C×H×W, or a
// single dimension for vectors), the number of classes, and the layers. The
// last layer must be dense with NumClasses outputs; its input is the
// penultimate feature vector.
type Spec struct {
	Name       string      `json:"name"`
	InputShape []int       `json:"input_shape"`
	NumClasses int         `json:"num_classes"`
	Layers     []LayerSpec `json:"layers"`
}

// Equal reports whether s and o describe the same network: name, input
// shape, classes and every layer (as their JSON forms, which checkpoints
// store, compare). Weights of networks with equal specs can be averaged,
// interpolated or copied into each other.
func (s Spec) Equal(o Spec) bool {
	a, errA := json.Marshal(s)
	b, errB := json.Marshal(o)
	return errA == nil && errB == nil && bytes.Equal(a, b)
}

// MLP returns a multi-layer perceptron with ReLU hidden layers.
func MLP(input []int, hidden []int, classes int) Spec {
	ls := []LayerSpec{{Kind: KindFlatten}}
	for _, h := range hidden {
		ls = append(ls, LayerSpec{Kind: KindDense, Out: h}, LayerSpec{Kind: KindReLU})
	}
	ls = append(ls, LayerSpec{Kind: KindDense, Out: classes})
	return Spec{Name: "mlp", InputShape: input, NumClasses: classes, Layers: ls}
}

// CNNOptions configures [CNN].
type CNNOptions struct {
	Width     int     // channels of the first conv block; the second has 2×Width (default 32)
	Hidden    int     // units of the hidden dense layer (default 128)
	BatchNorm bool    // batch norm after each convolution
	Dropout   float64 // dropout before the last layer (0 = none)
}

// CNN returns the small CNN: two blocks of 3×3 convolution (padding 1),
// optional batch norm, ReLU and 2×2 max pooling, then a hidden dense layer
// and the classifier.
func CNN(input []int, classes int, o CNNOptions) Spec {
	if o.Width == 0 {
		o.Width = 32
	}
	if o.Hidden == 0 {
		o.Hidden = 128
	}
	var ls []LayerSpec
	for _, ch := range []int{o.Width, 2 * o.Width} {
		ls = append(ls, LayerSpec{Kind: KindConv, Out: ch, Kernel: 3, Stride: 1, Pad: 1})
		if o.BatchNorm {
			ls = append(ls, LayerSpec{Kind: KindBatchNorm})
		}
		ls = append(ls, LayerSpec{Kind: KindReLU}, LayerSpec{Kind: KindMaxPool, Kernel: 2})
	}
	ls = append(ls, LayerSpec{Kind: KindFlatten}, LayerSpec{Kind: KindDense, Out: o.Hidden}, LayerSpec{Kind: KindReLU})
	if o.Dropout > 0 {
		ls = append(ls, LayerSpec{Kind: KindDropout, Rate: o.Dropout})
	}
	ls = append(ls, LayerSpec{Kind: KindDense, Out: classes})
	return Spec{Name: "cnn", InputShape: input, NumClasses: classes, Layers: ls}
}

// ResNet returns a CIFAR-style ResNet of the given depth (6n+2: 8, 14, 20,
// ...) with three stages of basic blocks of width, 2×width and 4×width
// channels (width 16 in the original), strides 1, 2, 2, global average
// pooling and a dense classifier. On 28×28 inputs the stages see 28, 14 and 7
// pixels.
func ResNet(input []int, classes, depth, width int) (Spec, error) {
	if depth < 8 || (depth-2)%6 != 0 {
		return Spec{}, fmt.Errorf("nn: ResNet depth %d is not of the form 6n+2 (8, 14, 20, ...)", depth)
	}
	if width <= 0 {
		width = 16
	}
	blocks := (depth - 2) / 6
	conv := func(out, k, s int) LayerSpec {
		return LayerSpec{Kind: KindConv, Out: out, Kernel: k, Stride: s, Pad: k / 2}
	}
	bn := LayerSpec{Kind: KindBatchNorm}
	relu := LayerSpec{Kind: KindReLU}
	ls := []LayerSpec{conv(width, 3, 1), bn, relu}
	in := width
	for stage := 0; stage < 3; stage++ {
		out := width << stage
		for b := 0; b < blocks; b++ {
			stride := 1
			if stage > 0 && b == 0 {
				stride = 2
			}
			res := LayerSpec{Kind: KindResidual, Body: []LayerSpec{conv(out, 3, stride), bn, relu, conv(out, 3, 1), bn}}
			if stride != 1 || in != out {
				res.Shortcut = []LayerSpec{conv(out, 1, stride), bn}
			}
			ls = append(ls, res, relu)
			in = out
		}
	}
	ls = append(ls, LayerSpec{Kind: KindGlobalAvg}, LayerSpec{Kind: KindDense, Out: classes})
	return Spec{Name: fmt.Sprintf("resnet%d", depth), InputShape: input, NumClasses: classes, Layers: ls}, nil
}

// Architectures lists the names accepted by [SpecFor].
var Architectures = []string{"mlp", "cnn", "cnn-bn", "cnn-small", "resnet8", "resnet20"}

// SpecFor returns a named architecture for the given input shape and class
// count: "mlp" (256-128 hidden), "cnn" (the small CNN), "cnn-bn" (with batch
// norm and dropout 0.25), "cnn-small" (16/32 filters with batch norm, the
// small CNN of the flat-minima reproduction plan), "resnet8" and
// "resnet20".
func SpecFor(name string, input []int, classes int) (Spec, error) {
	switch strings.ToLower(name) {
	case "mlp":
		return MLP(input, []int{256, 128}, classes), nil
	case "cnn":
		return CNN(input, classes, CNNOptions{}), nil
	case "cnn-bn":
		s := CNN(input, classes, CNNOptions{BatchNorm: true, Dropout: 0.25})
		s.Name = "cnn-bn"
		return s, nil
	case "cnn-small":
		s := CNN(input, classes, CNNOptions{Width: 16, BatchNorm: true})
		s.Name = "cnn-small"
		return s, nil
	case "resnet8":
		return ResNet(input, classes, 8, 16)
	case "resnet20":
		return ResNet(input, classes, 20, 16)
	}
	return Spec{}, fmt.Errorf("nn: unknown architecture %q (known: %s)", name, strings.Join(Architectures, ", "))
}
