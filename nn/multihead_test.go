package nn

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func multiHeadCases(t *testing.T) map[string]Spec {
	t.Helper()
	res, err := ResNet([]int{1, 8, 8}, 3, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]Spec{
		"mlp":     MLP([]int{6}, []int{5, 4}, 3),
		"cnn":     CNN([]int{1, 8, 8}, 3, CNNOptions{Width: 2, Hidden: 4}),
		"resnet8": res,
	}
}

// TestMultiHeadSum checks that the heads' logits sum to the network's, that
// the architecture survives a checkpoint, and where the heads start.
func TestMultiHeadSum(t *testing.T) {
	ctx := context.Background()
	firstHead := map[string]string{"mlp": KindDense, "cnn": KindFlatten, "resnet8": KindResidual}
	for name, base := range multiHeadCases(t) {
		t.Run(name, func(t *testing.T) {
			spec, err := MultiHead(base, 3)
			if err != nil {
				t.Fatal(err)
			}
			if got := spec.Layers[len(spec.Layers)-2].Branches[0][0].Kind; got != firstHead[name] {
				t.Errorf("heads start with %s, want %s", got, firstHead[name])
			}
			net, err := New(spec, 1)
			if err != nil {
				t.Fatal(err)
			}
			if net.NumHeads() != 3 || !strings.HasSuffix(spec.Name, "-3heads") {
				t.Fatalf("NumHeads %d, name %s", net.NumHeads(), spec.Name)
			}
			n, k := 5, 3
			x := make([]float32, n*prod(spec.InputShape))
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x {
				x[i] = r.Float32()
			}
			logits := append([]float32(nil), net.Forward(x, n, false)...)
			z := make([]float32, 3*n*k)
			if err := net.HeadLogits(z); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n*k; i++ {
				s := z[i] + z[n*k+i] + z[2*n*k+i]
				if math.Abs(float64(s-logits[i])) > 1e-4 {
					t.Fatalf("logit %d: heads sum to %g, network gives %g", i, s, logits[i])
				}
			}
			// the heads differ (independent initialization)
			if z[0] == z[n*k] {
				t.Errorf("heads 0 and 1 give the same logit %g", z[0])
			}
			var buf bytes.Buffer
			if err := Save(&buf, net, nil); err != nil {
				t.Fatal(err)
			}
			back, _, err := Load(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			// Logits runs the fused inference path (batch norm folded),
			// so the round trip compares it with itself, bit for bit.
			want, got := make([]float32, n*k), make([]float32, n*k)
			if err := net.Logits(ctx, want, x); err != nil {
				t.Fatal(err)
			}
			if err := back.Logits(ctx, got, x); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("logit %d after a checkpoint round trip: %g, want %g", i, got[i], want[i])
				}
			}
			if back.NumHeads() != 3 {
				t.Errorf("NumHeads after loading: %d", back.NumHeads())
			}
		})
	}
}

// TestBackwardHeadsFiniteDifferences checks BackwardHeads against central
// differences of L = Σ c·z for fixed random coefficients c per head.
func TestBackwardHeadsFiniteDifferences(t *testing.T) {
	for name, base := range multiHeadCases(t) {
		t.Run(name, func(t *testing.T) {
			spec, err := MultiHead(base, 2)
			if err != nil {
				t.Fatal(err)
			}
			net, err := New(spec, 3)
			if err != nil {
				t.Fatal(err)
			}
			n, k := 3, 3
			r := rand.New(rand.NewPCG(4, 5))
			x := make([]float32, n*prod(spec.InputShape))
			for i := range x {
				x[i] = r.Float32()
			}
			c := make([]float32, 2*n*k)
			for i := range c {
				c[i] = float32(r.NormFloat64())
			}
			z := make([]float32, len(c))
			loss := func() float64 {
				net.Forward(x, n, false)
				if err := net.HeadLogits(z); err != nil {
					t.Fatal(err)
				}
				var s float64
				for i := range z {
					s += float64(c[i]) * float64(z[i])
				}
				return s
			}
			loss()
			net.ZeroGrad()
			if err := net.BackwardHeads(c); err != nil {
				t.Fatal(err)
			}
			g := append([]float32(nil), net.Grads()...)
			w := net.Weights()
			checked := 0
			for i := 0; i < len(w); i += max(1, len(w)/40) {
				old := w[i]
				const h = 1e-3
				w[i] = old + h
				lp := loss()
				w[i] = old - h
				lm := loss()
				w[i] = old
				fd := (lp - lm) / (2 * h)
				if d := math.Abs(fd - float64(g[i])); d > 2e-2*math.Max(1, math.Abs(fd)) {
					t.Errorf("weight %d: analytic %g, finite difference %g", i, g[i], fd)
				}
				checked++
			}
			if checked < 10 {
				t.Fatalf("checked only %d weights", checked)
			}
		})
	}
}

func TestHeadSpans(t *testing.T) {
	spec, err := MultiHead(CNN([]int{1, 8, 8}, 3, CNNOptions{Width: 2, Hidden: 4}), 3)
	if err != nil {
		t.Fatal(err)
	}
	net, err := New(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	spans, err := net.HeadSpans()
	if err != nil {
		t.Fatal(err)
	}
	owner := make([]int, net.NumParams())
	size := make([]int, len(spans))
	for h, ss := range spans {
		for _, s := range ss {
			for i := s.Off; i < s.Off+s.Len; i++ {
				if owner[i] != 0 {
					t.Fatalf("weight %d belongs to heads %d and %d", i, owner[i]-1, h)
				}
				owner[i] = h + 1
			}
			size[h] += s.Len
		}
	}
	// each head: dense 4·2·2=16 → 4 (68 values) and a 3×4 block of the final weight
	for h, s := range size {
		if s != 16*4+4+3*4 {
			t.Errorf("head %d owns %d weights, want %d", h, s, 16*4+4+3*4)
		}
	}
	// the trunk and the shared bias belong to no head
	if owner[0] != 0 || owner[len(owner)-1] != 0 {
		t.Errorf("trunk or bias assigned to a head")
	}
}

func TestMultiHeadErrors(t *testing.T) {
	plain, err := New(MLP([]int{4}, []int{3}, 2), 1)
	if err != nil {
		t.Fatal(err)
	}
	if plain.NumHeads() != 0 {
		t.Errorf("a plain MLP has %d heads", plain.NumHeads())
	}
	for _, err := range []error{plain.HeadLogits(nil), plain.BackwardHeads(nil), func() error { _, err := plain.HeadSpans(); return err }()} {
		if err == nil || !strings.Contains(err.Error(), "not a multi-head network") {
			t.Errorf("got %v, want a not-multi-head error", err)
		}
	}
	for name, c := range map[string]struct {
		spec  Spec
		heads int
		want  string
	}{
		"one head":      {MLP([]int{4}, []int{3}, 2), 1, "at least 2"},
		"no hidden":     {MLP([]int{4}, nil, 2), 2, "no layer to start heads"},
		"already heads": {func() Spec { s, _ := MultiHead(MLP([]int{4}, []int{3}, 2), 2); return s }(), 2, "already ends in a concat"},
	} {
		if _, err := MultiHead(c.spec, c.heads); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
