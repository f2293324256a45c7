package kernel

import (
	"context"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Losses of [TensorMTL].
const (
	// LossLSSVM is the squared loss with equality constraints of the
	// LS-SVM (tLSSVM-MTL): every step is a linear system.
	LossLSSVM = "lssvm"
	// LossSVM is the hinge loss (classification) or the ε-insensitive loss
	// (regression) of the SVM (tSVM-MTL): every step is a box-constrained
	// QP with one equality constraint per task, solved by SMO.
	LossSVM = "svm"
)

// errSMOStall reports that SMO did not reach its tolerance in its step
// budget; mtlSVM then switches to the interior-point method.
var errSMOStall = errors.New("SMO stalled")

// lowRankFactor returns F (n×r, row-major) with Q ≈ FFᵀ from the
// eigenvectors of the symmetric PSD Q whose eigenvalues exceed 1e-12 of
// the largest.
func lowRankFactor(Q []float64, n int) ([]float64, error) {
	var e mat.EigenSym
	if !e.Factorize(mat.NewSymDense(n, Q), true) {
		return nil, fmt.Errorf("kernel: tSVM-MTL: eigendecomposition of the coupled kernel failed: %w", ErrIllConditioned)
	}
	vals := e.Values(nil)
	var vecs mat.Dense
	e.VectorsTo(&vecs)
	top := vals[n-1]
	var keep []int
	for k, v := range vals {
		if v > 1e-12*top && v > 0 {
			keep = append(keep, k)
		}
	}
	if len(keep) == 0 {
		keep = []int{n - 1} // Q = 0: one zero column keeps the shapes
	}
	r := len(keep)
	F := make([]float64, n*r)
	for c, k := range keep {
		sq := math.Sqrt(max(vals[k], 0))
		for i := 0; i < n; i++ {
			F[i*r+c] = vecs.At(i, k) * sq
		}
	}
	return F, nil
}

// svmDefaults returns the ε of the ε-insensitive loss (0 means 0.1 on the
// standardized targets) and the SMO tolerance (0 means 1e-3, LIBSVM's).
func (m *TensorMTL) svmDefaults() (eps, tol float64, err error) {
	eps, tol = m.Epsilon, m.SVMTol
	if eps == 0 {
		eps = 0.1
	}
	if tol == 0 {
		tol = 1e-3
	}
	if !(eps >= 0) || math.IsInf(eps, 0) || !(tol > 0) || math.IsInf(tol, 0) {
		return 0, 0, fmt.Errorf("kernel: tSVM-MTL Epsilon %v must be ≥ 0 and SVMTol %v > 0: %w", m.Epsilon, m.SVMTol, ErrParam)
	}
	return eps, tol, nil
}

// mtlSVM solves one tSVM-MTL step on the n×n coupled matrix Q (labels not
// folded in): for classification (targets y = ±1) the C-SVM dual
//
//	min ½ Σ a_i a_j y_i y_j Q_ij − Σ a_i,  0 ≤ a ≤ C,  Σ_{i∈t} y_i a_i = 0 per task t,
//
// for regression the ε-SVR dual in a = (a⁺, a⁻) with β = a⁺ − a⁻, the
// same box and Σ_{i∈t} β_i = 0 per task. It returns β (the coefficient of
// Q's columns in f: y_i a_i or a⁺_i − a⁻_i), the bias of each task in ids
// and the iterations. With V (n×R, Q = VVᵀ) the QP is solved by an
// interior-point method that uses the low rank (SMO crawls on the flat
// faces of a rank-R problem); otherwise by SMO.
func mtlSVM(ctx context.Context, Q []float64, n int, y []float64, task, ids []int, V []float64, C, eps, tol float64, cls bool) ([]float64, []float64, int, error) {
	col := make(map[int]int, len(ids))
	for c, id := range ids {
		col[id] = c
	}
	m := n
	if !cls {
		m = 2 * n
	}
	base, s, p, block := make([]int, m), make([]float64, m), make([]float64, m), make([]int, m)
	for i := 0; i < n; i++ {
		b := col[task[i]]
		if cls {
			base[i], s[i], p[i], block[i] = i, y[i], -1, b
			continue
		}
		base[i], s[i], p[i], block[i] = i, 1, eps-y[i], b
		base[n+i], s[n+i], p[n+i], block[n+i] = i, -1, eps+y[i], b
	}
	var a, rho []float64
	var iters int
	var err error
	if V != nil {
		a, rho, iters, err = ipmLive(ctx, V, len(V)/n, base, s, p, block, len(ids), C)
	} else {
		a, rho, iters, err = smoBlocks(ctx, Q, n, base, s, p, block, len(ids), C, tol)
		if errors.Is(err, errSMOStall) {
			// SMO crawls on the flat faces of a (numerically) low-rank Q
			// (a linear kernel with few features): factor Q and finish by
			// the interior-point method.
			var F []float64
			if F, err = lowRankFactor(Q, n); err == nil {
				a, rho, iters, err = ipmLive(ctx, F, len(F)/n, base, s, p, block, len(ids), C)
			}
		}
	}
	if err != nil {
		return nil, nil, iters, err
	}
	beta := make([]float64, n)
	for u, v := range a {
		beta[base[u]] += s[u] * v
	}
	bias := make([]float64, len(ids))
	for b, r := range rho {
		bias[b] = -r
	}
	return beta, bias, iters, nil
}

// smoBlocks minimizes ½ aᵀQ̃a + pᵀa over 0 ≤ a ≤ C with one equality
// constraint Σ_{u∈block b} s_u a_u = 0 per block (s_u = ±1), where
// Q̃_uv = s_u s_v Q[base(u), base(v)] and Q is n×n, by sequential minimal
// optimization: each step moves a pair within the block that violates the
// KKT conditions most (i the block's most violating index, j chosen by
// second-order gain as LIBSVM's working set selection), which keeps every
// block's constraint.
// It stops when no block violates them by more than tol and returns a,
// each block's ρ (the bias is −ρ, as LIBSVM's decision Σ − ρ) and the
// steps taken; not reaching tol within the step budget is an error.
func smoBlocks(ctx context.Context, Q []float64, n int, base []int, s, p []float64, block []int, nb int, C, tol float64) ([]float64, []float64, int, error) {
	m := len(s)
	a := make([]float64, m)
	G := append([]float64(nil), p...)
	maxSteps := max(20000, 100*m)
	up := func(u int) bool { return (s[u] > 0 && a[u] < C) || (s[u] < 0 && a[u] > 0) }
	low := func(u int) bool { return (s[u] > 0 && a[u] > 0) || (s[u] < 0 && a[u] < C) }
	bi, bj := make([]int, nb), make([]int, nb)
	gi, gj := make([]float64, nb), make([]float64, nb)
	steps := 0
	for ; ; steps++ {
		if steps%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, steps, err
			}
		}
		for b := range bi {
			bi[b], bj[b], gi[b], gj[b] = -1, -1, math.Inf(-1), math.Inf(1)
		}
		for u := 0; u < m; u++ {
			v, b := -s[u]*G[u], block[u]
			if up(u) && v > gi[b] {
				bi[b], gi[b] = u, v
			}
			if low(u) && v < gj[b] {
				bj[b], gj[b] = u, v
			}
		}
		best, viol := -1, tol
		for b := range bi {
			if bi[b] >= 0 && bj[b] >= 0 && gi[b]-gj[b] > viol {
				best, viol = b, gi[b]-gj[b]
			}
		}
		if best < 0 {
			break
		}
		if steps >= maxSteps {
			return nil, nil, steps, fmt.Errorf("kernel: tSVM-MTL SMO: KKT violation %.3g after %d steps, tolerance %g: %w", viol, maxSteps, tol, errSMOStall)
		}
		// Second-order choice of j within the block (Fan, Chen and Lin
		// 2005, LIBSVM's WSS2): the largest decrease of the objective.
		i, j := bi[best], -1
		ri := base[i] * n
		var t, gain float64
		for u := 0; u < m; u++ {
			if block[u] != best || !low(u) {
				continue
			}
			b := gi[best] + s[u]*G[u]
			if b <= 0 {
				continue
			}
			quad := max(Q[ri+base[i]]+Q[base[u]*n+base[u]]-2*Q[ri+base[u]], 1e-12)
			if g := b * b / quad; j < 0 || g > gain {
				j, gain, t = u, g, b/quad
			}
		}
		rj := base[j] * n
		if s[i] > 0 {
			t = min(t, C-a[i])
		} else {
			t = min(t, a[i])
		}
		if s[j] > 0 {
			t = min(t, a[j])
		} else {
			t = min(t, C-a[j])
		}
		a[i] += s[i] * t
		a[j] -= s[j] * t
		for _, u := range []int{i, j} {
			if a[u] < 1e-12*C {
				a[u] = 0
			} else if a[u] > C*(1-1e-12) {
				a[u] = C
			}
		}
		for u := 0; u < m; u++ {
			G[u] += s[u] * t * (Q[ri+base[u]] - Q[rj+base[u]])
		}
	}
	return a, kktRho(a, G, s, block, nb, C), steps, nil
}

