// Package hgnn is hypergraph neural networks for semi-supervised node
// classification: HGNN (Feng et al., AAAI 2019) and the residual
// multi-hypergraph network ResMHGNN (Huang, Huang and Yang, "Residual
// Enhanced Multi-Hypergraph Neural Network", ICIP 2021).
//
// # Hypergraphs
//
// A [Hypergraph] is built from a feature matrix ([KNN]: each node with its
// k nearest neighbours forms one hyperedge), from a categorical column
// ([Categorical]: one hyperedge per value), or by joining others
// ([Concat]). Its normalized propagation matrix ([Hypergraph.Propagation])
//
//	P = D_v^{-1/2} H W D_e^{-1} Hᵀ D_v^{-1/2}
//
// is symmetric with eigenvalues in [0, 1].
//
// # Networks
//
// [Train] fits a network with one branch per [View] (features and a
// hypergraph of the same nodes) and averages the branches' log-softmax
// outputs, as the ResMHGNN code does. The branch is an [MLP], [HGNN]
// (X' = σ(P X Θ)) or [ResHGNN], whose convolutions carry an initial
// residual and an identity mapping (as GCNII):
//
//	X̃ = (1-α) P X_l + α X₀,   X_{l+1} = ReLU((1-β_l) X̃ + β_l X̃ Θ_l),   β_l = ln(λ/l + 1).
//
// One view with [HGNN] is plain HGNN; one view with the hyperedges of all
// views joined ([Concat]) and the features concatenated is HGNN's
// "pre-concatenation" of modalities; several views with [ResHGNN] is
// ResMHGNN. Training is full-batch Adam on the labeled nodes with
// gradients computed here (float64), checked against PyTorch's autograd
// (testdata/golden.py).
//
// Deviation from the authors' code: its residual convolution propagates
// the initial representation (P X₀) at every layer, ignoring the previous
// layer's output; here layer l propagates X_l, as in GCNII and the paper's
// equations.
package hgnn
