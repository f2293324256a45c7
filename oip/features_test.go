package oip

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trustml/trustml/model"
)

const featMeta = `{"name":"m","platform":"x","inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,2]},{"name":"features","datatype":"FP32","shape":[-1,3]}]}`

// featureServer answers featMeta and, to inference requests, 3 features per
// input (input i's are i, i+0.5, -i) and 2 logits, the output requested.
func featureServer(t *testing.T, meta string, reply func(req *InferenceRequest) (any, int)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Write([]byte(meta))
			return
		}
		var req InferenceRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			WriteError(w, 400, err.Error())
			return
		}
		v, code := reply(&req)
		WriteJSON(w, code, v)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// goodReply answers what the request asks for.
func goodReply(req *InferenceRequest) (any, int) {
	n := int64(len(req.Inputs[0].Data) / 4)
	resp := InferenceResponse{ModelName: "m"}
	for _, o := range req.Outputs {
		switch o.Name {
		case "features":
			var f []float32
			for i := range n {
				f = append(f, req.Inputs[0].Data[i*4]*10, float32(i)+0.5, -float32(i))
			}
			resp.Outputs = append(resp.Outputs, ResponseOutput{Name: "features", Shape: []int64{n, 3}, Datatype: FP32, Data: f})
		case "logits":
			resp.Outputs = append(resp.Outputs, ResponseOutput{Name: "logits", Shape: []int64{n, 2}, Datatype: FP32, Data: make([]float32, 2*n)})
		}
	}
	return resp, 200
}

