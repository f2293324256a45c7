package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/trustml/trustml/onnx/internal/onnxpb"
)

// impConst decodes an initializer (float, double or integer, raw or typed
// data) to float64 values.
func impConst(t *onnxpb.TensorProto) (*impTensor, error) {
	name := t.GetName()
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		return nil, fmt.Errorf("onnx: initializer %q: external data is not supported; save the model with its weights inside (onnx.save(model, path, save_as_external_data=False))", name)
	}
	n := 1
	dims := make([]int, len(t.GetDims()))
	for i, d := range t.GetDims() {
		if d < 0 || d > maxTensorValues || n*int(d) > maxTensorValues {
			return nil, fmt.Errorf("%w: initializer %q: dims %v", ErrMalformed, name, t.GetDims())
		}
		dims[i] = int(d)
		n *= int(d)
	}
	raw := t.GetRawData()
	f := make([]float64, 0, min(n, 1<<20))
	typ := onnxpb.TensorProto_DataType(t.GetDataType())
	var size int
	switch typ {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32:
		size = 4
	case onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_INT64:
		size = 8
	default:
		return nil, fmt.Errorf("onnx: initializer %q: data type %s is not supported (float, double, int32, int64 are)", name, typ)
	}
	if raw != nil {
		if len(raw) != n*size {
			return nil, fmt.Errorf("%w: initializer %q: %d bytes of raw data for dims %v of %s", ErrMalformed, name, len(raw), dims, typ)
		}
		for i := 0; i < n; i++ {
			b := raw[i*size:]
			switch typ {
			case onnxpb.TensorProto_FLOAT:
				f = append(f, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))))
			case onnxpb.TensorProto_INT32:
				f = append(f, float64(int32(binary.LittleEndian.Uint32(b))))
			case onnxpb.TensorProto_DOUBLE:
				f = append(f, math.Float64frombits(binary.LittleEndian.Uint64(b)))
			default:
				f = append(f, float64(int64(binary.LittleEndian.Uint64(b))))
			}
		}
	} else {
		var m int
		switch typ {
		case onnxpb.TensorProto_FLOAT:
			m = len(t.GetFloatData())
			for _, v := range t.GetFloatData() {
				f = append(f, float64(v))
			}
		case onnxpb.TensorProto_INT32:
			m = len(t.GetInt32Data())
			for _, v := range t.GetInt32Data() {
				f = append(f, float64(v))
			}
		case onnxpb.TensorProto_DOUBLE:
			m = len(t.GetDoubleData())
			f = append(f, t.GetDoubleData()...)
		default:
			m = len(t.GetInt64Data())
			for _, v := range t.GetInt64Data() {
				f = append(f, float64(v))
			}
		}
		if m != n {
			return nil, fmt.Errorf("%w: initializer %q: %d values for dims %v", ErrMalformed, name, m, dims)
		}
	}
	return &impTensor{dims: dims, f: f}, nil
}

// impAttrs gives typed access to a node's attributes.
type impAttrs map[string]*onnxpb.AttributeProto

func impAttrsOf(n *onnxpb.NodeProto) impAttrs {
	a := impAttrs{}
	for _, at := range n.GetAttribute() {
		a[at.GetName()] = at
	}
	return a
}

func (a impAttrs) int(name string, def int64) int64 {
	if at, ok := a[name]; ok {
		return at.GetI()
	}
	return def
}

func (a impAttrs) float(name string, def float32) float32 {
	if at, ok := a[name]; ok {
		return at.GetF()
	}
	return def
}

func (a impAttrs) str(name, def string) string {
	if at, ok := a[name]; ok {
		return string(at.GetS())
	}
	return def
}

func (a impAttrs) ints(name string) []int64 {
	if at, ok := a[name]; ok {
		return at.GetInts()
	}
	return nil
}
