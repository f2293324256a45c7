package oip

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// values returns n pseudo-random values in [0, 1).
func values(seed uint64, n int) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()
	}
	return x
}

// requestBody encodes a request for the images x of the given shape.
func requestBody(x []float32, shape []int) []byte {
	n := len(x)
	for _, d := range shape {
		n /= d
	}
	s := []int64{int64(n)}
	for _, d := range shape {
		s = append(s, int64(d))
	}
	b, _ := json.Marshal(InferenceRequest{Inputs: []RequestInput{{Name: InputName, Shape: s, Datatype: FP32, Data: x}}})
	return b
}

var decodeSeeds = []string{
	`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[0.1,0.2]}]}`,
	`{"id":"r1","inputs":[{"datatype":"FP64","data":[1e-3, -0, 0.5E+1],"shape":[3],"name":"x"}],"outputs":[{"name":"logits"}]}`,
	` { "inputs" : [ { "name" : "a" , "shape" : [ 2 , 0 ] , "datatype" : "FP32" , "data" : [ ] } ] , "outputs" : [ ] } `,
	`{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP32","data":[[1],[2]]}]}`,
	`{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1e39]}]}`,
	`{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[01]}]}`,
	`{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1]}]} }`,
	`{"Inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1]}]}`,
	`{"inputs":[{"name":"in\u0070ut","shape":[1],"datatype":"FP32","data":[1]}]}`,
	`{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1],"parameters":{"a":1}}]}`,
	`{"inputs":[{"name":"input","shape":[2],"datatype":"FP32","data":[1]}]}`,
	`{"inputs":[{"name":"input","shape":[1.0],"datatype":"FP32","data":[1]}]}`,
	`{"inputs":[{"name":"input","shape":[4294967296,4294967296],"datatype":"FP32","data":[]}]}`,
	`{"inputs":[],"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1]}]}`,
	`{"inputs":[{"name":"input","shape":[1],"datatype":"INT8","data":[1]}]}`,
	`{"inputs":null}`,
	`[]`,
}

// TestDecodeFastPath checks which bodies take the fast path and that it
// agrees with the encoding/json decoder on all of them.
func TestDecodeFastPath(t *testing.T) {
	fast := map[int]bool{0: true, 1: true, 2: true, 9: true}
	for i, s := range decodeSeeds {
		_, ok := fastDecode([]byte(s))
		if ok != fast[i] {
			t.Errorf("seed %d %s: fast path %v, want %v", i, s, ok, fast[i])
		}
		checkDecode(t, []byte(s))
	}
	// Values round-trip exactly, as with encoding/json.
	x := values(9, 100)
	x[0], x[1], x[2] = math.SmallestNonzeroFloat32, math.MaxFloat32, -1.0/3
	b := requestBody(x, []int{100})
	req, ok := fastDecode(b)
	if !ok || !reflect.DeepEqual(req.Inputs[0].Data, x) {
		t.Errorf("fast path did not round-trip %d values exactly", len(x))
	}
}

// checkDecode requires DecodeRequest to give what the encoding/json decoder
// gives, errors wrapping ErrBadRequest, and accepted inputs whose data fit
// their shapes.
func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	got, err := DecodeRequest(b)
	want, werr := decodeJSON(b)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: DecodeRequest err %v, decodeJSON err %v", b, err, werr)
	}
	if err != nil {
		if !errors.Is(err, ErrBadRequest) || err.Error() != werr.Error() {
			t.Fatalf("%q: error %v, decodeJSON's %v", b, err, werr)
		}
		return
	}
	for _, in := range got.Inputs {
		n := int64(1)
		for _, d := range in.Shape {
			n *= d
		}
		if int64(len(in.Data)) != n {
			t.Fatalf("%q: accepted shape %v with %d values", b, in.Shape, len(in.Data))
		}
	}
	// Compare as JSON: the fast path leaves nil where oip leaves empty
	// maps and the other way round, which means the same.
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("%q:\nfast %s\noip  %s", b, gj, wj)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
	})
}

// BenchmarkDecodeRequest decodes one 28×28 image request with the fast path,
// with encoding/json, and a nested request that falls back.
func BenchmarkDecodeRequest(b *testing.B) {
	body := requestBody(values(1, 784), []int{1, 28, 28})
	nested := []byte(strings.Replace(string(body), `"data":[`, `"data":[[`, 1))
	nested = []byte(strings.Replace(string(nested), `]}]}`, `]]}]}`, 1))
	for _, c := range []struct {
		name   string
		decode func([]byte) (*InferenceRequest, error)
		body   []byte
	}{{"fast", DecodeRequest, body}, {"json", decodeJSON, body}, {"fallback", DecodeRequest, nested}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.decode(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