// TestFeatureClient reads a feature output in several requests and checks
// that a client dialled without one is no model.FeatureExtractor.
func TestFeatureClient(t *testing.T) {
	var requests atomic.Int32
	srv := featureServer(t, featMeta, func(req *InferenceRequest) (any, int) {
		requests.Add(1)
		if len(req.Outputs) != 1 || req.Outputs[0].Name != "features" {
			t.Errorf("outputs %v requested, want only features", req.Outputs)
		}
		return goodReply(req)
	})
	ctx := context.Background()
	c, err := Dial(ctx, srv.URL+"/v2/models/m", ClientOptions{FeaturesOutput: "features", MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	fe, err := model.RequireFeatures(c.Model(), "m")
	if err != nil {
		t.Fatal(err)
	}
	if fe.FeatureDim() != 3 || c.Model().(*FeatureClient).FeaturesOutput() != "features" {
		t.Fatalf("FeatureDim %d", fe.FeatureDim())
	}
	if cl, ok := fe.(model.Cloner).Clone().(model.FeatureExtractor); !ok || cl.FeatureDim() != 3 {
		t.Errorf("a clone is not a feature extractor")
	}
	x := []float32{0.1, 0, 0, 0, 0.2, 0, 0, 0, 0.3, 0, 0, 0, 0.4, 0, 0, 0, 0.5, 0, 0, 0}
	got := make([]float32, 15)
	if err := fe.Features(ctx, got, x); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		want := []float32{x[i*4] * 10, float32(i%2) + 0.5, -float32(i % 2)}
		for j := range 3 {
			if got[i*3+j] != want[j] {
				t.Fatalf("input %d: features %v, want %v", i, got[i*3:i*3+3], want)
			}
		}
	}
	if r := requests.Load(); r != 3 {
		t.Errorf("%d requests for 5 inputs in batches of 2, want 3", r)
	}
	if err := fe.Features(ctx, got[:14], x); !errors.Is(err, model.ErrShape) {
		t.Errorf("short destination: %v", err)
	}

	plain, err := Dial(ctx, srv.URL+"/v2/models/m", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.Model().(model.FeatureExtractor); ok {
		t.Fatal("a client dialled without FeaturesOutput is a model.FeatureExtractor")
	}
	_, err = model.RequireFeatures(plain.Model(), "http://h/v2/models/m")
	var nf *model.NoFeaturesError
	if !errors.Is(err, model.ErrNoFeatures) || !errors.As(err, &nf) ||
		!strings.Contains(err.Error(), "model http://h/v2/models/m returns no features; serve them and pass --features-output") {
		t.Errorf("RequireFeatures without features: %v", err)
	}
}

// TestFeatureDialErrors checks that Dial names the missing or unusable
// feature output and lists the server's outputs.
func TestFeatureDialErrors(t *testing.T) {
	in := `"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}]`
	lg := `{"name":"logits","datatype":"FP32","shape":[-1,2]}`
	for _, c := range []struct{ outputs, msg string }{
		{`[` + lg + `]`, `no feature output "features" (the server's outputs: "logits"); serve the features`},
		{`[` + lg + `,{"name":"feats","datatype":"FP32","shape":[-1,8]}]`, `(the server's outputs: "logits", "feats")`},
		{`[` + lg + `,{"name":"features","datatype":"INT8","shape":[-1,8]}]`, `feature output "features" is INT8 [-1 8]`},
		{`[` + lg + `,{"name":"features","datatype":"FP32","shape":[-1]}]`, `need FP32 [-1 dims...]`},
		{`[` + lg + `,{"name":"features","datatype":"FP32","shape":[-1,-1]}]`, `need FP32 [-1 dims...]`},
		{`[` + lg + `,{"name":"features","datatype":"FP32","shape":[-1,0]}]`, `need FP32 [-1 dims...]`},
		{`[` + lg + `,{"name":"features","datatype":"FP32","shape":[-1,4096,4096]}]`, `at most 1048576 features`},
		{`[` + lg + `,{"name":"features","datatype":"FP32","shape":[-1,9223372036854775807,4]}]`, `at most 1048576 features`},
	} {
		srv := featureServer(t, `{"name":"m",`+in+`,"outputs":`+c.outputs+`}`, goodReply)
		_, err := Dial(context.Background(), srv.URL+"/v2/models/m", ClientOptions{FeaturesOutput: "features"})
		if !errors.Is(err, ErrRemote) || err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("outputs %s: err %v, want ErrRemote mentioning %q", c.outputs, err, c.msg)
		}
	}
	// A feature output in several dimensions is flattened.
	srv := featureServer(t, `{"name":"m",`+in+`,"outputs":[`+lg+`,{"name":"features","datatype":"FP64","shape":[-1,2,3]}]}`, goodReply)
	c, err := Dial(context.Background(), srv.URL+"/v2/models/m", ClientOptions{FeaturesOutput: "features"})
	if err != nil || c.Model().(model.FeatureExtractor).FeatureDim() != 6 {
		t.Errorf("features [-1 2 3]: %v", err)
	}
}

// TestFeatureReplyErrors checks each way a feature reply can be wrong.
func TestFeatureReplyErrors(t *testing.T) {
	c := &Client{base: "test", o: ClientOptions{FeaturesOutput: "features"}}
	c.o.defaults()
	if err := c.setMetadataJSON([]byte(featMeta)); err != nil {
		t.Fatal(err)
	}
	for _, c2 := range []struct{ body, msg string }{
		{`{"outputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`, ""},
		{`{"outputs":[{"name":"features","shape":[2,3,1],"datatype":"FP64","data":[1,2,3,4,5,6]}]}`, ""},
		{`{"outputs":[{"name":"logits","shape":[2,2],"datatype":"FP32","data":[1,2,3,4]}]}`, `no feature output "features"`},
		{`{"outputs":[{"name":"features","shape":[2,3],"datatype":"INT32","data":[1,2,3,4,5,6]}]}`, `datatype "INT32"`},
		{`{"outputs":[{"name":"features","shape":[3,2],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`, `shape [3 2], want [2 dims...] with 3 features`},
		{`{"outputs":[{"name":"features","shape":[2,2],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`, `shape [2 2]`},
		{`{"outputs":[{"name":"features","shape":[2],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`, `shape [2]`},
		{`{"outputs":[{"name":"features","shape":[2,-3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`, `shape [2 -3]`},
		{`{"outputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5]}]}`, `5 values for 2 inputs of 3 features`},
		{`{"outputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,1e39]}]}`, `malformed reply`},
		{`{"outputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,"x"]}]}`, `malformed reply`},
	} {
		dst := make([]float32, 6)
		err := c.decodeFeaturesJSON(dst, 2, []byte(c2.body))
		if c2.msg == "" {
			if err != nil || dst[5] != 6 {
				t.Errorf("reply %s: %v, features %v", c2.body, err, dst)
			}
			continue
		}
		if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), c2.msg) {
			t.Errorf("reply %s: err %v, want ErrRemote mentioning %q", c2.body, err, c2.msg)
		}
	}
}

