package attack

import (
	"math"
	"slices"
)

// QueryNet's iteration modes, chosen from the attackers' weights.
const (
	qnSurrogates = iota // surrogates + (Square+ or Square), evaluated
	qnPlus              // Square+ and Square, evaluated
	qnSquare            // Square only, nothing evaluated
)

// qnRun is the state of one QueryNet run. Attackers are indexed
// 0 … nS−1 (surrogates), nS (Square+) and nS+1 (Square).
type qnRun struct {
	*QueryNet
	r    *runner
	sq   *squareRun // Square's state on r: best points and losses
	sh   *runner    // shadow runner that Square proposes into (never flushed)
	srgs []*surrogate
	buf  *pairBuffer

	weights []float64   // per attacker
	setSrg  []int       // the attackers of a surrogate iteration
	setPlus []int       // the attackers of a Square+ iteration
	cand    [][]float32 // per attacker, candidates of the active samples, row j for act[j]
	act     []int       // samples attacked this iteration
	choice  []int       // per row: the attacker whose candidate is queried
	pred    [][]float64 // per attacker, per row: predicted loss
	prev    []float64   // per row: best loss before the query
	logits  []float32   // surrogate logits of one candidate set
	gx      []float32   // surrogate input gradients
	labels  []int
	minSeen int // MinChosen resolved

	// Square+: per sample its last History queries and losses, the
	// estimated Lipschitz constant of the loss and the best loss seen.
	hx    []float32 // n × History × d
	hl    []float64 // n × History
	hn    []int     // queries held per sample
	hnext []int
	lip   []float64
	minL  []float64
	pos   []int // per sample: its row in act
	left  []int // Square+: samples still redrawing
}

func (q *qnRun) run() (*Result, error) {
	r, sq := q.r, q.sq
	adv := func(i int) []float32 {
		if sq.xbest == nil {
			return nil
		}
		return sq.xbest[i*sq.d : (i+1)*sq.d]
	}
	q.setup()
	if err := r.clean(); err != nil {
		return r.finish(nil, err)
	}
	q.record()
	sq.xbest = append([]float32(nil), r.x...)
	sq.best = make([]float64, r.n)
	sq.signs = make([]float32, sq.c)
	if sq.Norm == L2 {
		sq.delta = make([]float64, sq.d)
		sq.dl = make([]float32, r.n*sq.d)
		sq.dn2 = make([]float64, r.n)
		sq.nw1 = make([]float64, sq.c)
		sq.nu = make([]float64, sq.c)
		sq.pats = map[int][]float64{}
	}
	if len(r.active) == 0 {
		return r.finish(adv, nil)
	}
	r.begin()
	if sq.Norm == L2 {
		sq.initL2()
	} else {
		sq.initLinf()
	}
	if err := sq.accept(true); err != nil {
		return r.finish(adv, err)
	}
	q.record()
	for it := 0; it < q.NIters-1 && len(r.active) > 0; it++ {
		q.act = q.act[:0]
		for _, i := range r.active {
			if r.has(i, 1) {
				q.act = append(q.act, i)
			}
		}
		if len(q.act) == 0 {
			break
		}
		p := SquareP(q.PInit, it, q.NIters)
		mode, err := q.propose(p)
		if err != nil {
			return r.finish(adv, err)
		}
		r.begin()
		for j, i := range q.act {
			q.prev[j] = sq.best[i]
			copy(r.stage(i, true), q.row(q.choice[j], j))
		}
		if err := sq.accept(false); err != nil {
			return r.finish(adv, err)
		}
		if mode != qnSquare {
			q.record()
			q.reweigh(mode)
		}
	}
	return r.finish(adv, nil)
}

