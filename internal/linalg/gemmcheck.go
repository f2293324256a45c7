package linalg

// checkGemm panics, as gonum does, when a dimension is negative or a slice
// is too short for the declared shape: cgo and the assembly micro-kernel
// must never read or write past a Go slice.
func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("linalg: gemm with a negative dimension")
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(l, rows, cols, ld int) bool {
		return rows == 0 || cols == 0 || (ld >= cols && l >= (rows-1)*ld+cols)
	}
	if !need(la, ar, ac, lda) || !need(lb, br, bc, ldb) || !need(lc, m, n, ldc) {
		panic("linalg: gemm slice too short for its shape")
	}
}
