package defense

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
)

// Variant selects AAA's target-margin function.
type Variant int

const (
	// Linear reflects the margin about the nearest attractor:
	// t = a − α(m₀ − a).
	Linear Variant = iota
	// Sine bends the margin with a sine of the attractor period:
	// t = m₀ − 0.7τ·sin((1 − 2(m₀ − a)/τ)·π). The amplitude 0.7τ is hard-coded
	// in the official code and α is ignored.
	Sine
)

// String returns "linear" or "sine".
func (v Variant) String() string {
	switch v {
	case Linear:
		return "linear"
	case Sine:
		return "sine"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// Mode selects how AAA's loss couples the rows of one [AAA.Apply] call.
type Mode int

const (
	// Official takes the loss as the mean over the rows of one Apply call,
	// as the official code does over its batch (spec §1.2, §1.4): every
	// row's gradient is divided by the number of rows B, which Adam's
	// normalisation cancels except against ε, so a row's output depends on
	// B (for rows whose gradients are near B·ε: tiny probabilities). The
	// rows are otherwise independent; this is computed exactly as the
	// per-row loop with ε replaced by B·ε.
	Official Mode = iota
	// PerRow optimises every row as its own batch of one, so a row's
	// output does not depend on the other rows of the call.
	PerRow
)

// String returns "official" or "row".
func (m Mode) String() string {
	switch m {
	case Official:
		return "official"
	case PerRow:
		return "row"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// sineAmplitude is the official code's hard-coded amplitude factor (×τ).
const sineAmplitude = 0.7

// AAAConfig holds AAA's settings. [DefaultAAAConfig] gives the official
// defaults of the released experiments (spec §1.1): the class constructors
// default to τ = 4 (linear), but every released run passes τ = 6.
type AAAConfig struct {
	Variant Variant
	// Mode selects the official batch-mean loss (the zero value, default)
	// or the per-row loss.
	Mode Mode
	// Tau (τ) is the attractor interval in logit units: attractors sit at
	// odd multiples of τ/2. 0 (the default) selects [AutoTau] for the
	// number of classes of each call; the released experiments use 6.
	Tau float64
	// Alpha (α) is the reverse step of the linear variant. Default 1.
	Alpha float64
	// Kappa (κ) weighs the calibration loss. Default 5.
	Kappa float64
	// Temperature (T) sets the calibration target softmax(z⁰/T) of the
	// original top-1 class. Default 1 (the released runs' effective value,
	// which only pins the original confidence); tune it with
	// [TuneTemperature] to make AAA a calibrator.
	Temperature float64
	// Iters is the number of Adam steps. Default 100.
	Iters int
	// LR is Adam's learning rate. Default 0.1.
	LR float64
	// Beta1, Beta2 and Eps are Adam's constants, PyTorch's defaults
	// 0.9, 0.999 and 1e-8. In [Official] mode ε acts against gradients
	// divided by the batch size, so it matters for rows with tiny
	// probabilities.
	Beta1, Beta2, Eps float64
	// Workers is the number of goroutines a batch's rows are split across
	// (batches of at least 2×32 rows); 0 means runtime.GOMAXPROCS(0). Rows
	// are coupled at most through the batch size, so the outputs do not
	// depend on it.
	Workers int
}

// DefaultAAAConfig returns the official defaults for variant v.
func DefaultAAAConfig(v Variant) AAAConfig {
	return AAAConfig{
		Variant:     v,
		Tau:         0,
		Alpha:       1,
		Kappa:       5,
		Temperature: 1,
		Iters:       100,
		LR:          0.1,
		Beta1:       0.9,
		Beta2:       0.999,
		Eps:         1e-8,
	}
}

// maxAAAIters bounds Iters, so that a command-line typo cannot stall a server.
const maxAAAIters = 1_000_000

// Validate reports the first invalid setting.
func (c AAAConfig) Validate() error {
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("aaa: %s must be positive and finite, got %v", name, v)
		}
		return nil
	}
	switch {
	case c.Variant != Linear && c.Variant != Sine:
		return fmt.Errorf("aaa: unknown variant %d", int(c.Variant))
	case c.Mode != Official && c.Mode != PerRow:
		return fmt.Errorf("aaa: unknown mode %d", int(c.Mode))
	case !(c.Tau >= 0) || math.IsInf(c.Tau, 0):
		return fmt.Errorf("aaa: tau must be ≥ 0 (0: automatic) and finite, got %v", c.Tau)
	case !(c.Alpha >= 0) || math.IsInf(c.Alpha, 0):
		return fmt.Errorf("aaa: alpha must be ≥ 0 and finite, got %v", c.Alpha)
	case !(c.Kappa >= 0) || math.IsInf(c.Kappa, 0):
		return fmt.Errorf("aaa: kappa must be ≥ 0 and finite, got %v", c.Kappa)
	case pos("temperature", c.Temperature) != nil:
		return pos("temperature", c.Temperature)
	case c.Iters < 0 || c.Iters > maxAAAIters:
		return fmt.Errorf("aaa: iters must be in [0, %d], got %d", maxAAAIters, c.Iters)
	case pos("lr", c.LR) != nil:
		return pos("lr", c.LR)
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return fmt.Errorf("aaa: beta1 must be in [0, 1), got %v", c.Beta1)
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return fmt.Errorf("aaa: beta2 must be in [0, 1), got %v", c.Beta2)
	case pos("eps", c.Eps) != nil:
		return pos("eps", c.Eps)
	case c.Workers < 0:
		return fmt.Errorf("aaa: workers must be ≥ 0, got %d", c.Workers)
	}
	return nil
}

// AutoTau returns the attractor interval AAA uses for k classes when
// [AAAConfig.Tau] is 0:
//
//	τ = ln(k − 1) / (2s), clamped to [0.5, 6],
//
// where s·τ is the largest change of the top-2 margin the target asks for
// (s = (1 + α)/2 for the linear variant, 0.7 for the sine). The calibration
// term can hold the original top-1 probability while the margin moves only
// through the other k − 2 logits, which change its odds by a factor of at
// most about k − 1; this τ keeps the margin change within half of that
// (ln(k − 1)/2) each way. With τ = 6 on a 10-class model whose clean
// margins are mostly below 6, the target is out of reach of the
// calibration term for most rows: measured on the embedded Fashion-MNIST
// CNN, the defended top-1 probability then misses its target by 0.059 on
// average (ECE 2.1% → 5.5% on 1000 held-out images), and by 0.004 at
// τ = 1.1 (ECE 1.5%). 1.10 (linear, α = 1) and 1.57 (sine) for 10 classes;
// 0.5 for 2 or 3 classes, where the top-2 margin fixes p_c (k = 2) and no
// τ lets AAA calibrate; 3.45 and 4.93 for 1000 classes.
func AutoTau(v Variant, alpha float64, k int) float64 {
	s := sineAmplitude
	if v == Linear {
		s = (1 + alpha) / 2
	}
	if k < 2 || !(s > 0) {
		return 6
	}
	return min(max(math.Log(float64(k-1))/(2*s), 0.5), 6)
}

// Target returns the nearest attractor a of a clean top-2 margin m₀ ≥ 0 and
// the target margin t that AAA steers the defended logits to (spec §1.2,
// steps 3 and 4). The attractor is (round(m₀/τ + ½) − ½)·τ with
// round-half-to-even, as torch.round. c.Tau must be positive (resolve 0
// with [AutoTau]).
func (c AAAConfig) Target(margin float64) (attractor, target float64) {
	return c.target(margin)
}

// target is Target without copying c.
func (c *AAAConfig) target(margin float64) (attractor, target float64) {
	a := (math.RoundToEven(margin/c.Tau+0.5) - 0.5) * c.Tau
	switch c.Variant {
	case Sine:
		return a, margin - sineAmplitude*c.Tau*math.Sin((1-2/c.Tau*(margin-a))*math.Pi)
	default:
		return a, a - c.Alpha*(margin-a)
	}
}

// AAAStats counts what AAA did since it was built or last reset.
type AAAStats struct {
	// Rows is the number of rows defended.
	Rows int64 `json:"rows"`
	// Reverted rows had their argmax changed by the optimisation (or, with
	// extreme settings, overflowed float32) and were returned unchanged: the
	// safety guard, a deviation from the official code, which returns them
	// anyway. It should stay ≪ 1 % of Rows.
	Reverted int64 `json:"reverted"`
	// Crossed rows ended on the other side of their attractor, the official
	// code's "loss reverse rate": (m̂ − a)(m₀ − a) < 0.
	Crossed int64 `json:"crossed"`
}

// AAA is the Adversarial Attack on Attackers post-processor (Chen et al.,
// NeurIPS 2022; spec §1). Per row it optimises the logits with Adam so that
// the top-1 minus top-2 margin moves to a target that runs against the real
// margin inside each attractor period, while the original top-1 probability
// stays at a (temperature-scaled) calibration target:
//
//	L(z) = |m̂(z) − t| + κ·|softmax(z)_c − softmax(z⁰/T)_c|,
//
// m̂ the current top-2 margin, c the original top-1 class. Gradients are
// analytic and the computation is in float64. In [Official] mode (the
// default) the loss is the mean over the rows of one Apply call, as in the
// official code: the 1/B factor is not cancelled by Adam where gradients
// are near ε, so a row's output depends on the batch size B; [PerRow] mode
// makes rows independent. If the optimisation
// changes the argmax the row is returned unchanged, so AAA keeps the argmax
// exactly; [AAA.Stats] counts how often that happens.
//
// On amd64, rows are optimised in blocks of 16 or 8 (AVX-512) or 4 (AVX2
// with FMA) by assembly kernels, one row per float64 lane, which compute
// exactly what the portable scalar loop computes (bit for bit: its
// arithmetic in the same order, with its fused multiply-adds where it has
// them; the top two logits and e_c are found in other ways that give the
// same values); other CPUs and platforms run the scalar loop. [AAA.ApplyGroups]
// fills the lanes with the rows of several requests.
//
// On one worker, Apply allocates nothing once its scratch buffers have
// grown to k; splitting a batch across goroutines costs a few small
// allocations per call. An AAA is not safe for concurrent use.
type AAA struct {
	cfg      AAAConfig
	name     string
	stepSize []float64 // lr·(1 − β1) / (1 − β1ᵗ)
	bc2Sqrt  []float64 // √((1 − β2ᵗ) / (1 − β2))
	work     []aaaScratch
	stats    AAAStats
	rowEps   []float64 // each row's Adam ε in the current call (×B in Official mode)
	run      AAAConfig // cfg with τ resolved for k = runK
	runK     int
}

// aaaScratch is one worker's state: the logits z, Adam's moments m and v,
// the softmax numerators e, and its counts for the current call.
type aaaScratch struct {
	z, m, v, e     []float64
	zs, ms, vs, es []float64          // k×width: a block's z, m, v, e for the kernel
	lanes          *aaaLanes          // its own allocation: see aaaLanes
	consts         AAAConfig          // the settings lanes' constants are set for
	starts         [maxLanes]rowStart // the block's rows' targets
	stats          AAAStats
	_              [64]byte // keep workers' counters on separate cache lines
}

// minRowsPerWorker is the smallest share of a batch worth a goroutine
// (about 0.3 ms of work).
const minRowsPerWorker = 32

var _ Defense = (*AAA)(nil)

// NewAAA returns an AAA defense with settings cfg.
func NewAAA(cfg AAAConfig) (*AAA, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &AAA{cfg: cfg, name: "aaa-" + cfg.Variant.String()}
	d.stepSize = make([]float64, cfg.Iters)
	d.bc2Sqrt = make([]float64, cfg.Iters)
	for t := range cfg.Iters {
		step := float64(t + 1)
		// The steps keep Adam's moments divided by 1 − β1 and 1 − β2,
		// m/(1−β1) = β1·m/(1−β1) + g and v/(1−β2) = β2·v/(1−β2) + g², one
		// operation fewer each; these factors take the divisors back.
		d.stepSize[t] = cfg.LR * (1 - cfg.Beta1) / (1 - math.Pow(cfg.Beta1, step))
		d.bc2Sqrt[t] = math.Sqrt((1 - math.Pow(cfg.Beta2, step)) / (1 - cfg.Beta2))
	}
	return d, nil
}

// Name returns "aaa-linear" or "aaa-sine".
func (d *AAA) Name() string { return d.name }

// Output returns [Logits].
func (d *AAA) Output() Output { return Logits }

// KeepsArgmax returns true: rows whose argmax would change are reverted.
func (d *AAA) KeepsArgmax() bool { return true }

// BatchSizeDependent reports whether a row's output depends on the number
// of rows in its Apply call: true in [Official] mode, whose batch-mean loss
// couples rows through that number only (never through the other rows'
// values).
func (d *AAA) BatchSizeDependent() bool { return d.cfg.Mode == Official }

// BlockRows returns the number of rows AAA's SIMD kernel optimises at once
// on this CPU (16 with AVX-512, 4 with AVX2 and FMA; 1 on the scalar
// path): a batch of a multiple of it costs AAA no padded rows. A server
// can round its batches to it (serve.BatchOptions.BatchMultiple).
func (d *AAA) BlockRows() int { return max(aaaWidth, 1) }

// Config returns the settings d was built with.
func (d *AAA) Config() AAAConfig { return d.cfg }

// Stats returns the counts since d was built or [AAA.ResetStats] was called.
func (d *AAA) Stats() AAAStats { return d.stats }

// ResetStats zeroes the counts.
func (d *AAA) ResetStats() { d.stats = AAAStats{} }

// Apply writes the AAA-defended logits of the n×k logits into dst. Large
// batches are split across [AAAConfig.Workers] goroutines; the per-row loop
// allocates nothing once the scratch buffers have grown to k.
func (d *AAA) Apply(dst, logits []float32, k int) error {
	return d.ApplyGroups(dst, logits, k, nil)
}

// ApplyGroups defends consecutive groups of rows, sizes[g] rows each, with
// exactly the outputs and stats of one [AAA.Apply] call per group, in one
// pass (nil sizes: one group of all the rows). In [Official] mode a row's
// output depends on the number of rows of its call: a server that applies
// AAA once per request, so that dynamic batching never changes an answer,
// calls ApplyGroups once per batch with the requests' sizes and keeps
// the kernels' lanes full.
func (d *AAA) ApplyGroups(dst, logits []float32, k int, sizes []int) error {
	n, err := checkLogits(d.name, dst, logits, k)
	if err != nil {
		return err
	}
	d.rowEps = grow(d.rowEps, n)
	if sizes == nil {
		d.fillEps(d.rowEps, n)
	} else {
		off := 0
		for g, size := range sizes {
			if size < 0 || size > n-off {
				return fmt.Errorf("%w: defense %s: group %d of %d rows after %d of %d rows", model.ErrShape, d.name, g, size, off, n)
			}
			d.fillEps(d.rowEps[off:off+size], size)
			off += size
		}
		if off != n {
			return fmt.Errorf("%w: defense %s: groups hold %d rows, logits %d", model.ErrShape, d.name, off, n)
		}
	}
	eps := d.rowEps
	workers := 1
	if n >= 2*minRowsPerWorker {
		workers = d.cfg.Workers
		if workers == 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		workers = max(1, min(workers, n/minRowsPerWorker))
	}
	if d.runK != k {
		d.run = d.cfg
		if d.run.Tau == 0 {
			d.run.Tau = AutoTau(d.cfg.Variant, d.cfg.Alpha, k)
		}
		d.runK = k
	}
	if len(d.work) < workers {
		d.work = append(d.work, make([]aaaScratch, workers-len(d.work))...)
	}
	for i := range workers {
		w := &d.work[i]
		w.z, w.m, w.v, w.e = grow(w.z, k), grow(w.m, k), grow(w.v, k), grow(w.e, k)
		if len(aaaWidths) > 0 {
			n := aaaWidths[0] * k
			w.zs, w.ms, w.vs, w.es = grow(w.zs, n), grow(w.ms, n), grow(w.vs, n), grow(w.es, n)
			if w.lanes == nil {
				w.lanes = new(aaaLanes)
			}
			// Written only when they change: after a forward pass has
			// evicted them from the caches, writing them costs more than
			// reading them.
			if w.consts != d.run {
				w.lanes.setConsts(&d.run)
				w.consts = d.run
			}
		}
	}
	if workers == 1 {
		d.rows(&d.work[0], dst, logits, k, eps)
	} else {
		var wg sync.WaitGroup
		// Shares are whole blocks of the widest kernel.
		b := max(aaaWidth, 1)
		per := (n + b*workers - 1) / (b * workers) * b
		for w := range workers {
			lo, hi := min(w*per, n), min((w+1)*per, n)
			wg.Go(func() {
				d.rows(&d.work[w], dst[lo*k:hi*k], logits[lo*k:hi*k], k, eps[lo:hi])
			})
		}
		wg.Wait()
	}
	for i := range workers {
		st := &d.work[i].stats
		d.stats.Rows += st.Rows
		d.stats.Reverted += st.Reverted
		d.stats.Crossed += st.Crossed
		*st = AAAStats{}
	}
	return nil
}

// fillEps sets the Adam ε of the rows of one group of size rows: the
// official batch-mean loss divides every gradient by the group's size;
// Adam's update m/(√v + ε) is then exactly the per-row update with
// ε·size.
func (d *AAA) fillEps(eps []float64, size int) {
	e := d.cfg.Eps
	if d.cfg.Mode == Official {
		e *= float64(size)
	}
	for i := range eps {
		eps[i] = e
	}
}

// rows defends the rows of logits into dst, row i with Adam constant
// eps[i], in blocks with the SIMD kernels where the CPU has them (see
// blockWidth), else one row at a time.
func (d *AAA) rows(w *aaaScratch, dst, logits []float32, k int, eps []float64) {
	n := len(logits) / k
	for i := 0; i < n; {
		width := blockWidth(n - i)
		if width == 0 {
			d.row(w, dst[i*k:(i+1)*k], logits[i*k:(i+1)*k], eps[i])
			i++
			continue
		}
		hi := min(i+width, n)
		d.block(w, dst[i*k:hi*k], logits[i*k:hi*k], k, width, eps[i:hi])
		i = hi
	}
}

// blockWidth returns the kernel for the next block when rest rows are
// left: the narrowest that holds them (padded), but no narrower than 8
// lanes where the AVX-512 kernels run, and the scalar path (0) for a single
// row with AVX2 only. Measured per block here: 16 lanes 19 µs, 8 lanes
// 11.4–11.8 µs, 4 lanes (AVX2, a gather per exponential) 12.6–13.2 µs, one
// row on the scalar path 12–18 µs.
func blockWidth(rest int) int {
	if aaaWidth == 0 {
		return 0
	}
	least := 4
	if aaaWidth >= 8 {
		least = 8
	} else if rest == 1 {
		return 0
	}
	width := aaaWidth
	for _, wd := range aaaWidths { // widest first
		if wd <= aaaWidth && wd >= rest && wd >= least {
			width = wd
		}
	}
	return width
}

// top2 returns the indices of the largest and second-largest values of row
// (finite, at least two), the first index on ties. It compares orderKeys,
// so that the compiler selects with conditional moves: the branches of
// "v > b1, else v > b2" are random for logits.
func top2(row []float32) (int, int) {
	i1, i2, b1, b2 := 0, 1, orderKey(row[0]), orderKey(row[1])
	if b2 > b1 {
		i1, i2, b1, b2 = 1, 0, b2, b1
	}
	for j := 2; j < len(row); j++ {
		v := orderKey(row[j])
		if v > b2 {
			i2, b2 = j, v
		}
		if v > b1 {
			i2, b2 = i1, b1
			i1, b1 = j, v
		}
	}
	return i1, i2
}

// orderKey maps a float32 that is not NaN to an int32 of the same order,
// with −0 equal to +0 (x + 0 turns −0 into +0): the bits of a negative
// float32 count down as it grows, so they are flipped.
func orderKey(x float32) int32 {
	b := int32(math.Float32bits(x + 0))
	return b ^ (b >> 31 & 0x7fff_ffff)
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// rowStart is a row's state before its first Adam step.
type rowStart struct {
	c, i2       int     // the original top-1 and top-2 classes
	m0, a, t    float64 // the clean margin, its attractor and the target margin
	pref, s, ec float64 // the calibration target, Σ e_j and e_c
}

// start prepares one row: it sets z to the logits and, with exps, e to
// exp(z_j − z_c), and returns the row's targets (see targets).
func (d *AAA) start(in []float32, z, e []float64, exps, pref bool) rowStart {
	var r rowStart
	d.targets(&r, in, z, e, pref)
	for j, x := range in {
		z[j] = float64(x)
	}
	if exps { // e_j = exp(z_j − z_c), the top logit; s their sum
		r.s = expShifted(e, z, z[r.c])
		r.ec = e[r.c]
	}
	return r
}

// targets sets r to the targets of the row in, with the calibration
// target pref if asked for (the kernels compute it themselves at
// temperature 1), which uses z and e as scratch.
func (d *AAA) targets(r *rowStart, in []float32, z, e []float64, pref bool) {
	cfg := &d.run
	r.c, r.i2 = top2(in)
	c := r.c
	r.m0 = float64(in[c]) - float64(in[r.i2])
	r.a, r.t = cfg.target(r.m0)
	r.pref, r.s, r.ec = 0, 0, 0

	// Calibration target pref = softmax(z⁰/T)_c, computed exactly as p_c is
	// in the steps: with T = 1 the first step must see p_c − pref = 0 (sign
	// 0), as PyTorch does, or Adam's first, normalised step moves every
	// logit.
	if pref {
		for j, x := range in {
			z[j] = float64(x) / cfg.Temperature
		}
		s := expShifted(e, z, z[c])
		r.pref = e[c] * (1 / s)
	}
}

// row defends one row of logits with Adam constant eps; out may be the same
// slice as in.
func (d *AAA) row(w *aaaScratch, out, in []float32, eps float64) {
	cfg := &d.run
	k := len(in)
	z, m, v, e := w.z[:k], w.m[:k], w.v[:k], w.e[:k]
	r := d.start(in, z, e, true, true)
	c, i1, i2, t, pref, s := r.c, r.c, r.i2, r.t, r.pref, r.s
	for j := range k {
		m[j], v[j] = 0, 0
	}
	b1, b2 := cfg.Beta1, cfg.Beta2
	kappa := cfg.Kappa
	for it := range cfg.Iters {
		inv := 1 / s
		pc := e[c] * inv
		gm := sign(z[i1] - z[i2] - t)    // ∂|m̂ − t|/∂z = gm·(e_i1 − e_i2)
		gc := kappa * sign(pc-pref) * pc // ∂κ|p_c − pref|/∂z = gc·(e_c − p)
		ngi := -gc * inv                 // −gc/Σe
		// Adam: z −= lr/(1−β1ᵗ)·m/(√v/√(1−β2ᵗ) + ε), with one division,
		// on the moments m/(1−β1) and v/(1−β2) (see stepSize).
		ssbc, epsbc := d.stepSize[it]*d.bc2Sqrt[it], eps*d.bc2Sqrt[it]
		n1, n2 := -1, -1
		best1, best2 := math.Inf(-1), math.Inf(-1)
		for j := range z {
			g := e[j] * ngi
			if j == c {
				g += gc
			}
			if j == i1 {
				g += gm
			} else if j == i2 {
				g -= gm
			}
			mj := math.FMA(b1, m[j], g)
			vj := math.FMA(g, g, b2*v[j])
			m[j], v[j] = mj, vj
			zj := math.FMA(-ssbc, mj/(math.Sqrt(vj)+epsbc), z[j])
			z[j] = zj
			// Track the new top two, the first index on ties.
			if zj > best1 {
				best2, n2 = best1, n1
				best1, n1 = zj, j
			} else if zj > best2 {
				best2, n2 = zj, j
			}
		}
		if n2 < 0 {
			break // NaN from overflowing settings: the guard reverts the row
		}
		i1, i2 = n1, n2
		s = expShifted(e, z, best1)
	}
	d.finish(w, out, in, z, 1, &r)
}

// finish writes the defended logits of the row in, z[j·stride] for class
// j, to out, or in itself if the guard reverts it, and counts the row.
//
// The guard keeps the argmax of the float32 output exactly, and keeps it
// finite (an extreme learning rate could overflow float32). A row whose
// Adam steps met a NaN (the break of [AAA.row]) has at least k − 1
// logits that are NaN or −∞, and a non-finite logit stays non-finite under
// further steps, so such a row is reverted whether or not its steps went on.
func (d *AAA) finish(w *aaaScratch, out, in []float32, z []float64, stride int, r *rowStart) {
	k := len(in)
	w.stats.Rows++
	// The top two of the float32 outputs as top2 finds them, without its
	// branches; they matter only if every output is finite, else the row
	// is reverted. nonFinite is 1 once an output is ±∞ or NaN: its
	// exponent bits are all ones, and adding one to them carries into the
	// sign bit.
	f1, f2 := float32(z[0]), float32(z[stride])
	nonFinite := (math.Float32bits(f1)&0x7f80_0000+0x80_0000)>>31 | (math.Float32bits(f2)&0x7f80_0000+0x80_0000)>>31
	o1, o2, b1, b2 := 0, 1, orderKey(f1), orderKey(f2)
	if b2 > b1 {
		o1, o2, b1, b2 = 1, 0, b2, b1
	}
	for j := 2; j < k; j++ {
		f := float32(z[j*stride])
		nonFinite |= (math.Float32bits(f)&0x7f80_0000 + 0x80_0000) >> 31
		v := orderKey(f)
		if v > b2 {
			o2, b2 = j, v
		}
		if v > b1 {
			o2, b2 = o1, b1
			o1, b1 = j, v
		}
	}
	if o1 != r.c || nonFinite != 0 {
		w.stats.Reverted++
		copy(out, in)
		return
	}
	if mh := float64(float32(z[o1*stride])) - float64(float32(z[o2*stride])); (mh-r.a)*(r.m0-r.a) < 0 {
		w.stats.Crossed++
	}
	for j := range out {
		out[j] = float32(z[j*stride])
	}
}

// aaaLanes is the state of a block of rows for the SIMD kernels, one row
// per float64 lane: per-lane registers and the constants of the
// computation broadcast to the lanes, each field 128 bytes; a kernel of
// width 4 uses the first four lanes of each field. The kernels' assembly
// reads the fields through go_asm.h. It holds no pointer (those are in
// [aaaBufs]), so that Go's allocator places an aaaLanes of its own (over
// 4 KiB) without a header, 64-byte aligned: none of the kernels' 64-byte
// operands then straddles two cache lines.
type aaaLanes struct {
	s, ec, zi1, zi2, t, pref [maxLanes]float64 // Σe, e_c (set by the kernel), z_i1, z_i2, targets
	eps                      [maxLanes]float64 // Adam's ε
	c, i1, i2                [maxLanes]int64
	cIdx                     [maxLanes]int64 // c·width + lane: e_c's element of the block's e

	kappa, b1, b2                         [maxLanes]float64
	one, mone, signBit, negInf            [maxLanes]float64
	expMin, invLn2, shifter, ln2Hi, ln2Lo [maxLanes]float64
	coef                                  [len(expCoef)][maxLanes]float64 // expCoef
	mask15, incr                          [maxLanes]uint64
	signFix                               [maxLanes]uint64  // VFIXUPIMMPD's table for sign (see signFixTable)
	ssbc, epsbc                           [maxLanes]float64 // the current step's

	k, iters int
	prefPc   int64 // 1: the kernel sets pref to the first step's pc (temperature 1)
}

// aaaBufs points the SIMD kernels at a block's vectors of k×width float64
// (the row index, lane, fastest), Adam's per-step constants and the
// exponential's table.
type aaaBufs struct {
	z, m, v, e        *float64 // k×width each
	stepSize, bc2Sqrt *float64 // iters each
	table             *uint64  // expTable
}

// maxLanes is the widest kernel's number of lanes.
const maxLanes = 16

// setConsts broadcasts the constants of the computation to l's lanes.
func (l *aaaLanes) setConsts(cfg *AAAConfig) {
	l.kappa, l.b1, l.b2 = bcast(cfg.Kappa), bcast(cfg.Beta1), bcast(cfg.Beta2)
	l.one, l.mone, l.signBit = bcast(1), bcast(-1), bcast(math.Copysign(0, -1))
	l.negInf, l.expMin = bcast(math.Inf(-1)), bcast(expMin)
	l.invLn2, l.shifter = bcast(expInvLn2), bcast(expShifter)
	l.ln2Hi, l.ln2Lo = bcast(expLn2Hi), bcast(expLn2Lo)
	for i, c := range expCoef {
		l.coef[i] = bcast(c)
	}
	for i := range maxLanes {
		l.mask15[i], l.incr[i], l.signFix[i] = 15, 1, signFixTable
	}
}

// signFixTable makes the AVX-512 instruction VFIXUPIMMPD compute sign as
// the scalar code does: one response (4 bits) per class of its operand,
// class 0 in the lowest bits: QNaN, SNaN and ±0 give +0 (code 8), +1, +∞
// and positive numbers +1 (code 10), −∞ and negative numbers −1 (code 9).
const signFixTable = 0xa9a9_a888

// bcast returns x in every lane.
func bcast(x float64) (v [maxLanes]float64) {
	for i := range v {
		v[i] = x
	}
	return v
}

// block defends one to width rows of k logits with the kernel of width
// lanes: the same computation as a call of [AAA.row] for each row. Lanes
// without a row repeat the last row and are discarded (the rows of a call
// are independent: they share only ε).
func (d *AAA) block(w *aaaScratch, out, in []float32, k, width int, eps []float64) {
	cfg := &d.run
	l := w.lanes
	z, e := w.z[:k], w.e[:k]
	Z, E := w.zs[:width*k], w.es[:width*k]
	rs := &w.starts
	rows := len(in) / k
	// With T = 1 the calibration target is the first step's p_c, computed
	// by the same operations: the kernel takes it from there.
	prefPc := cfg.Temperature == 1
	l.prefPc = 0
	if prefPc {
		l.prefPc = 1
	}
	for L := range width {
		if L >= rows {
			// Padding: the last row's lane again.
			for j := range k {
				Z[width*j+L] = Z[width*j+rows-1]
			}
			l.zi1[L], l.zi2[L] = l.zi1[rows-1], l.zi2[rows-1]
			l.t[L], l.pref[L] = l.t[rows-1], l.pref[rows-1]
			l.c[L], l.i1[L], l.i2[L] = l.c[rows-1], l.i1[rows-1], l.i2[rows-1]
			l.eps[L] = l.eps[rows-1]
			continue
		}
		row := in[L*k : (L+1)*k]
		r := &rs[L]
		d.targets(r, row, z, e, !prefPc)
		for j, x := range row {
			Z[width*j+L] = float64(x)
		}
		l.zi1[L], l.zi2[L] = float64(row[r.c]), float64(row[r.i2])
		l.t[L], l.pref[L] = r.t, r.pref
		l.c[L], l.i1[L], l.i2[L] = int64(r.c), int64(r.c), int64(r.i2)
		l.eps[L] = eps[L]
	}
	for L := range width {
		l.cIdx[L] = l.c[L]*int64(width) + int64(L)
	}
	M, V := w.ms[:width*k], w.vs[:width*k]
	clear(M)
	clear(V)
	b := aaaBufs{z: &Z[0], m: &M[0], v: &V[0], e: &E[0], table: &expTable[0]}
	l.k, l.iters = k, cfg.Iters
	if cfg.Iters > 0 {
		b.stepSize, b.bc2Sqrt = &d.stepSize[0], &d.bc2Sqrt[0]
	}
	steps(l, &b, width)
	for L := range rows {
		d.finish(w, out[L*k:(L+1)*k], in[L*k:(L+1)*k], Z[L:], width, &rs[L])
	}
}

// DefaultTemperatureGrid returns the official tuning grid: t = 0.001, 0.002,
// …, 0.999 and 1/t (1998 values; the official grid also starts at t = 0,
// which divides by zero and is left out).
func DefaultTemperatureGrid() []float64 {
	grid := make([]float64, 0, 1998)
	for i := 1; i < 1000; i++ {
		t := float64(i) / 1000
		grid = append(grid, t, 1/t)
	}
	return grid
}

// TemperatureResult is the outcome of [TuneTemperature].
type TemperatureResult struct {
	Temperature float64   `json:"temperature"` // the grid value of least defended ECE
	ECE         float64   `json:"ece"`         // its defended ECE in [0, 1]
	ECEs        []float64 `json:"eces"`        // the defended ECE of every grid value, in grid order
	// Undefended is the ECE of the undefended logits on the same samples.
	Undefended float64 `json:"undefended_ece"`
	// AtOrBelow reports ECE ≤ Undefended. When false, no grid value keeps
	// AAA's ECE at or below the undefended model's; Temperature is then the
	// least bad one, and a report should say so.
	AtOrBelow bool `json:"at_or_below_undefended"`
}

// TemperatureGrid returns the temperatures trustml searches for AAA's
// calibration: a coarse version of the official grid (t and 1/t for t in
// steps of 0.001), every 0.05 from 0.5 to 2 where the tuned values of
// trained models fall, then 2.25 to 4 in steps of 0.25, and 5, 6, 8, 10.
func TemperatureGrid() []float64 {
	var g []float64
	for t := 0.5; t < 2.001; t += 0.05 {
		g = append(g, math.Round(t*100)/100)
	}
	for t := 2.25; t < 4.001; t += 0.25 {
		g = append(g, t)
	}
	return append(g, 5, 6, 8, 10)
}

// TuneTemperature picks AAA's calibration temperature as the official code
// does (spec §1.2) with every held-out row in one batch; it is
// [TuneTemperatureBatch] with batch 0.
func TuneTemperature(ctx context.Context, cfg AAAConfig, logits []float32, labels []int, k int, grid []float64) (TemperatureResult, error) {
	return TuneTemperatureBatch(ctx, cfg, logits, labels, k, grid, 0)
}

// TuneTemperatureBatch picks AAA's calibration temperature on held-out
// data: for each T in grid it defends the logits with AAA (cfg with
// Temperature = T) in consecutive calls of batch rows (0: one call), and
// computes the ECE of the softmax of the defended logits against labels;
// the first T of least defended ECE wins. The result also holds the
// undefended ECE and whether the winner is at or below it. In [Official]
// mode a row's output depends on its batch size, so batch should be the
// size the defended model will be evaluated with. Use about 1000 held-out
// samples. The cost is len(grid) AAA passes over the logits; ctx is
// checked between passes.
func TuneTemperatureBatch(ctx context.Context, cfg AAAConfig, logits []float32, labels []int, k int, grid []float64, batch int) (TemperatureResult, error) {
	if len(grid) == 0 {
		return TemperatureResult{}, errors.New("aaa: empty temperature grid")
	}
	if k < 2 || len(logits) != len(labels)*k || len(labels) == 0 {
		return TemperatureResult{}, fmt.Errorf("aaa: %d logits for %d labels and k=%d", len(logits), len(labels), k)
	}
	if batch < 0 {
		return TemperatureResult{}, fmt.Errorf("aaa: batch %d < 0", batch)
	}
	for i, y := range labels {
		if y < 0 || y >= k {
			return TemperatureResult{}, fmt.Errorf("aaa: label %d of sample %d outside [0, %d)", y, i, k)
		}
	}
	n := len(labels)
	if batch == 0 || batch > n {
		batch = n
	}
	out := make([]float32, len(logits))
	metrics.Softmax(out, logits, k)
	und, err := metrics.ECE(out, labels, k)
	if err != nil {
		return TemperatureResult{}, err
	}
	res := TemperatureResult{ECE: math.Inf(1), ECEs: make([]float64, len(grid)), Undefended: und}
	for g, temp := range grid {
		if err := ctx.Err(); err != nil {
			return TemperatureResult{}, err
		}
		c := cfg
		c.Temperature = temp
		d, err := NewAAA(c)
		if err != nil {
			return TemperatureResult{}, fmt.Errorf("aaa: grid value %d: %w", g, err)
		}
		for lo := 0; lo < n; lo += batch {
			hi := min(lo+batch, n)
			if err := d.Apply(out[lo*k:hi*k], logits[lo*k:hi*k], k); err != nil {
				return TemperatureResult{}, err
			}
		}
		metrics.Softmax(out, out, k)
		ece, err := metrics.ECE(out, labels, k)
		if err != nil {
			return TemperatureResult{}, err
		}
		res.ECEs[g] = ece
		if ece < res.ECE {
			res.ECE, res.Temperature = ece, temp
		}
	}
	res.AtOrBelow = res.ECE <= res.Undefended
	return res, nil
}

func init() {
	for _, v := range []Variant{Linear, Sine} {
		def := DefaultAAAConfig(v)
		params := []Param{
			{Name: "tau", Default: def.Tau, Doc: "attractor interval τ (logit units); 0: automatic, ln(k−1)/(2s) clamped to [0.5, 6] (1.10 linear, 1.57 sine for 10 classes); the released runs use 6"},
		}
		desc := "AAA-linear: reflects the top-2 margin about the nearest attractor so greedy query attacks see progress as regress (keeps argmax)"
		if v == Linear {
			params = append(params, Param{Name: "alpha", Default: def.Alpha, Doc: "reverse step α"})
		} else {
			desc = "AAA-sine: bends the top-2 margin with a sine of the attractor period (keeps argmax)"
		}
		params = append(params,
			Param{Name: "kappa", Default: def.Kappa, Doc: "calibration loss weight κ"},
			Param{Name: "temperature", Default: def.Temperature, Doc: "calibration temperature T (tune on held-out data)"},
			Param{Name: "iters", Default: float64(def.Iters), Doc: "Adam steps", Integer: true},
			Param{Name: "lr", Default: def.LR, Doc: "Adam learning rate"},
			Param{Name: "eps", Default: def.Eps, Doc: "Adam's ε (with the official batch-mean loss it acts against gradients divided by the batch size)"},
			Param{Name: "rowwise", Default: 0, Doc: "update mode: 0 the official batch-mean loss over each call's rows, 1 a per-row loss (rows independent of the batch)", Integer: true},
			Param{Name: "workers", Default: 0, Doc: "goroutines per batch (0: GOMAXPROCS); outputs do not depend on it", Integer: true},
		)
		info := Info{Name: "aaa-" + v.String(), Description: desc, Params: params}
		Register(info, func(o Options) (Defense, error) {
			cfg := DefaultAAAConfig(v)
			cfg.Tau = param(info, o, "tau")
			if v == Linear {
				cfg.Alpha = param(info, o, "alpha")
			}
			cfg.Kappa = param(info, o, "kappa")
			cfg.Temperature = param(info, o, "temperature")
			iters, err := intParam(info, o, "iters", 0, maxAAAIters)
			if err != nil {
				return nil, err
			}
			cfg.Iters = iters
			cfg.LR = param(info, o, "lr")
			cfg.Eps = param(info, o, "eps")
			rowwise, err := intParam(info, o, "rowwise", 0, 1)
			if err != nil {
				return nil, err
			}
			if rowwise == 1 {
				cfg.Mode = PerRow
			}
			if cfg.Workers, err = intParam(info, o, "workers", 0, 1<<16); err != nil {
				return nil, err
			}
			return NewAAA(cfg)
		})
	}
}