// setup allocates the run's state.
func (q *qnRun) setup() {
	r := q.r
	nS := len(q.Surrogates)
	q.weights = make([]float64, nS+2)
	for a := range nS {
		q.weights[a] = 1 // the official initial weights: surrogates 1, Square+ and Square 0
	}
	for a := range nS {
		q.setSrg = append(q.setSrg, a)
	}
	if q.SquarePlus {
		q.setSrg = append(q.setSrg, nS)
	} else {
		q.setSrg = append(q.setSrg, nS+1)
	}
	q.setPlus = []int{nS, nS + 1}
	q.cand = make([][]float32, nS+2)
	q.pred = make([][]float64, nS+2)
	for a := range q.cand {
		q.cand[a] = make([]float32, r.n*r.d)
		q.pred[a] = make([]float64, r.n)
	}
	q.act = make([]int, 0, r.n)
	q.choice = make([]int, r.n)
	q.prev = make([]float64, r.n)
	q.labels = make([]int, r.n)
	q.pos = make([]int, r.n)
	q.left = make([]int, 0, r.n)
	q.buf = &pairBuffer{d: r.d, k: r.k, capacity: q.Buffer}
	q.minSeen = q.MinChosen
	if q.minSeen == 0 {
		switch {
		case q.sq.c == 1:
			q.minSeen = 2
		case r.k >= 1000:
			q.minSeen = 20
		default:
			q.minSeen = 10
		}
	}
	if q.SquarePlus {
		q.hx = make([]float32, r.n*q.History*r.d)
		q.hl = make([]float64, r.n*q.History)
		q.hn = make([]int, r.n)
		q.hnext = make([]int, r.n)
		q.lip = make([]float64, r.n)
		q.minL = make([]float64, r.n)
		for i := range q.minL {
			q.minL[i] = math.Inf(1)
		}
	}
	q.sh = &runner{ctx: r.ctx, name: r.name, o: r.o, n: r.n, d: r.d, k: r.k, x: r.x, y: r.y,
		tgt: r.tgt, targeted: r.targeted, loss: r.loss, rng: r.rng, st: r.st, start: r.start}
	q.sh.reserve(r.n, false)
}

// row is attacker a's candidate for row j of act.
func (q *qnRun) row(a, j int) []float32 { return q.cand[a][j*q.r.d : (j+1)*q.r.d] }

// mode picks the iteration's mode from the weights, as the official code:
// Square+ (and Square) when Square+'s weight is the largest, Square alone
// when Square's is, the surrogates otherwise.
func (q *qnRun) mode() int {
	nS := len(q.Surrogates)
	wmax := slices.Max(q.weights)
	switch {
	case q.SquarePlus && q.weights[nS] == wmax:
		return qnPlus
	case q.weights[nS+1] == wmax:
		return qnSquare
	}
	return qnSurrogates
}

// propose fills the candidates of the iteration's attackers and the
// choice of every row.
func (q *qnRun) propose(p float64) (int, error) {
	nS := len(q.Surrogates)
	mode := q.mode()
	attackers := q.setSrg
	switch mode {
	case qnSquare:
		q.squareInto(nS+1, p, q.act)
		for j := range q.act {
			q.choice[j] = nS + 1
		}
		return mode, nil
	case qnPlus:
		q.plusInto(nS, p)
		q.squareInto(nS+1, p, q.act)
		attackers = q.setPlus
	default:
		if err := q.trainSurrogates(); err != nil {
			return mode, err
		}
		for a := range nS {
			if err := q.fgsmInto(a); err != nil {
				return mode, err
			}
		}
		if q.SquarePlus {
			q.plusInto(nS, p)
		} else {
			q.squareInto(nS+1, p, q.act)
		}
	}
	if err := q.evaluate(attackers); err != nil {
		return mode, err
	}
	m := len(q.act)
	for j := range m {
		best, at := math.Inf(1), attackers[0]
		for _, a := range attackers {
			if v := q.pred[a][j]; v < best {
				best, at = v, a
			}
		}
		q.choice[j] = at
	}
	return mode, nil
}

// squareInto writes one Square candidate for each sample of samples (a
// subset of act, in act's order) into attacker slot a's rows of those
// samples.
func (q *qnRun) squareInto(a int, p float64, samples []int) {
	sq, sh := q.sq, q.sh
	sh.active = samples
	sh.begin()
	sq.r = sh
	if sq.Norm == L2 {
		sq.stepL2(p)
	} else {
		sq.stepLinf(p)
	}
	sq.r = q.r
	d := q.r.d
	j := 0
	for t := range sh.m {
		i := sh.qi[t]
		for q.act[j] != i {
			j++
		}
		copy(q.cand[a][j*d:(j+1)*d], sh.row(t))
	}
}

