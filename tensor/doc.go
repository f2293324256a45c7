// Package tensor holds dense N-way tensors and their low-parameter
// decompositions: tensor train (TT-SVD), tensor ring (TR-SVD) and Tucker
// (HOSVD / HOOI), and their generalisations by the semi-tensor product
// (STP) of matrices, the semi-tensor train (STT), semi-tensor ring (STR)
// and semi-tensor Tucker (STTu) of H. Zhao, Y. Liu, X. Huang and C. Zhu,
// "Semi-tensor Product-based Tensor Decomposition for Neural Network
// Compression" (arXiv 2109.15200).
//
// # Semi-tensor product
//
// For A of size m×n and B of size p×q, with t = lcm(n, p),
//
//	A ⋉ B = (A ⊗ I_{t/n}) (B ⊗ I_{t/p}),
//
// an (m·t/n)×(q·t/p) matrix ([STP]). When n = k·p it is A (B ⊗ I_k): a
// factor B with k times fewer rows and columns than the ordinary product
// would need. That is what lets STP-connected cores be smaller than TT,
// TR or Tucker cores at the same rank.
//
// # Decompositions
//
// Every decomposition here is fitted by a sequence of truncated SVDs and
// reconstructs with the (semi-tensor) products of its cores; [Fit] takes
// a method name, a rank and the STP factor t, [FitBudget] the largest
// uniform rank whose parameter count fits a storage budget. With t = 1
// the semi-tensor forms are the ordinary ones (STT is TT, STR is TR,
// STTu is Tucker).
//
//   - STT: the tensor as a matrix I_1 × (I_2⋯I_N) is factorised as
//     A ⋉ B = A (B ⊗ I_t) with A of size I_1×R_1 and B of size
//     (R_1/t)×(I_2⋯I_N/t); B is factorised the same way, and so on. The
//     best such factorisation is a truncated SVD of C restacked: the t
//     column classes of C (by the column index modulo t) share the right
//     factor B, so they are stacked on top of each other and their joint
//     rank-R/t SVD gives A and B. Core n has (R_{n-1}/t)·I_n·R_n
//     parameters instead of R_{n-1}·I_n·R_n; the identity's index comes
//     from the last mode, which must be divisible by t^(N-1).
//   - STR: the first split is TR-SVD's (rank R_0·R_1, the ring's closing
//     link is an ordinary product); the train that remains,
//     (R_1·I_2) × I_3 × … × (I_N·R_0), is an STT.
//   - STTu: the factor of mode n is U_n of size (I_n/t)×(R_n/t), acting
//     by the semi-tensor mode product U_n ⋉ G_(n) = (U_n ⊗ I_t) G_(n):
//     I_n·R_n/t² parameters instead of I_n·R_n; the core keeps R_1⋯R_N.
//
// These constructions are our reading of the paper's abstract and of the
// STP's definition (the paper's full text and code were not available
// here); the paper trains its STP-format networks from scratch, while
// this package fits them to given tensors by SVD.
//
// Tensors are row-major (the last index varies fastest); the mode-n
// unfolding ([Dense.Unfold]) is I_n × (the other modes in order,
// row-major).
package tensor
