package tensor

import (
	"gonum.org/v1/gonum/mat"
)

// Kron returns the Kronecker product a ⊗ b.
func Kron(a, b mat.Matrix) *mat.Dense {
	ar, ac := a.Dims()
	br, bc := b.Dims()
	out := mat.NewDense(ar*br, ac*bc, nil)
	for i := 0; i < ar; i++ {
		for j := 0; j < ac; j++ {
			v := a.At(i, j)
			if v == 0 {
				continue
			}
			for k := 0; k < br; k++ {
				for l := 0; l < bc; l++ {
					out.Set(i*br+k, j*bc+l, v*b.At(k, l))
				}
			}
		}
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// STP returns the (left) semi-tensor product a ⋉ b = (a ⊗ I_{t/n})(b ⊗ I_{t/p})
// of a (m×n) and b (p×q), t = lcm(n, p): an (m·t/n)×(q·t/p) matrix. With
// n = p it is the ordinary product. The common cases n = k·p and p = k·n
// are computed without forming the Kronecker products.
func STP(a, b mat.Matrix) *mat.Dense {
	m, n := a.Dims()
	p, q := b.Dims()
	switch {
	case n == p:
		var out mat.Dense
		out.Mul(a, b)
		return &out
	case n%p == 0: // a (b ⊗ I_k): out[i, j·k+s] = Σ_r a[i, r·k+s] b[r, j]
		k := n / p
		out := mat.NewDense(m, q*k, nil)
		as := mat.NewDense(m, p, nil)
		var prod mat.Dense
		for s := 0; s < k; s++ {
			for i := 0; i < m; i++ {
				for r := 0; r < p; r++ {
					as.Set(i, r, a.At(i, r*k+s))
				}
			}
			prod.Reset()
			prod.Mul(as, b)
			for i := 0; i < m; i++ {
				for j := 0; j < q; j++ {
					out.Set(i, j*k+s, prod.At(i, j))
				}
			}
		}
		return out
	case p%n == 0: // (a ⊗ I_k) b: out[i·k+s, j] = Σ_r a[i, r] b[r·k+s, j]
		k := p / n
		out := mat.NewDense(m*k, q, nil)
		bs := mat.NewDense(n, q, nil)
		var prod mat.Dense
		for s := 0; s < k; s++ {
			for r := 0; r < n; r++ {
				for j := 0; j < q; j++ {
					bs.Set(r, j, b.At(r*k+s, j))
				}
			}
			prod.Reset()
			prod.Mul(a, bs)
			for i := 0; i < m; i++ {
				for j := 0; j < q; j++ {
					out.Set(i*k+s, j, prod.At(i, j))
				}
			}
		}
		return out
	}
	t := n / gcd(n, p) * p
	var out mat.Dense
	out.Mul(Kron(a, eye(t/n)), Kron(b, eye(t/p)))
	return &out
}

func eye(n int) *mat.Dense {
	m := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		m.Set(i, i, 1)
	}
	return m
}