// plusInto writes Square+ candidates into slot a: Square candidates
// redrawn until the Lipschitz bound admits them, at most PlusTrials times
// (the last draw is kept).
func (q *qnRun) plusInto(a int, p float64) {
	d := q.r.d
	for j, i := range q.act {
		q.pos[i] = j
	}
	left := append(q.left[:0], q.act...)
	for trial := 0; trial < q.PlusTrials && len(left) > 0; trial++ {
		q.squareInto(a, p, left)
		keep := left[:0]
		for _, i := range left {
			if j := q.pos[i]; !q.potential(i, q.cand[a][j*d:(j+1)*d]) {
				keep = append(keep, i)
			}
		}
		left = keep
	}
	q.left = left
}

// potential reports whether candidate v of sample i could, by the
// Lipschitz bound of the sample's past queries, reach PlusFactor of its
// best loss: in the official code's terms (maximising −loss),
// −l_j + L·‖v − x_j‖ ≥ PlusFactor · max(−loss) for every past query j.
func (q *qnRun) potential(i int, v []float32) bool {
	d, H := q.r.d, q.History
	target := q.PlusFactor * -q.minL[i]
	for t := range q.hn[i] {
		xj := q.hx[(i*H+t)*d : (i*H+t+1)*d]
		if -q.hl[i*H+t]+q.lip[i]*dist2(v, xj) < target {
			return false
		}
	}
	return true
}

// trainSurrogates builds the surrogates on first use and trains each on
// the buffer.
func (q *qnRun) trainSurrogates() error {
	r, sq := q.r, q.sq
	if q.srgs == nil {
		for _, name := range q.Surrogates {
			s, err := newSurrogate(name, sq.c, sq.h, sq.w, r.k, r.rng.Uint64(), q.Batch)
			if err != nil {
				return err
			}
			q.srgs = append(q.srgs, s)
		}
	}
	for _, s := range q.srgs {
		steps := q.RoundSteps
		if !s.trained {
			steps, s.trained = q.InitSteps, true
		}
		if _, err := s.train(r.ctx, q.QueryNet, q.buf, r.rng, steps); err != nil {
			return err
		}
	}
	return nil
}

// fgsmChunk is the most rows one surrogate gradient pass takes.
const fgsmChunk = 128

// fgsmInto writes surrogate a's FGSM-type candidates into slot a.
func (q *qnRun) fgsmInto(a int) error {
	r, sq := q.r, q.sq
	d, m := r.d, len(q.act)
	s := q.srgs[a]
	out := q.cand[a]
	for j, i := range q.act {
		copy(out[j*d:(j+1)*d], sq.xbest[i*d:(i+1)*d])
		q.labels[j] = r.label(i)
	}
	if len(q.gx) < min(m, fgsmChunk)*d {
		q.gx = make([]float32, min(r.n, fgsmChunk)*d)
	}
	for lo := 0; lo < m; lo += fgsmChunk {
		hi := min(lo+fgsmChunk, m)
		gx := q.gx[:(hi-lo)*d]
		// The objective minimised: log p_y (untargeted) or −log p_t
		// (targeted), i.e. the cross-entropy moved the attack's way.
		if _, err := s.net.InputGrad(r.ctx, gx, out[lo*d:hi*d], LossCE.Func(q.labels[lo:hi], r.targeted)); err != nil {
			return err
		}
		for j := lo; j < hi; j++ {
			q.step(out[j*d:(j+1)*d], gx[(j-lo)*d:(j-lo+1)*d], r.xi(q.act[j]))
		}
	}
	return nil
}

