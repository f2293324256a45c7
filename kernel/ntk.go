package kernel

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/nn"
)

// WNTK is the weighted empirical neural tangent kernel of a network's
// scalar output f = logit[Output]:
//
//	Θ_w(x, z) = Σ_l w_l ⟨∂f/∂θ_l(x), ∂f/∂θ_l(z)⟩,
//
// with one non-negative weight per layer l (its weight and bias together,
// in the order of [NTKGroups]). Weights nil gives the plain empirical NTK
// (every w_l = 1). The gradients are per-sample backward passes of the
// network at its current parameters, in float32, accumulated in float64.
// The kernel is symmetric and PSD; [Gram] computes a block from the two
// Jacobians with one matrix product per layer, and it is safe for
// concurrent use (passes are serialized). It can be used by any method of
// this package (KRR: the WNTK regressor) but not saved to a model file
// (the network is not a kernel parameter).
type WNTK struct {
	Net     *nn.Network
	Weights []float64
	Output  int

	mu sync.Mutex
}

// NTKGroups returns the parameter groups of [WNTK] for net: one per layer
// with parameters, named by its parameters' prefix (the layer index, "1"), and the
// offsets of each group's parameters in the flat parameter vector
// ([nn.Network.Weights]) as [start, end) pairs.
func NTKGroups(net *nn.Network) (names []string, spans [][][2]int) {
	off := 0
	for _, p := range net.Params() {
		name := p.Name
		if i := strings.LastIndexByte(name, '.'); i > 0 {
			name = name[:i]
		}
		if len(names) == 0 || names[len(names)-1] != name {
			names = append(names, name)
			spans = append(spans, nil)
		}
		spans[len(spans)-1] = append(spans[len(spans)-1], [2]int{off, off + p.Size()})
		off += p.Size()
	}
	return names, spans
}

// Validate checks the network, the output index and the weights.
func (k *WNTK) Validate() error {
	if k.Net == nil {
		return fmt.Errorf("kernel: WNTK without a network: %w", ErrParam)
	}
	if k.Output < 0 || k.Output >= k.Net.NumClasses() {
		return fmt.Errorf("kernel: WNTK output %d, the network has outputs 0..%d: %w", k.Output, k.Net.NumClasses()-1, ErrParam)
	}
	if k.Net.HasBatchNorm() {
		return fmt.Errorf("kernel: WNTK needs per-sample gradients; a network with batch norm couples samples: %w", ErrParam)
	}
	names, _ := NTKGroups(k.Net)
	if k.Weights != nil && len(k.Weights) != len(names) {
		return fmt.Errorf("kernel: WNTK has %d weights for %d layers (%s): %w", len(k.Weights), len(names), strings.Join(names, ", "), ErrParam)
	}
	for i, w := range k.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("kernel: WNTK weight %d (%s) is %v, want finite and ≥ 0: %w", i, names[i], w, ErrParam)
		}
	}
	return nil
}

// Symmetric reports true.
func (k *WNTK) Symmetric() bool { return true }

// PSD reports true: Θ_w is a non-negative sum of Gram matrices.
func (k *WNTK) PSD() bool { return true }

// Eval returns Θ_w(x, z).
func (k *WNTK) Eval(x, z []float64) float64 {
	J, err := k.Jacobian(context.Background(), mat.NewDense(2, len(x), append(append([]float64(nil), x...), z...)))
	if err != nil {
		return math.NaN()
	}
	return k.combine(J, 0, J, 1)
}

// combine returns Σ_l w_l ⟨J_a[i]_l, J_b[j]_l⟩.
func (k *WNTK) combine(Ja *mat.Dense, i int, Jb *mat.Dense, j int) float64 {
	_, spans := NTKGroups(k.Net)
	a, b := Ja.RawRowView(i), Jb.RawRowView(j)
	var s float64
	for l, sp := range spans {
		var v float64
		for _, r := range sp {
			for c := r[0]; c < r[1]; c++ {
				v += a[c] * b[c]
			}
		}
		s += k.weight(l) * v
	}
	return s
}

func (k *WNTK) weight(l int) float64 {
	if k.Weights == nil {
		return 1
	}
	return k.Weights[l]
}

// Jacobian returns the n×P matrix of per-sample gradients ∂f/∂θ of the
// rows of X (P = the network's parameter count). It runs the network in
// evaluation mode and leaves its gradients zeroed.
func (k *WNTK) Jacobian(ctx context.Context, X *mat.Dense) (*mat.Dense, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	n, d := X.Dims()
	net := k.Net
	in := 1
	for _, s := range net.InputShape() {
		in *= s
	}
	if d != in {
		return nil, fmt.Errorf("kernel: WNTK: data have %d features, the network takes %d inputs: %w", d, in, ErrShape)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	P, K := net.NumParams(), net.NumClasses()
	J := mat.NewDense(n, P, nil)
	x := make([]float32, d)
	dl := make([]float32, K)
	dl[k.Output] = 1
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for j, v := range X.RawRowView(i) {
			x[j] = float32(v)
		}
		net.ZeroGrad()
		net.Forward(x, 1, false)
		net.Backward(dl, false)
		row := J.RawRowView(i)
		for j, g := range net.Grads() {
			row[j] = float64(g)
		}
	}
	net.ZeroGrad()
	return J, nil
}

