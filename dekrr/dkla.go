package dekrr

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// DKLA is the coefficient-consensus baseline of kernels.md §8.4:
// decentralized kernel learning by ADMM on random Fourier features shared by
// every node, which agree on one coefficient vector θ. Node j iterates
//
//	θ_j ← (2/N Z_jZ_jᵀ + (2N_jλ_j/N + 2ρ|N(j)|)I)⁻¹ (2/N Z_jY_j + ρ(|N(j)|θ_j + Σ_{i∈N(j)} θ_i) − γ_j)
//	γ_j ← γ_j + ρ Σ_{i∈N(j)} (θ_j − θ_i)
//
// with λ_j = λN/(N_jJ) and ρ doubled every RhoDoubling rounds. Its fixed
// point is ridge regression on the pooled data with the shared features,
// (ZZᵀ + λN I)θ = ZY. It is simulated in one process (every node uses its
// neighbours' previous θ, as over the network); each round every node
// sends its θ (D numbers) to each neighbour.
type DKLA struct {
	// Lambda is the global ridge λ (default 1e-4), Sigma the Gaussian
	// kernel bandwidth (default 1), D the shared features (default 40).
	Lambda, Sigma float64
	D             int
	// Iters is the number of rounds (default 300).
	Iters int
	// Rho is the ADMM penalty (default 1e-4, the paper's code), doubled
	// every RhoDoubling rounds (default 200).
	Rho         float64
	RhoDoubling int
	// Seed draws the shared features.
	Seed uint64
}

// DKLAResult is a DKLA fit: the shared features and each node's θ.
type DKLAResult struct {
	Features Features
	Theta    [][]float64
	// Disagreement is max_j ‖θ_j − θ̄‖/‖θ̄‖ after the last round (θ̄ the
	// nodes' mean): 0 at consensus.
	Disagreement float64
	// MessagesPerRound and BytesPerRound are what the rounds would send
	// over NATS with dekrr's message format.
	MessagesPerRound, BytesPerRound float64
}

// Fit runs DKLA on the nodes' training data over graph g.
func (m DKLA) Fit(ctx context.Context, nodes []Node, g Graph) (*DKLAResult, error) {
	m.Lambda, m.Sigma, m.D = cmp.Or(m.Lambda, 1e-4), cmp.Or(m.Sigma, 1), cmp.Or(m.D, 40)
	m.Iters, m.Rho, m.RhoDoubling = cmp.Or(m.Iters, 300), cmp.Or(m.Rho, 1e-4), cmp.Or(m.RhoDoubling, 200)
	if !(m.Lambda > 0) || !(m.Sigma > 0) || !(m.Rho > 0) || m.D < 1 || m.Iters < 1 || m.RhoDoubling < 1 {
		return nil, fmt.Errorf("dekrr: DKLA λ %g, σ %g, ρ %g, D %d, rounds %d, ρ doubling %d: want positive values", m.Lambda, m.Sigma, m.Rho, m.D, m.Iters, m.RhoDoubling)
	}
	J := len(nodes)
	if len(g.Neighbors) != J || J == 0 {
		return nil, fmt.Errorf("dekrr: DKLA: graph of %d nodes for %d data shards", len(g.Neighbors), J)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	N := 0
	for _, n := range nodes {
		N += len(n.Y)
	}
	_, d := nodes[0].X.Dims()
	feat := drawRFF(m.D, d, m.Sigma, rand.New(rand.NewPCG(m.Seed, math.MaxUint32)))
	D := m.D
	zz := make([]*mat.SymDense, J)
	zy := make([]*mat.VecDense, J)
	for j, n := range nodes {
		if _, dj := n.X.Dims(); dj != d {
			return nil, fmt.Errorf("dekrr: DKLA: node %d has %d input columns, node 0 %d", j, dj, d)
		}
		Z := feat.Map(n.X)
		zz[j] = mat.NewSymDense(D, nil)
		zz[j].SymOuterK(2/float64(N), Z)
		zy[j] = mat.NewVecDense(D, nil)
		zy[j].MulVec(Z, mat.NewVecDense(len(n.Y), n.Y))
		zy[j].ScaleVec(2/float64(N), zy[j])
	}
	theta, next, gamma := make([]*mat.VecDense, J), make([]*mat.VecDense, J), make([]*mat.VecDense, J)
	for j := range J {
		theta[j], next[j], gamma[j] = mat.NewVecDense(D, nil), mat.NewVecDense(D, nil), mat.NewVecDense(D, nil)
	}
	chol := make([]mat.Cholesky, J)
	rho := m.Rho
	rhs := mat.NewVecDense(D, nil)
	for k := range m.Iters {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if k%m.RhoDoubling == 0 { // (re)factor for this ρ
			if k > 0 {
				rho *= 2
			}
			for j := range J {
				A := mat.NewSymDense(D, nil)
				A.CopySym(zz[j])
				// 2N_jλ_j/N = 2λ/J
				diag := 2*m.Lambda/float64(J) + 2*rho*float64(len(g.Neighbors[j]))
				for a := range D {
					A.SetSym(a, a, A.At(a, a)+diag)
				}
				if !chol[j].Factorize(A) {
					return nil, fmt.Errorf("dekrr: DKLA node %d: system matrix not positive definite", j)
				}
			}
		}
		for j := range J {
			rhs.ScaleVec(rho*float64(len(g.Neighbors[j])), theta[j])
			for _, i := range g.Neighbors[j] {
				rhs.AddScaledVec(rhs, rho, theta[i])
			}
			rhs.AddVec(rhs, zy[j])
			rhs.SubVec(rhs, gamma[j])
			if err := chol[j].SolveVecTo(next[j], rhs); err != nil {
				return nil, fmt.Errorf("dekrr: DKLA node %d round %d: %w", j, k, err)
			}
		}
		for j := range J {
			for _, i := range g.Neighbors[j] {
				rhs.SubVec(next[j], next[i])
				gamma[j].AddScaledVec(gamma[j], rho, rhs)
			}
		}
		theta, next = next, theta
	}
	res := &DKLAResult{Features: feat, Theta: make([][]float64, J)}
	mean := mat.NewVecDense(D, nil)
	for j := range J {
		res.Theta[j] = theta[j].RawVector().Data
		mean.AddScaledVec(mean, 1/float64(J), theta[j])
	}
	for j := range J {
		rhs.SubVec(theta[j], mean)
		res.Disagreement = math.Max(res.Disagreement, mat.Norm(rhs, 2)/math.Max(mat.Norm(mean, 2), 1e-300))
	}
	links := 2 * g.Edges()
	res.MessagesPerRound, res.BytesPerRound = float64(links), float64(links*(headerLen+8*D))
	return res, nil
}

// PredictNode evaluates node j's model on the rows of X.
func (r *DKLAResult) PredictNode(j int, X *mat.Dense) []float64 {
	return predict(r.Features, r.Theta[j], X)
}

// drawRFF draws D Gaussian random Fourier features for d inputs:
// ω ~ N(0, σ⁻²I), b ~ U[0, 2π).
func drawRFF(D, d int, sigma float64, rng *rand.Rand) Features {
	f := Features{Omega: mat.NewDense(D, d, nil), B: make([]float64, D)}
	for k := range D {
		for c := range d {
			f.Omega.Set(k, c, rng.NormFloat64()/sigma)
		}
		f.B[k] = 2 * math.Pi * rng.Float64()
	}
	return f
}