// step moves v (the best point) against gradient g by 2ε and maps it back
// into the threat set around x0.
func (q *qnRun) step(v, g, x0 []float32) {
	step := 2 * q.Eps
	if q.Norm == LInf {
		for j, gj := range g {
			var s float64
			switch {
			case gj > 0:
				s = -step
			case gj < 0:
				s = step
			}
			v[j] = clampBox(float64(v[j])+s, x0[j], q.Eps)
		}
		return
	}
	var n2 float64
	for _, gj := range g {
		n2 += float64(gj) * float64(gj)
	}
	if n2 > 0 {
		f := step / math.Sqrt(n2)
		for j, gj := range g {
			v[j] = float32(float64(v[j]) - f*float64(gj))
		}
	}
	// Rescale the perturbation to norm ε (the official generator), then
	// clip to [0, 1] and make sure float32 rounding stays in the ball.
	if nrm := dist2(v, x0); nrm > 0 {
		f := q.Eps / nrm
		for j, x := range x0 {
			v[j] = clip01(float64(x) + f*(float64(v[j])-float64(x)))
		}
	}
	fixL2(q.Eps, v, x0)
}

// evaluate has every surrogate predict the objective of every candidate of
// the attackers; pred[a][j] is the weighted mean over the surrogates. With
// all surrogate weights 0 the surrogates count equally (the official code
// then scores every candidate 0 and always picks the first).
func (q *qnRun) evaluate(attackers []int) error {
	r := q.r
	nS, d, k, m := len(q.Surrogates), r.d, r.k, len(q.act)
	if q.srgs == nil { // Square+ mode before any surrogate iteration
		if err := q.trainSurrogates(); err != nil {
			return err
		}
	}
	var wsum float64
	for e := range nS {
		wsum += q.weights[e]
	}
	if len(q.logits) < m*k {
		q.logits = make([]float32, r.n*k)
	}
	z := q.logits[:m*k]
	for _, a := range attackers {
		clear(q.pred[a][:m])
	}
	for e, s := range q.srgs {
		w := q.weights[e]
		if wsum == 0 {
			w = 1
		}
		if w == 0 {
			continue
		}
		for _, a := range attackers {
			if err := s.net.Logits(r.ctx, z, q.cand[a][:m*d]); err != nil {
				return err
			}
			for j, i := range q.act {
				q.pred[a][j] += w * r.loss.Value(z[j*k:(j+1)*k], r.label(i), r.targeted) / float64(nS)
			}
		}
	}
	return nil
}

// record adds the rows of the last flush to the training buffer and, for
// Square+, to the samples' histories and Lipschitz estimates.
func (q *qnRun) record() {
	r := q.r
	d, k, H := r.d, r.k, q.History
	for j := range r.m {
		l := r.ql[j]
		z := r.qs[j*k : (j+1)*k]
		if math.IsNaN(l) || !finite(z) {
			continue
		}
		i, x := r.qi[j], r.row(j)
		q.buf.add(x, z)
		if !q.SquarePlus {
			continue
		}
		for t := range q.hn[i] {
			if dd := dist2(x, q.hx[(i*H+t)*d:(i*H+t+1)*d]); dd > 0 {
				q.lip[i] = max(q.lip[i], math.Abs(l-q.hl[i*H+t])/dd)
			}
		}
		q.minL[i] = min(q.minL[i], l)
		t := q.hnext[i]
		copy(q.hx[(i*H+t)*d:(i*H+t+1)*d], x)
		q.hl[i*H+t] = l
		q.hnext[i] = (t + 1) % H
		q.hn[i] = min(q.hn[i]+1, H)
	}
}

// reweigh sets the weight of every attacker of the iteration's candidate
// set to the fraction of the rows that chose it whose loss decreased (0
// when fewer than minSeen rows chose it).
func (q *qnRun) reweigh(mode int) {
	r := q.r
	attackers := q.setSrg
	if mode == qnPlus {
		attackers = q.setPlus
	}
	for _, a := range attackers {
		chosen, improved := 0, 0
		for j := range r.m {
			if q.choice[j] != a {
				continue
			}
			chosen++
			if l := r.ql[j]; !math.IsNaN(l) && l < q.prev[j] {
				improved++
			}
		}
		if chosen < q.minSeen {
			q.weights[a] = 0
		} else {
			q.weights[a] = float64(improved) / float64(chosen)
		}
	}
}
