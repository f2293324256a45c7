package serve

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/trustml/trustml/oip"
)

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
// agrees with oip.DecodeRequest on all of them.
func TestDecodeFastPath(t *testing.T) {
	fast := map[int]bool{0: true, 1: true, 2: true}
	for i, s := range decodeSeeds {
		_, ok := fastDecode([]byte(s))
		if ok != fast[i] {
			t.Errorf("seed %d %s: fast path %v, want %v", i, s, ok, fast[i])
		}
		checkDecode(t, []byte(s))
	}
	// Values round-trip exactly, as with encoding/json.
	x := images(9, 1, 100)
	x[0], x[1], x[2] = math.SmallestNonzeroFloat32, math.MaxFloat32, -1.0/3
	b := request(x, []int{100})
	req, ok := fastDecode(b)
	if !ok || !reflect.DeepEqual(req.Inputs[0].Data, x) {
		t.Errorf("fast path did not round-trip %d values exactly", len(x))
	}
}

// checkDecode requires DecodeRequest to give what oip.DecodeRequest gives.
func checkDecode(t *testing.T, b []byte) {
	t.Helper()
	got, err := DecodeRequest(b)
	want, werr := oip.DecodeRequest(b)
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: DecodeRequest err %v, oip.DecodeRequest err %v", b, err, werr)
	}
	if err != nil {
		if !errors.Is(err, oip.ErrBadRequest) || err.Error() != werr.Error() {
			t.Fatalf("%q: error %v, oip's %v", b, err, werr)
		}
		return
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

// BenchmarkDecodeRequest decodes one 28×28 image request with the fast path
// and with oip.DecodeRequest.
func BenchmarkDecodeRequest(b *testing.B) {
	body := request(images(1, 1, 784), []int{1, 28, 28})
	nested := []byte(strings.Replace(string(body), `"data":[`, `"data":[[`, 1))
	nested = []byte(strings.Replace(string(nested), `]}]}`, `]]}]}`, 1))
	for _, c := range []struct {
		name   string
		decode func([]byte) (*oip.InferenceRequest, error)
		body   []byte
	}{{"fast", DecodeRequest, body}, {"oip", oip.DecodeRequest, body}, {"fallback", DecodeRequest, nested}} {
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
