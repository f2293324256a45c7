// Package protect makes a training set unlearnable: it adds small
// perturbations to the images so that a model trained on them generalises
// badly to clean test images, while every image stays close to its
// original (data protection against unauthorized training).
//
// Three methods ([Protect], by --method):
//
//   - SEP, self-ensemble protection (Chen et al.; robustness.md §9):
//     targeted, class-shifting perturbations within an ℓ∞ budget, crafted
//     against an ensemble of the checkpoints of one training run;
//   - OPS, the one-pixel shortcut (Wu et al., ICLR 2023; §10, [OPS]): one
//     pixel per class set to a colour chosen so that it separates the
//     class, without a budget;
//   - EM, error-minimizing noise (Huang et al., "Unlearnable Examples",
//     ICLR 2021): per-image noise within an ℓ∞ budget that minimizes the
//     training loss of a model trained alongside it (min-min), the peer
//     SEP and OPS are compared with.
//
// [TrainEval] measures a protection: it trains a fresh model on the
// protected set, optionally with the countermeasures a data user would try
// (crop and flip augmentation, PGD adversarial training, a fraction of
// clean images), and returns its accuracy on clean test images. [Run] is
// "trustml protect": load, protect, write (.npz or IDX, atomically, never
// over an existing file without Force) and optionally evaluate.
package protect