// ipmBlocks solves smoBlocks' QP for Q = VVᵀ (V n×R) by a primal-dual
// interior-point method: Newton steps on the perturbed KKT conditions
// with the centring μ = 0.1·gap, steps kept 1% inside the box, each
// Newton system (D + Ṽ Ṽᵀ) da + E dλ = r, Eᵀda = −r_p solved with the
// Woodbury identity (an R×R and a blocks×blocks system). It returns a,
// each block's ρ = −λ_b and the Newton steps.
func ipmBlocks(ctx context.Context, V []float64, R int, base []int, s, p []float64, block []int, nb int, C float64) ([]float64, []float64, int, error) {
	m := len(s)
	Vt := make([]float64, m*R) // Ṽ = diag(s)·V[base]
	var scale float64
	for u := 0; u < m; u++ {
		var q float64
		for r := 0; r < R; r++ {
			v := s[u] * V[base[u]*R+r]
			Vt[u*R+r] = v
			q += v * v
		}
		scale = max(scale, math.Abs(p[u]), q*C)
	}
	scale++
	a, zl, zu := make([]float64, m), make([]float64, m), make([]float64, m)
	for u := range a {
		a[u], zl[u], zu[u] = C/2, 1, 1
	}
	lam := make([]float64, nb)
	rd, r, D, da, dzl, dzu, va := make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, R)
	rp := make([]float64, nb)
	// minv overwrites x with (D + ṼṼᵀ)⁻¹x, W holding the Cholesky factor
	// of I + ṼᵀD⁻¹Ṽ.
	var W mat.Cholesky
	wv := make([]float64, R)
	minv := func(x []float64) {
		for r := range wv {
			wv[r] = 0
		}
		for u := 0; u < m; u++ {
			x[u] /= D[u]
			for r := 0; r < R; r++ {
				wv[r] += Vt[u*R+r] * x[u]
			}
		}
		var sol mat.VecDense
		_ = W.SolveVecTo(&sol, mat.NewVecDense(R, wv))
		for u := 0; u < m; u++ {
			var c float64
			for r := 0; r < R; r++ {
				c += Vt[u*R+r] * sol.AtVec(r)
			}
			x[u] -= c / D[u]
		}
	}
	const maxIter = 200
	for it := 0; it < maxIter; it++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, it, err
		}
		for r := range va {
			va[r] = 0
		}
		for u := 0; u < m; u++ {
			for r := 0; r < R; r++ {
				va[r] += Vt[u*R+r] * a[u]
			}
		}
		var rdMax, gap float64
		for b := range rp {
			rp[b] = 0
		}
		for u := 0; u < m; u++ {
			g := p[u]
			for r := 0; r < R; r++ {
				g += Vt[u*R+r] * va[r]
			}
			rd[u] = g + s[u]*lam[block[u]] - zl[u] + zu[u]
			rdMax = max(rdMax, math.Abs(rd[u]))
			rp[block[u]] += s[u] * a[u]
			gap += a[u]*zl[u] + (C-a[u])*zu[u]
		}
		gap /= float64(2 * m)
		var rpMax float64
		for _, v := range rp {
			rpMax = max(rpMax, math.Abs(v))
		}
		done := func() ([]float64, []float64, int, error) {
			rho := make([]float64, nb)
			for b, l := range lam {
				rho[b] = -l
			}
			return a, rho, it, nil
		}
		if rdMax < 1e-10*scale && rpMax < 1e-10*(1+C) && gap < 1e-12*scale {
			return done()
		}
		// Near the solution the Newton systems may break down in floating
		// point; an iterate this close is accepted then.
		close := rdMax < 1e-7*scale && rpMax < 1e-7*(1+C) && gap < 1e-9*scale
		mu := 0.1 * gap
		for u := 0; u < m; u++ {
			D[u] = zl[u]/a[u] + zu[u]/(C-a[u])
			r[u] = -rd[u] + (mu/a[u] - zl[u]) - (mu/(C-a[u]) - zu[u])
		}
		Wm := mat.NewSymDense(R, nil)
		for i := 0; i < R; i++ {
			for j := i; j < R; j++ {
				var v float64
				if i == j {
					v = 1
				}
				for u := 0; u < m; u++ {
					v += Vt[u*R+i] * Vt[u*R+j] / D[u]
				}
				Wm.SetSym(i, j, v)
			}
		}
		if !W.Factorize(Wm) {
			if close {
				return done()
			}
			return nil, nil, it, fmt.Errorf("kernel: tSVM-MTL interior point: singular Newton system: %w", ErrIllConditioned)
		}
		// Y = M⁻¹E (one column per block), S = EᵀY, rhs = EᵀM⁻¹r + r_p.
		Y := make([][]float64, nb)
		for b := range Y {
			Y[b] = make([]float64, m)
			for u := 0; u < m; u++ {
				if block[u] == b {
					Y[b][u] = s[u]
				}
			}
			minv(Y[b])
		}
		copy(da, r)
		minv(da)
		S := mat.NewSymDense(nb, nil)
		rhs := mat.NewVecDense(nb, nil)
		for b := 0; b < nb; b++ {
			for c := b; c < nb; c++ {
				var v float64
				for u := 0; u < m; u++ {
					if block[u] == b {
						v += s[u] * Y[c][u]
					}
				}
				S.SetSym(b, c, v)
			}
			var v float64
			for u := 0; u < m; u++ {
				if block[u] == b {
					v += s[u] * da[u]
				}
			}
			rhs.SetVec(b, v+rp[b])
		}
		var sc mat.Cholesky
		var dl mat.VecDense
		// A large condition number is expected near the solution (blocks
		// at their bounds have huge D): only a failed factorization stops.
		if !sc.Factorize(S) || !solveOK(sc.SolveVecTo(&dl, rhs)) {
			if close {
				return done()
			}
			return nil, nil, it, fmt.Errorf("kernel: tSVM-MTL interior point: singular constraint system: %w", ErrIllConditioned)
		}
		step := 1.0
		limit := func(v, dv float64) {
			if dv < 0 {
				step = min(step, -0.99*v/dv)
			}
		}
		for u := 0; u < m; u++ {
			for b := 0; b < nb; b++ {
				da[u] -= Y[b][u] * dl.AtVec(b)
			}
			dzl[u] = (mu - a[u]*zl[u] - zl[u]*da[u]) / a[u]
			dzu[u] = (mu - (C-a[u])*zu[u] + zu[u]*da[u]) / (C - a[u])
			limit(a[u], da[u])
			limit(C-a[u], -da[u])
			limit(zl[u], dzl[u])
			limit(zu[u], dzu[u])
		}
		for u := 0; u < m; u++ {
			a[u] = min(max(a[u]+step*da[u], 1e-300), C*(1-1e-16))
			zl[u] += step * dzl[u]
			zu[u] += step * dzu[u]
		}
		for b := range lam {
			lam[b] += step * dl.AtVec(b)
		}
	}
	return nil, nil, maxIter, fmt.Errorf("kernel: tSVM-MTL interior point did not converge in %d Newton steps: %w", maxIter, ErrIllConditioned)
}

