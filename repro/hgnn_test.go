package repro

import (
	"context"
	"strings"
	"testing"
)

func TestHGNNTable(t *testing.T) {
	cfg := HGNNConfig{Data: []string{"fashion-mnist-small", "wine", "diabetes"}, Nodes: 60, Labels: []int{2}, Seeds: 2,
		Seed: 1, K: 4, Epochs: 30, Hidden: 8, Deep: 3}
	tab, err := HGNN(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// diabetes is a regression set: it fails, the others run.
	if len(tab.Failed) != 1 || !strings.Contains(tab.Failed[0], "diabetes") {
		t.Fatalf("failed: %v, want diabetes only", tab.Failed)
	}
	// fashion: MLP, 3 single views, 2 concatenated, Multi, ResM, 2 deep;
	// wine: 2 views instead of 3.
	// plus 4 paired differences per setting.
	if got, want := len(tab.Rows), 10+9+2*4; got != want {
		t.Fatalf("%d rows, want %d", got, want)
	}
	methods := map[string]bool{}
	for _, r := range tab.Rows {
		methods[r.Method] = true
		if len(r.Ours.Values) != 2 || !(r.Ours.Mean >= -100 && r.Ours.Mean <= 100) {
			t.Errorf("%s, %s: %v", r.Setting, r.Method, r.Ours)
		}
		if r.Paper.Value != nil {
			t.Errorf("%s: a paper value, but none is public", r.Method)
		}
		// Two labels per class of 10 well-featured image classes: every
		// method must do far better than chance (10%).
		if strings.HasPrefix(r.Setting, "fashion") && strings.HasPrefix(r.Metric, "accuracy") && !strings.Contains(r.Method, "pixels") && r.Ours.Mean < 40 {
			t.Errorf("%s, %s: accuracy %.1f%%, want ≥ 40%%", r.Setting, r.Method, r.Ours.Mean)
		}
	}
	// The paired difference is the difference of the two rows' values.
	vals := map[string][]float64{}
	for _, r := range tab.Rows {
		if strings.HasPrefix(r.Setting, "wine") {
			vals[r.Method+"|"+r.Metric[:4]] = r.Ours.Values
		}
	}
	res, cat, gain := vals["ResMHGNN|accu"], vals["HGNN, concatenated hyperedges|accu"], vals["ResMHGNN|gain"]
	if len(gain) != 2 || len(res) != 2 || len(cat) != 2 {
		t.Fatalf("wine rows: ResMHGNN %v, HGNN concatenated %v, gain %v", res, cat, gain)
	}
	for r := range gain {
		if gain[r] != res[r]-cat[r] {
			t.Errorf("draw %d: gain %v, want %v − %v", r, gain[r], res[r], cat[r])
		}
	}
	for _, m := range []string{"ResMHGNN", "MultiHGNN", "HGNN, fashion-cnn features", "HGNN, concatenated hyperedges", "ResMHGNN, 3 layers", "MLP (concatenated features)"} {
		if !methods[m] {
			t.Errorf("no row for %q (have %v)", m, methods)
		}
	}
	for _, c := range []struct {
		name string
		cfg  HGNNConfig
		want string
	}{
		{"deep too shallow", HGNNConfig{Deep: 2}, "deep"},
		{"zero labels", HGNNConfig{Labels: []int{0}}, "labels per class"},
		{"one node", HGNNConfig{Nodes: 1}, "nodes"},
	} {
		if _, err := HGNN(context.Background(), c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := HGNN(ctx, cfg); err == nil {
		t.Error("cancelled: no error")
	}
}
