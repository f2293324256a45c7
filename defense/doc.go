// Package defense implements defenses of a classifier's prediction API
// against score-based black-box query attacks: AAA (Adversarial Attack on
// Attackers, linear and sine variants), random noise on the outputs (outRND)
// or on the inputs (RND), the post-processors of the Adversarial Robustness
// Toolbox (ReverseSigmoid, HighConfidence, Rounded, GaussianNoise,
// ClassLabels), top-k scores, and UniG (Unifying Gradients), which works
// inside the model.
//
// # Output defenses
//
// A [Defense] post-processes a batch of logits, n×K row-major float32 as in
// package model, into the scores an API returns. [Defense.Output] says what
// those scores are: logits (AAA, outRND), probabilities whose rows sum to 1
// (ReverseSigmoid, GaussianNoise, ClassLabels) or probability-derived scores in
// [0, 1] whose rows need not sum to 1 (Rounded, HighConfidence, TopK).
//
// [Wrap] turns a classifier and a defense into a defended classifier that
// attacks and the evaluation query like any [model.Classifier], and that a
// server can put in front of a remote model's outputs.
//
// # Input defenses
//
// RND adds Gaussian noise to each query's inputs before the model sees them.
// It is a [Defense] whose Apply is the identity on logits and which also
// implements [Preprocessor]; [Wrap] applies the preprocessing to every query.
// Using one interface for both keeps one registry and one Wrap.
//
// # Defenses inside the model
//
// UniG fits a module between the model's penultimate features and its
// linear head on every query batch, so it needs a [HeadClassifier]. It is a
// [Defense] whose Apply is the identity and which also implements
// [ModelWrapper]; [Wrap] builds it into the model, and reports through
// [Defended.Err] (and every Logits call) a model that lacks the internals.
//
// # Registry
//
// Every defense registers itself under its command-line name, the way image
// formats register with package image. [New] builds one from [Options]
// (a seed and named numeric parameters, see [ParseParams]); [Names] and
// [List] enumerate them with one-line descriptions and their parameters'
// defaults, which are the official code's defaults (see the method spec,
// shared/methods/robustness.md §1 and §5).
//
// # Properties
//
// Every defense:
//   - rejects k < 2, a logits length that is not a multiple of k and a dst of
//     another length with an error wrapping [model.ErrShape];
//   - rejects NaN and ±Inf logits with an error wrapping [ErrNonFinite], before
//     writing anything or drawing any randomness;
//   - writes finite outputs, in [0, 1] unless it returns logits;
//   - processes rows independently: a batch gives the same outputs as its rows
//     sent one at a time, in order (randomized defenses draw their noise row
//     by row from one source). The exception is AAA in its default official
//     mode, whose batch-mean loss couples a batch's rows through their number
//     (never through their values); its BatchSizeDependent method says so
//     and package defensetest checks the weaker property instead;
//   - allows dst to be the same slice as logits (in place); other overlaps are
//     not allowed;
//   - is deterministic for a fixed seed: two instances built with the same
//     seed (or the same *rand.Rand state) and given the same sequence of calls
//     return the same outputs bit for bit. A randomized defense draws fresh
//     noise on every call, so one instance asked the same query twice answers
//     differently, as the official RND and outRND do;
//   - is not safe for concurrent use (AAA and the probability defenses reuse
//     scratch buffers); build one per goroutine.
//
// [Defense.KeepsArgmax] claims that the class with the largest logit is still
// the class with the largest output score. For logits outputs (AAA) the claim
// is exact: the first index of the maximum (as eval.Argmax computes it) is
// unchanged. For probability and score outputs ties created by the output's
// own rounding cannot be avoided, so the claim is that the original class
// attains the row's maximum. Package defensetest checks these properties for
// every registered defense.
//
// # Deviations from the official code
//
// AAA (Sizhe-Chen/AAA, victim.py) is reproduced step for step — attractors
// at odd multiples of τ/2 with round-half-to-even, the linear and sine
// targets, the loss |m̂ − t| + κ|p_c − softmax(z⁰/T)_c| on the current top
// two, 100 steps of PyTorch's Adam (lr 0.1, β 0.9/0.999, ε 1e-8) on the
// mean of the loss over the rows of one call (the official batch mean:
// gradients B times smaller, so ε matters for rows with tiny
// probabilities) — and testdata/aaa_golden.py (batches of one) and
// testdata/aaa_official_golden.py (the official algorithm on a batch of 64
// rows, agreement below 1e-3 per logit) check it against PyTorch autograd.
// It differs in:
//   - [PerRow] mode (registry parameter rowwise=1) optimises every row as a
//     batch of one, making a query's answer independent of its batch; in
//     the default [Official] mode it depends on the batch size, as in the
//     official code;
//   - the default τ is [AutoTau] of the class count (1.10 for the linear and
//     1.57 for the sine variant with 10 classes), not the released runs' 6:
//     with τ = 6 on a model whose clean margins are mostly below 6 the
//     target margin is out of reach of the calibration term and AAA raises
//     ECE (see [AutoTau]); set tau=6 to reproduce the released runs;
//   - the computation is in float64 (the official code runs in float32,
//     where the calibration term vanishes once p_c rounds to 1);
//   - a row whose argmax changes, or whose output would not be finite, is
//     returned unchanged (the spec's safety guard; [AAA.Stats] counts it);
//   - the temperature grid of [TuneTemperature] leaves out t = 0.
//
// # Calibration
//
// The paper's claim that AAA lowers ECE rests on the calibration term
// reaching its target p_c = softmax(z⁰/T)_c while the margin term moves
// the top-2 margin. With k classes the other k − 2 logits can change p_c's
// odds by a factor of at most about k − 1, so the target is reachable only
// when the margin moves by less than about ln(k − 1)/2 each way; the
// released τ = 6 moves it by up to 6 (linear, α = 1), which models whose
// clean margins lie mostly inside the first attractor period cannot
// absorb. Measured with the embedded Fashion-MNIST models (ECE on the first
// 1000 test images, T tuned by [TuneTemperatureBatch] on the last 1000):
// with τ = 6 no temperature keeps AAA's ECE at or below the undefended one
// (CNN 1.24% → 5.55% linear, 4.54% sine; ResNet-8 1.07% → 6.20%, 6.30%),
// and with the automatic τ AAA's ECE stays within about a point of it
// (CNN 1.13% linear, 2.30% sine; ResNet-8 1.74%, 1.38%). So for already
// calibrated small models the claim holds only approximately, and only with
// a τ far below the released one; [AutoTau] is the default for that reason.
//
// The ART post-processors follow ART's formulas on softmax probabilities,
// except that ClassLabels is the intended per-row one-hot (ART sets the
// predicted columns of every row), GaussianNoise returns the uniform row
// where ART would divide 0 by 0, and top-k (not in ART) chooses classes by
// their logits so that the top class always survives.
package defense