// solveOK reports whether a gonum solve succeeded, a mere condition
// warning included.
func solveOK(err error) bool {
	var c mat.Condition
	return err == nil || errors.As(err, &c)
}

// kktRho returns each block's ρ from the KKT conditions at a with
// gradient G (LIBSVM's calculate_rho): the mean of s_u G_u over the free
// variables, else the middle of the admissible interval (its finite end
// when it is a half-line).
func kktRho(a, G, s []float64, block []int, nb int, C float64) []float64 {
	m := len(a)
	rho := make([]float64, nb)
	sum, cnt := make([]float64, nb), make([]int, nb)
	ub, lb := make([]float64, nb), make([]float64, nb)
	for b := range ub {
		ub[b], lb[b] = math.Inf(1), math.Inf(-1)
	}
	for u := 0; u < m; u++ {
		v, b := s[u]*G[u], block[u]
		switch {
		case a[u] >= C:
			if s[u] < 0 {
				ub[b] = min(ub[b], v)
			} else {
				lb[b] = max(lb[b], v)
			}
		case a[u] <= 0:
			if s[u] > 0 {
				ub[b] = min(ub[b], v)
			} else {
				lb[b] = max(lb[b], v)
			}
		default:
			sum[b] += v
			cnt[b]++
		}
	}
	for b := range rho {
		switch {
		case cnt[b] > 0:
			rho[b] = sum[b] / float64(cnt[b])
		case math.IsInf(ub[b], 1) && math.IsInf(lb[b], -1):
			rho[b] = 0
		case math.IsInf(ub[b], 1):
			rho[b] = lb[b]
		case math.IsInf(lb[b], -1):
			rho[b] = ub[b]
		default:
			rho[b] = (ub[b] + lb[b]) / 2
		}
	}
	return rho
}

