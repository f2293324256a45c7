package fed

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/natsnet"
	"github.com/trustml/trustml/nn"
)

// golden is testdata/golden.json, written by testdata/golden.py (PyTorch).
type golden struct {
	FedAvg struct {
		W0      []float64 `json:"w0"`
		LR      float64   `json:"lr"`
		Clients []struct {
			X []float64 `json:"x"`
			Y []int     `json:"y"`
		} `json:"clients"`
		Uploads [][]float64 `json:"uploads"`
		W1      []float64   `json:"w1"`
	} `json:"fedavg"`
	Mix struct {
		W, V, L0 []float64
		Eta, LR  float64
		X        []float64
		Y        []int
		Loss     float64
		Grad, L1 []float64
		Beta1    []float64 `json:"beta1"`
		Share    []float64
	} `json:"mix"`
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func f32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func startServer(t *testing.T) string {
	t.Helper()
	s, err := natsnet.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s.URL()
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(d) {
			t.Fatalf("%s[%d] = %g, want %g (PyTorch)", what, i, got[i], want[i])
		}
	}
}

var tinySpec = nn.MLP([]int{4}, []int{3}, 2)

// TestGoldenFedAvgRound: one FedAvg round over NATS (three client
// goroutines, each one full-batch SGD step, the server's weighted average)
// equals PyTorch's.
func TestGoldenFedAvgRound(t *testing.T) {
	g := loadGolden(t)
	var shards []Shard
	for _, c := range g.FedAvg.Clients {
		d := &data.Dataset{Name: "tiny", Shape: []int{4}, X: f32(c.X), Y: c.Y, Classes: []string{"a", "b"}}
		shards = append(shards, Shard{Train: d, Test: d})
	}
	o := Options{Method: MethodFedAvg, Spec: tinySpec, Init: f32(g.FedAvg.W0), Rounds: 1, LocalEpochs: 1, Batch: 100, LR: g.FedAvg.LR,
		MinClients: 3, RoundTimeout: 5 * time.Second, Seed: 1, KillClient: -1}
	r, err := Fit(context.Background(), startServer(t), shards, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "global weights after one round", r.Global, g.FedAvg.W1, 1e-5)
	if r.Rounds != 1 || r.RoundStats[0].Clients != 3 || r.RoundStats[0].Messages != 6 {
		t.Errorf("round stats %+v", r.RoundStats)
	}
	if want := 6 * (headerLen + 4*len(g.FedAvg.W0)); r.RoundStats[0].Bytes != want {
		t.Errorf("round bytes %d, want %d", r.RoundStats[0].Bytes, want)
	}
}

// TestGoldenMixStep: one Learn2pFed mixing step (loss, gradient in log Λ,
// the new Λ and β, the shared part) equals PyTorch autograd's.
func TestGoldenMixStep(t *testing.T) {
	g := loadGolden(t).Mix
	net, err := nn.New(tinySpec, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMixer(net, g.Eta, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups) != 4 {
		t.Fatalf("%d groups, want 4 (two dense layers' weight and bias)", len(m.Groups))
	}
	copy(m.LogLambda, g.L0)
	w, v := f32(g.W), f32(g.V)
	before := append([]float64(nil), m.LogLambda...)
	loss, err := m.MixStep(net, w, v, f32(g.X), g.Y, g.LR)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-g.Loss) > 1e-5 {
		t.Errorf("loss %g, want %g", loss, g.Loss)
	}
	for i := range before {
		grad := (before[i] - m.LogLambda[i]) / g.LR
		if math.Abs(grad-g.Grad[i]) > 1e-5*(1+math.Abs(g.Grad[i])) {
			t.Errorf("∂L/∂ℓ[%d] = %g, want %g", i, grad, g.Grad[i])
		}
		if math.Abs(m.LogLambda[i]-g.L1[i]) > 1e-5 || math.Abs(m.Beta(i)-g.Beta1[i]) > 1e-6 {
			t.Errorf("group %d: ℓ %g β %g, want %g %g", i, m.LogLambda[i], m.Beta(i), g.L1[i], g.Beta1[i])
		}
	}
	share := make([]float32, len(w))
	m.Share(share, w, v)
	closeTo(t, "shared part", share, g.Share, 1e-6)
}