// GroupGrams returns the per-layer Gram blocks Θ_l(X, Z) =
// J_X,l·J_Z,lᵀ (rows(X)×rows(Z)), in the order of [NTKGroups]; Θ_w is
// Σ_l w_l Θ_l.
func (k *WNTK) GroupGrams(ctx context.Context, X, Z *mat.Dense) ([]*mat.Dense, error) {
	JX, err := k.Jacobian(ctx, X)
	if err != nil {
		return nil, err
	}
	JZ := JX
	if Z != X {
		if JZ, err = k.Jacobian(ctx, Z); err != nil {
			return nil, err
		}
	}
	_, spans := NTKGroups(k.Net)
	nx, P := JX.Dims()
	nz, _ := JZ.Dims()
	a, b := JX.RawMatrix().Data, JZ.RawMatrix().Data
	out := make([]*mat.Dense, len(spans))
	for l, sp := range spans {
		g := make([]float64, nx*nz)
		for _, r := range sp {
			linalg.Dgemm(false, true, nx, nz, r[1]-r[0], 1, a[r[0]:], P, b[r[0]:], P, 1, g, nz)
		}
		out[l] = mat.NewDense(nx, nz, g)
	}
	return out, nil
}

// GramTo writes Θ_w(X_i, Z_j) into dst.
func (k *WNTK) GramTo(dst *mat.Dense, X, Z *mat.Dense) error {
	gs, err := k.GroupGrams(context.Background(), X, Z)
	if err != nil {
		return err
	}
	dst.Zero()
	for l, g := range gs {
		dst.Add(dst, scaled(k.weight(l), g))
	}
	return nil
}

func scaled(w float64, g *mat.Dense) *mat.Dense {
	var s mat.Dense
	s.Scale(w, g)
	return &s
}

// AlignNTKWeights returns non-negative layer weights w (summing to the
// number of layers) that maximize the centered kernel–target alignment
// A(w) = ⟨K̃_w, ỹỹᵀ⟩ / (‖K̃_w‖_F ‖ỹỹᵀ‖_F) of K_w = Σ_l w_l grams[l] on the
// training targets y (K̃ = HKH, H = I − 11ᵀ/n), by projected gradient
// ascent from w = 1 (iters steps; 0 means 500). This is how [WNTK]
// weights are learned here: the paper's update rule was not retrieved
// (kernels.md §10), alignment is a stand-in objective that needs no
// held-out rows.
func AlignNTKWeights(grams []*mat.Dense, y []float64, iters int) ([]float64, error) {
	L := len(grams)
	if L == 0 {
		return nil, fmt.Errorf("kernel: no Gram matrices to weight: %w", ErrParam)
	}
	n := len(y)
	for l, g := range grams {
		if r, c := g.Dims(); r != n || c != n {
			return nil, fmt.Errorf("kernel: Gram %d is %d×%d for %d targets: %w", l, r, c, n, ErrShape)
		}
	}
	if iters == 0 {
		iters = 500
	}
	// Centered targets and Gram matrices: a_l = ỹᵀK_lỹ, M_lm = ⟨K̃_l, K̃_m⟩.
	yc := make([]float64, n)
	var ym float64
	for _, v := range y {
		ym += v / float64(n)
	}
	for i, v := range y {
		yc[i] = v - ym
	}
	cent := make([]*mat.Dense, L)
	a := make([]float64, L)
	for l, g := range grams {
		cent[l] = centerGram(g)
		a[l] = mat.Inner(mat.NewVecDense(n, yc), cent[l], mat.NewVecDense(n, yc))
	}
	M := make([]float64, L*L)
	for l := 0; l < L; l++ {
		for m := l; m < L; m++ {
			v := frobInner(cent[l], cent[m])
			M[l*L+m], M[m*L+l] = v, v
		}
	}
	w := make([]float64, L)
	for l := range w {
		w[l] = 1
	}
	align := func(w []float64) (float64, []float64) {
		var num, den float64
		Mw := make([]float64, L)
		for l := 0; l < L; l++ {
			num += w[l] * a[l]
			for m := 0; m < L; m++ {
				Mw[l] += M[l*L+m] * w[m]
			}
			den += w[l] * Mw[l]
		}
		s := math.Sqrt(den)
		g := make([]float64, L)
		for l := range g {
			g[l] = a[l]/s - num*Mw[l]/(s*s*s)
		}
		return num / s, g
	}
	step := 1.0
	cur, grad := align(w)
	for it := 0; it < iters; it++ {
		next := make([]float64, L)
		var sum float64
		for l := range next {
			next[l] = max(0, w[l]+step*grad[l]*float64(L))
			sum += next[l]
		}
		if sum == 0 {
			step /= 2
			continue
		}
		for l := range next {
			next[l] *= float64(L) / sum
		}
		v, g := align(next)
		if v > cur {
			w, cur, grad = next, v, g
			step *= 1.2
		} else {
			step /= 2
		}
		if step < 1e-12 {
			break
		}
	}
	return w, nil
}