// ipmLive runs [ipmBlocks] on the blocks whose variables have both signs:
// in a block of one sign the constraint Σ s_u a_u = 0 forces a = 0 (and
// leaves λ unbounded). Those blocks keep a = 0 and get ρ from the KKT
// conditions; the others get ρ = −λ.
func ipmLive(ctx context.Context, V []float64, R int, base []int, s, p []float64, block []int, nb int, C float64) ([]float64, []float64, int, error) {
	pos, neg := make([]bool, nb), make([]bool, nb)
	for u, b := range block {
		if s[u] > 0 {
			pos[b] = true
		} else {
			neg[b] = true
		}
	}
	remap := make([]int, nb)
	live := 0
	for b := range remap {
		remap[b] = -1
		if pos[b] && neg[b] {
			remap[b] = live
			live++
		}
	}
	var keep []int
	for u, b := range block {
		if remap[b] >= 0 {
			keep = append(keep, u)
		}
	}
	m := len(s)
	a := make([]float64, m)
	iters := 0
	var liveRho []float64
	if len(keep) > 0 {
		kb, ks, kp, kblock := make([]int, len(keep)), make([]float64, len(keep)), make([]float64, len(keep)), make([]int, len(keep))
		for c, u := range keep {
			kb[c], ks[c], kp[c], kblock[c] = base[u], s[u], p[u], remap[block[u]]
		}
		ka, krho, it, err := ipmBlocks(ctx, V, R, kb, ks, kp, kblock, live, C)
		if err != nil {
			return nil, nil, it, err
		}
		iters = it
		for c, u := range keep {
			a[u] = ka[c]
		}
		liveRho = krho
	}
	// Gradient G = Ṽ(Ṽᵀa) + p for the KKT ρ of every block.
	va := make([]float64, R)
	for u := 0; u < m; u++ {
		for r := 0; r < R; r++ {
			va[r] += s[u] * V[base[u]*R+r] * a[u]
		}
	}
	G := make([]float64, m)
	for u := 0; u < m; u++ {
		g := p[u]
		for r := 0; r < R; r++ {
			g += s[u] * V[base[u]*R+r] * va[r]
		}
		G[u] = g
	}
	rho := kktRho(a, G, s, block, nb, C)
	for b, l := range remap {
		if l >= 0 {
			rho[b] = liveRho[l] // the multiplier: a is never exactly at a bound here
		}
	}
	return a, rho, iters, nil
}
