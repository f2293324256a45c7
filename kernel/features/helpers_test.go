package features

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1)) }

func randDense(rng *rand.Rand, n, d int, scale float64) *mat.Dense {
	X := mat.NewDense(n, d, nil)
	for i := range X.RawMatrix().Data {
		X.RawMatrix().Data[i] = scale * rng.NormFloat64()
	}
	return X
}

// exactGram returns [k(x_i, z_j)].
func exactGram(k Evaluator, X, Z *mat.Dense) *mat.Dense {
	n, _ := X.Dims()
	m, _ := Z.Dims()
	K := mat.NewDense(n, m, nil)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			K.Set(i, j, k.Eval(X.RawRowView(i), Z.RawRowView(j)))
		}
	}
	return K
}

// approxGram returns Φ(X)Φ(Z)ᵀ for a symmetric map.
func approxGram(m Map, X, Z *mat.Dense) *mat.Dense {
	A, err := Transform(m, X)
	if err != nil {
		panic(err)
	}
	B, err := Transform(m, Z)
	if err != nil {
		panic(err)
	}
	var G mat.Dense
	G.Mul(A, B.T())
	return &G
}

// mse returns the mean squared difference of two matrices.
func mse(A, B *mat.Dense) float64 {
	var D mat.Dense
	D.Sub(A, B)
	r, c := D.Dims()
	s := 0.0
	for i := 0; i < r; i++ {
		for _, v := range D.RawRowView(i) {
			s += v * v
		}
	}
	return s / float64(r*c)
}
