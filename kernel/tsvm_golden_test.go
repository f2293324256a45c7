package kernel

import "testing"

func TestTensorSVMGolden(t *testing.T) {
	g := loadMTLGolden(t, "testdata/tsvm_golden.json")
	settings := TensorMTL{Kernel: RBF{Gamma: g.KGamma}, Gamma: g.C, Rank: g.Rank, MaxIter: g.Iters, Tol: 1e-300,
		InitFactors: g.initFactors(), Loss: LossSVM, Epsilon: g.Epsilon, SVMTol: 1e-10}
	checkMTLGolden(t, g, settings, 1e-6)
}
