// Package dekrr is decentralized kernel ridge regression with
// data-dependent random features (DeKRR-DDRF, kernels.md §8): J nodes on an
// undirected graph, each holding its own shard of the data and its own
// random features, agree on decision functions by exchanging model messages
// with their neighbours over NATS.
//
// # Method
//
// Node j draws D·PoolRate Gaussian random Fourier candidates, keeps the D
// whose features correlate best with its labels (EERF), redraws the phases
// and fits θ_j by a parallel proximal (Jacobi) iteration on
//
//	Σ_j ½‖Z_jᵀθ_j − Y_j‖² + ½N_jλ_j‖θ_j‖² + Σ_j Σ_{i∈N(j)} (c_j/2)‖Z_jᵀθ_j − Z_i(X_j)ᵀθ_i‖²
//
// with λ_j = λN/(N_jJ) and c_j = c/|N(j)|. The fixed point is the minimizer
// of this penalized problem: close to, not equal to, centralized ridge
// regression (the gap shrinks as c grows).
//
// # Messages
//
// Node j subscribes to one subject, <prefix>.node.<j>. Once, it sends each
// neighbour its feature parameters (ω, b) and then the Gram matrix of the
// neighbour's features on its own inputs; every round k it sends each
// neighbour i its coefficients θ_j and the D_i-vector Z_i(X_j)f_j(X_j). No
// input or label leaves a node. Every message carries its round, so a
// duplicated or late message is ignored and counted; a neighbour silent for
// RoundTimeout is declared dropped and the node continues with the others.
// A node restarted after a crash sends a join message; each neighbour
// answers with its features and the round from which it expects the node
// again, and the two exchange Gram matrices as at setup.
//
// # Running
//
// [DeKRR.Fit] runs the nodes as goroutines, each with its own NATS
// connection, against an embedded server (package natsnet) or an existing
// one. [Run] is the command's library call: data, shards, baselines
// (centralized KRR, local-only ridge) and, with Config.Procs, nodes as
// separate OS processes (`trustml kernel dekrr --node i`).
package dekrr
