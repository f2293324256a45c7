// Package uap crafts universal adversarial perturbations — one image-sized
// v with ‖v‖∞ ≤ ε that changes a classifier's prediction on many images at
// once — measures their fooling rate on the model they were crafted on and
// transferred to others, and analyses them as dominant patterns.
//
// # Methods
//
// [Craft] runs a registered method (see [Methods]):
//
//   - "fg-uap": FG-UAP (Ye et al. 2022), the feature-gathering objective:
//     minimise the mean cosine between the features of x + v and of x at one
//     layer (the penultimate features by default, where neural collapse
//     happens) by Adam with weight decay 1e-5 and batch 32, projecting onto
//     the ε-ball after every step; see [FGObjective]. The official code starts
//     at v = 0, where that cosine is maximal and its exact gradient vanishes:
//     Adam turns the rounding noise of its gradient into a full first step.
//     Here that first step is drawn deliberately: v starts at lr·(random
//     signs), clipped to the ball. The official lr/ξ ratio (0.02 at ξ = 10/255)
//     gives the default learning rate 0.51·ε.
//   - "uap": the classic iterative UAP (Moosavi-Dezfooli et al. 2017) as ART's
//     UniversalPerturbation runs it with DeepFool: for every image whose
//     prediction v does not yet change, DeepFool from x + v and v ← clip_ε(x_adv − x);
//     stop when the fooling rate on the crafting images reaches 1 − δ (0.8).
//   - "gd-uap": the data-free baseline, GD-UAP's objective (Mopuri et al.
//     2018): maximise log ‖φ(v)‖ of the perturbation alone, at the chosen
//     layer (the paper sums over all convolution layers); see [GDObjective].
//   - "dominant": the dominant-pattern objective (our reading of §12, no code
//     was found): minimise the mean of 1 − cos(φ(x + v), φ(v)), label-free;
//     see [DominantObjective].
//   - "random": independent random signs ±ε, the noise baseline.
//
// # Layers
//
// The feature methods take a layer by name ([LayerNames]: "penultimate",
// the kind and rank of a top-level layer such as "conv2" or "relu3") or by
// top-level index; [ResolveLayer] explains an unknown one. Features of a
// layer and input gradients of any loss of them come from the network cut
// after that layer, followed by a dense probe whose rows are set to the
// loss's feature gradients, so only the engine's public passes are used.
//
// # Evaluation
//
// [Evaluate] gives clean accuracy and, for x + v both as is (the paper's
// convention; the official code never clips) and clipped to [0, 1] (what an
// image can carry), the accuracy and the fooling rate: the share of images
// whose prediction changes. [Dominate] measures how v alone drives the
// predictions: the class of f(v), the share of perturbed predictions taken
// by it and by the top three classes, and the cosines of features with and
// without images. [Run] does it all for the trustml uap command and writes
// uap.npy, uap.png and the dominance plots.
package uap
