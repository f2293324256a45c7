// Package unlearn is machine unlearning: removing what a trained network
// learned from part of its training data (the forget set) while keeping
// what it learned from the rest (the retain set), measured against the gold
// standard of retraining from scratch on the retain set.
//
// # Protocol
//
// A [ForgetSpec] ("class:3", "random:0.1", "subclass:3:dark") splits a
// training set into forget and retain sets ([NewTask]), refusing a spec
// that selects nothing or everything and a forget set that overlaps the
// test set. [Evaluate] measures forget, retain and test accuracy and two
// membership-inference attacks: a loss-based one (its AUC between forget
// samples and unseen test samples, [MIA]) and the papers' entropy attack
// ([EntropyMIA]); [Metrics.GapTo] is the gap to the retrained model on
// every metric, the papers' average gap and the time relative to
// retraining.
//
// # Methods
//
// Registered by name ([Lookup], [Methods]): "retrain" ([Retrain]), the
// baselines "ft" ([FineTune]), "ga" ([GradientAscent]), "rl"
// ([RandomLabel]), "l1" ([L1Sparse]) and "salun" ([SalUn]), and the seed
// papers' "sfr-on" ([SFROn]: "Unified Gradient-Based Machine Unlearning
// with Remain Geometry Enhancement", NeurIPS 2024) and "natmu" ([NatMU]:
// "Towards Natural Machine Unlearning"). [CLU] interleaves continual
// learning and unlearning requests task-agnostically (UG-CLU), with
// package continual's reservoir buffer.
//
// [Run] is "trustml unlearn": it resolves the model and data from their
// names, unlearns, evaluates the original, unlearned and retrained models
// and writes the unlearned checkpoint atomically, never touching the
// source. [Repro] is "trustml repro unlearn".
package unlearn