// centerGram returns HKH.
func centerGram(K *mat.Dense) *mat.Dense {
	n, _ := K.Dims()
	row := make([]float64, n)
	var all float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			row[i] += K.At(i, j) / float64(n)
		}
		all += row[i] / float64(n)
	}
	out := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			out.Set(i, j, K.At(i, j)-row[i]-row[j]+all)
		}
	}
	return out
}

func frobInner(A, B *mat.Dense) float64 {
	a, b := A.RawMatrix().Data, B.RawMatrix().Data
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// SearchNTKWeights returns non-negative layer weights w for the Gram
// blocks grams (n×n, on training rows with targets y) chosen by the
// validation R² of kernel ridge regression on K_w = Σ_l w_l grams[l]: fit
// on the rows not in val, score on val. From w = 1, each of rounds rounds
// (0 means 3) tries, layer by layer, w_l scaled by 0, ¼, ½, 2 and 4 and
// keeps the best; every candidate also picks its ridge from
// ridges × mean diag(K_w) (nil: 10⁻³, 10⁻², 10⁻¹, 1). It returns the
// weights and the chosen relative ridge. This is the validation-driven
// reading of the WNTK paper's iterative weight update, whose exact rule
// was not retrieved (kernels.md §10).
func SearchNTKWeights(ctx context.Context, grams []*mat.Dense, y []float64, val []int, ridges []float64, rounds int) ([]float64, float64, error) {
	L, n := len(grams), len(y)
	if L == 0 {
		return nil, 0, fmt.Errorf("kernel: no Gram matrices to weight: %w", ErrParam)
	}
	for l, g := range grams {
		if r, c := g.Dims(); r != n || c != n {
			return nil, 0, fmt.Errorf("kernel: Gram %d is %d×%d for %d targets: %w", l, r, c, n, ErrShape)
		}
	}
	isVal := make([]bool, n)
	for _, i := range val {
		if i < 0 || i >= n {
			return nil, 0, fmt.Errorf("kernel: validation row %d of %d: %w", i, n, ErrShape)
		}
		isVal[i] = true
	}
	var fit []int
	for i := 0; i < n; i++ {
		if !isVal[i] {
			fit = append(fit, i)
		}
	}
	if len(val) == 0 || len(fit) == 0 {
		return nil, 0, fmt.Errorf("kernel: %d validation and %d fitting rows, need both: %w", len(val), len(fit), ErrShape)
	}
	if ridges == nil {
		ridges = []float64{1e-3, 1e-2, 1e-1, 1}
	}
	if rounds == 0 {
		rounds = 3
	}
	pick := func(idx []int) []float64 {
		out := make([]float64, len(idx))
		for a, i := range idx {
			out[a] = y[i]
		}
		return out
	}
	yf, yv := pick(fit), pick(val)
	block := func(w []float64, rows, cols []int) *mat.Dense {
		out := mat.NewDense(len(rows), len(cols), nil)
		for a, i := range rows {
			dst := out.RawRowView(a)
			for l, g := range grams {
				if w[l] == 0 {
					continue
				}
				src := g.RawRowView(i)
				for b, j := range cols {
					dst[b] += w[l] * src[j]
				}
			}
		}
		return out
	}
	// score returns the best validation R² of w over the ridges.
	score := func(w []float64) (float64, float64, error) {
		Kf, Kv := block(w, fit, fit), block(w, val, fit)
		var scale float64
		for a := range fit {
			scale += Kf.At(a, a) / float64(len(fit))
		}
		if !(scale > 0) {
			return math.Inf(-1), 0, nil
		}
		best, bestRidge := math.Inf(-1), 0.0
		for _, r := range ridges {
			if err := ctx.Err(); err != nil {
				return 0, 0, err
			}
			m := &KRR{Lambda: r * scale}
			if m.FitGram(ctx, Kf, yf) != nil {
				continue
			}
			pred, err := m.PredictGram(Kv)
			if err != nil {
				continue
			}
			if s := R2(yv, pred); s > best {
				best, bestRidge = s, r
			}
		}
		return best, bestRidge, nil
	}
	w := make([]float64, L)
	for l := range w {
		w[l] = 1
	}
	cur, ridge, err := score(w)
	if err != nil {
		return nil, 0, err
	}
	for r := 0; r < rounds; r++ {
		improved := false
		for l := 0; l < L; l++ {
			for _, f := range []float64{0, 0.25, 0.5, 2, 4} {
				cand := append([]float64(nil), w...)
				cand[l] *= f
				s, rd, err := score(cand)
				if err != nil {
					return nil, 0, err
				}
				if s > cur+1e-9 {
					w, cur, ridge, improved = cand, s, rd, true
				}
			}
		}
		if !improved {
			break
		}
	}
	if math.IsInf(cur, -1) {
		return nil, 0, &IllConditionedError{System: "WNTK ridge regression", RCond: 0, Hint: "no weight and ridge fitted; check the network and data"}
	}
	return w, ridge, nil
}