// FuzzFeatureReply feeds arbitrary bytes to the client as a feature reply:
// an error wrapping ErrRemote, or n×3 finite features whose reply declared
// that shape; never a panic, and nothing allocated from a declared shape.
func FuzzFeatureReply(f *testing.F) {
	f.Add([]byte(`{"outputs":[{"name":"features","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`), uint8(2))
	f.Add([]byte(`{"outputs":[{"name":"features","shape":[1,1,3],"datatype":"FP64","data":[1,2,3]}]}`), uint8(1))
	f.Add([]byte(`{"outputs":[{"name":"features","shape":[1,9223372036854775807,9223372036854775807],"datatype":"FP32","data":[1,2,3]}]}`), uint8(1))
	f.Add([]byte(`{"outputs":[{"name":"features","shape":[0,3],"datatype":"FP32","data":[]}]}`), uint8(0))
	f.Add([]byte(`{"outputs":[{"name":"features","shape":[],"datatype":"FP32","data":null}]}`), uint8(0))
	f.Fuzz(func(t *testing.T, body []byte, n uint8) {
		c := &Client{base: "test", o: ClientOptions{FeaturesOutput: "features"}}
		c.o.defaults()
		if err := c.setMetadataJSON([]byte(featMeta)); err != nil {
			t.Fatal(err)
		}
		rows := int(n % 8)
		dst := make([]float32, rows*3)
		if err := c.decodeFeaturesJSON(dst, rows, body); err != nil {
			if !errors.Is(err, ErrRemote) {
				t.Fatalf("error %v does not wrap ErrRemote", err)
			}
			return
		}
		var resp InferenceResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("accepted a reply encoding/json rejects: %v", err)
		}
		out, _ := resp.Output("features")
		per := int64(1)
		for _, d := range out.Shape[1:] {
			per *= d
		}
		if len(out.Shape) < 2 || out.Shape[0] != int64(rows) || per != 3 {
			t.Fatalf("accepted shape %v for %d inputs of 3 features", out.Shape, rows)
		}
		for i, v := range dst {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || v != out.Data[i] {
				t.Fatalf("feature %d is %v, reply has %v", i, v, out.Data[i])
			}
		}
	})
}

// FuzzFeatureMetadata feeds arbitrary metadata to a client that wants the
// feature output "features": an error, or a bounded positive FeatureDim.
func FuzzFeatureMetadata(f *testing.F) {
	f.Add([]byte(featMeta))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,2]},{"name":"features","datatype":"FP32","shape":[-1,4611686018427387904,4]}]}`))
	f.Add([]byte(`{"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}],"outputs":[{"name":"features","datatype":"FP32","shape":[-1,2]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &Client{base: "test", o: ClientOptions{FeaturesOutput: "features"}}
		c.o.defaults()
		if err := c.setMetadataJSON(body); err != nil {
			if !errors.Is(err, ErrRemote) {
				t.Fatalf("error %v does not wrap ErrRemote", err)
			}
			return
		}
		fe, ok := c.Model().(model.FeatureExtractor)
		if !ok || fe.FeatureDim() <= 0 || fe.FeatureDim() > maxFeatures {
			t.Fatalf("accepted metadata %s with FeatureDim %v", body, fe)
		}
	})
}
