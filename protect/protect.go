package protect

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// Methods are the protection methods of [Protect], by their CLI names.
var Methods = []string{"sep", "ops", "em"}

// MaxEps is the largest ℓ∞ budget [Protect] accepts: 32/255, four times
// the usual 8/255. Larger perturbations are no longer "imperceptible", so a
// larger --eps is much more likely a unit mistake (255-scale instead of
// [0, 1]) than an intent.
const MaxEps = 32.0 / 255

// Settings are the method settings of [Protect] (the protecting model and
// its perturbation search); [Config] embeds them.
type Settings struct {
	Method string `flag:"method" help:"protection: sep (self-ensemble protection), ops (one-pixel shortcut) or em (error-minimizing noise)"`
	// Eps is the ℓ∞ budget on the [0, 1] pixel scale of sep and em, in
	// (0, MaxEps]; ops changes one pixel per image without a budget.
	Eps float64 `flag:"eps" help:"L∞ budget ε on the [0, 1] pixel scale, at most 32/255 (sep, em; ops changes one pixel and ignores it)"`
	// Arch, Epochs, Batch and LR train the protecting model: SEP's
	// training run (a checkpoint after every epoch) and EM's noise
	// generator.
	Arch   string  `flag:"arch" help:"architecture of the protecting model (sep's training run, em's generator)"`
	Epochs int     `flag:"epochs" help:"sep: epochs of the protecting run, one checkpoint each"`
	Batch  int     `flag:"batch" help:"batch size of training and of the perturbation search"`
	LR     float64 `flag:"lr" help:"learning rate of the protecting model (SGD, momentum 0.9, Nesterov, wd 5e-4)"`
	// Checkpoints is the size of SEP's self-ensemble, evenly spaced over
	// the run's Epochs checkpoints (the paper: 30 of at most 120).
	Checkpoints int `flag:"checkpoints" help:"sep: checkpoints in the self-ensemble, evenly spaced over the run"`
	// Steps is SEP's number of iterations (the paper: 30) and EM's PGD
	// steps per round (the paper: 20).
	Steps int `flag:"steps" help:"sep: iterations; em: PGD steps per round"`
	// Alpha is the step size (0: SEP 1/255, the paper's; EM ε/10, the
	// paper's 0.8/255 at 8/255).
	Alpha float64 `flag:"alpha" help:"step size (0: sep 1/255, em ε/10)"`
	// Rounds bounds EM's min-min rounds, each TrainSteps model updates on
	// the noisy data then Steps PGD steps on every image; EM stops early
	// once the model's accuracy on the noisy data reaches StopAccuracy
	// (the paper: 10 updates, accuracy 99%).
	Rounds       int     `flag:"rounds" help:"em: most min-min rounds"`
	TrainSteps   int     `flag:"train-steps" help:"em: model updates per round"`
	StopAccuracy float64 `flag:"stop-accuracy" help:"em: stop once the generator's accuracy on the noisy data reaches this fraction"`
	Seed         uint64  `flag:"seed" help:"seed of the protecting model and of em's random start"`
}

// DefaultSettings returns the defaults of "trustml protect": the papers'
// iteration counts and step sizes with a small CNN trained for a few
// epochs, ε = 8/255.
func DefaultSettings() Settings {
	return Settings{Method: "sep", Eps: 8.0 / 255, Arch: "cnn-small", Epochs: 10, Batch: 128, LR: 0.05,
		Checkpoints: 10, Steps: 30, Rounds: 10, TrainSteps: 10, StopAccuracy: 0.99, Seed: 1}
}

// Validate checks the settings, naming the flag at fault.
func (s Settings) Validate() error {
	switch {
	case !isMethod(s.Method):
		return fmt.Errorf("protect: unknown --method %q: want one of %s", s.Method, strings.Join(Methods, ", "))
	case s.Method != "ops" && !(s.Eps > 0 && s.Eps <= MaxEps):
		return fmt.Errorf("protect: --eps %v outside (0, %.4g] (32/255): ε is on the [0, 1] pixel scale (8/255 = %.4g)", s.Eps, MaxEps, 8.0/255)
	case s.Method == "ops":
		return nil
	case s.Epochs < 1 || s.Batch < 1 || s.Steps < 1:
		return fmt.Errorf("protect: --epochs, --batch and --steps must be ≥ 1")
	case !(s.LR > 0) || !(s.Alpha >= 0 && s.Alpha <= 1):
		return fmt.Errorf("protect: --lr must be > 0 and --alpha in [0, 1]")
	case s.Method == "sep" && (s.Checkpoints < 1 || s.Checkpoints > s.Epochs):
		return fmt.Errorf("protect: --checkpoints %d outside [1, --epochs %d]", s.Checkpoints, s.Epochs)
	case s.Method == "em" && (s.Rounds < 1 || s.TrainSteps < 0 || !(s.StopAccuracy > 0 && s.StopAccuracy <= 1)):
		return fmt.Errorf("protect: em needs --rounds ≥ 1, --train-steps ≥ 0 and --stop-accuracy in (0, 1]")
	}
	return nil
}

func isMethod(m string) bool {
	for _, v := range Methods {
		if v == m {
			return true
		}
	}
	return false
}

// Protected is what [Protect] returns.
type Protected struct {
	// Data is the protected copy of the training set (same images in the
	// same order, same labels).
	Data   *data.Dataset `json:"-"`
	Method string        `json:"method"`
	Images int           `json:"images"`
	Eps    float64       `json:"eps,omitempty"` // the budget (sep, em)
	// MaxChange is the measured largest |x' − x| over all pixels.
	MaxChange float64 `json:"max_change"`
	// Pixels are OPS's per-class pixels.
	Pixels []Pixel `json:"pixels,omitempty"`
	// Checkpoints are the epochs of SEP's self-ensemble.
	Checkpoints []int `json:"checkpoints,omitempty"`
	// TargetRate is, for SEP, the fraction of protected images the last
	// checkpoint classifies as their target class (y + K/2) mod K.
	TargetRate float64 `json:"target_rate,omitempty"`
	// Rounds and NoisyAccuracy are EM's min-min rounds run and its
	// generator's accuracy on the noisy data after the last.
	Rounds        int     `json:"rounds,omitempty"`
	NoisyAccuracy float64 `json:"noisy_accuracy,omitempty"`
	Seconds       float64 `json:"seconds"`
}

// Protect returns a protected copy of the labelled image set d (pixels in
// [0, 1]) made by s.Method:
//
//   - "sep", self-ensemble protection (Chen et al., robustness.md §9): a
//     model is trained on d for s.Epochs epochs keeping a checkpoint after
//     each; s.Checkpoints of them, evenly spaced, form the ensemble; every
//     image takes s.Steps signed steps of s.Alpha down the summed
//     cross-entropy of the ensemble toward the target class (y + K/2) mod K
//     (the paper's (y + 5) mod 10), projected onto its ε-box and [0, 1];
//   - "ops", the one-pixel shortcut ([OPS]);
//   - "em", sample-wise error-minimizing noise (Huang et al., "Unlearnable
//     Examples", ICLR 2021): from uniform noise in the ε-box, rounds of
//     s.TrainSteps updates of a model on the noisy data, then s.Steps
//     signed steps of s.Alpha down its cross-entropy toward the true label
//     for every image, until its accuracy on the noisy data reaches
//     s.StopAccuracy or s.Rounds rounds ran.
//
// Every protected image of sep and em lies within s.Eps of its original in
// ℓ∞ and in [0, 1]. Training and noise are seeded by s.Seed: the same
// settings give the same protected set.
func Protect(ctx context.Context, d *data.Dataset, s Settings, rep progress.Reporter) (*Protected, error) {
	start := time.Now()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkImages(d); err != nil {
		return nil, err
	}
	rep = progress.Or(rep)
	p := &Protected{Method: s.Method, Images: d.Len()}
	var err error
	switch s.Method {
	case "ops":
		p.Data, p.Pixels, err = OPS(d)
	case "sep":
		p.Eps = s.Eps
		err = sep(ctx, d, s, p, rep)
	case "em":
		p.Eps = s.Eps
		err = em(ctx, d, s, p, rep)
	}
	if err != nil {
		return nil, err
	}
	p.Data.Name = fmt.Sprintf("%s (%s)", d.Name, s.Method)
	p.Data.Source = fmt.Sprintf("%s, protected by %s", d.Source, s.Method)
	p.MaxChange = maxLinf(p.Data.X, d.X)
	p.Seconds = time.Since(start).Seconds()
	return p, nil
}

// EnsembleEpochs returns the k of n epochs 1..n, evenly spaced, that SEP's
// ensemble uses: round(1 + i·(n−1)/(k−1)) for i < k; the last epoch for
// k = 1.
func EnsembleEpochs(n, k int) []int {
	if k <= 1 {
		return []int{n}
	}
	out := make([]int, k)
	for i := range k {
		out[i] = 1 + int(math.Round(float64(i)*float64(n-1)/float64(k-1)))
	}
	return out
}

// sep is self-ensemble protection.
func sep(ctx context.Context, d *data.Dataset, s Settings, p *Protected, rep progress.Reporter) error {
	keep := EnsembleEpochs(s.Epochs, s.Checkpoints)
	var ens []*nn.Network
	ep := 0
	rep.Log("sep: training the protecting %s on %d images for %d epochs, keeping epochs %v", s.Arch, d.Len(), s.Epochs, keep)
	tc := TrainConfig{Arch: s.Arch, Epochs: s.Epochs, Batch: s.Batch, LR: s.LR, Seed: s.Seed}
	if _, err := fit(ctx, d, tc, rep, func(net *nn.Network) error {
		ep++
		for _, k := range keep {
			if k == ep {
				ens = append(ens, net.Copy())
			}
		}
		return nil
	}); err != nil {
		return err
	}
	models := make([]model.InputGrader, len(ens))
	for i, n := range ens {
		models[i] = n
	}
	alpha := s.Alpha
	if alpha == 0 {
		alpha = 1.0 / 255
	}
	k := len(d.Classes)
	target := make([]int, d.Len())
	for i, y := range d.Y {
		target[i] = (y + k/2) % k
	}
	out := d.Clone()
	out.X64 = nil
	if err := descend(ctx, models, out.X, d.X, target, d.SampleSize(), s.Batch, s.Steps, s.Eps, alpha, rep, "sep"); err != nil {
		return err
	}
	m, _, err := metrics.EvaluateClassifier(ctx, ens[len(ens)-1], out.X, target)
	if err != nil {
		return fmt.Errorf("protect: %w", err)
	}
	p.Data, p.Checkpoints, p.TargetRate = out, keep, m.Accuracy
	return nil
}

// descend runs steps of [signStep] on every batch of x (toward labels),
// keeping each image in the ε-box of its original in x0.
func descend(ctx context.Context, models []model.InputGrader, x, x0 []float32, labels []int, size, batch, steps int, eps, alpha float64, rep progress.Reporter, what string) error {
	rep = progress.Or(rep)
	n := len(labels)
	g := make([]float32, min(batch, n)*size)
	sum := make([]float32, len(g))
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		xb, x0b := x[lo*size:hi*size], x0[lo*size:hi*size]
		m := (hi - lo) * size
		for range steps {
			if err := signStep(ctx, models, xb, x0b, labels[lo:hi], eps, alpha, g[:m], sum[:m]); err != nil {
				return err
			}
		}
		rep.Update(what, hi, n, "images")
	}
	return nil
}

// em is sample-wise error-minimizing noise.
func em(ctx context.Context, d *data.Dataset, s Settings, p *Protected, rep progress.Reporter) error {
	alpha := s.Alpha
	if alpha == 0 {
		alpha = s.Eps / 10
	}
	spec, err := nn.SpecFor(s.Arch, d.Shape, len(d.Classes))
	if err != nil {
		return fmt.Errorf("protect: %w", err)
	}
	net, err := nn.New(spec, s.Seed)
	if err != nil {
		return fmt.Errorf("protect: %w", err)
	}
	oc := train.DefaultOptimizerConfig()
	oc.LR, oc.Seed = s.LR, s.Seed
	opt, err := train.NewOptimizer("sgd", net, oc)
	if err != nil {
		return err
	}
	out := d.Clone()
	out.X64 = nil
	r := rand.New(rand.NewPCG(s.Seed, 0x656d))
	for j := range out.X {
		out.X[j] += float32((2*r.Float64() - 1) * s.Eps)
	}
	projectBox(out.X, d.X, s.Eps)
	for round := 1; round <= s.Rounds; round++ {
		if s.TrainSteps > 0 {
			if _, err := train.Fit(ctx, net, out.X, d.Y, train.Config{Steps: s.TrainSteps, BatchSize: s.Batch,
				Seed: s.Seed + uint64(round), Optimizer: opt}); err != nil {
				return fmt.Errorf("protect: em round %d: %w", round, err)
			}
		}
		if err := descend(ctx, []model.InputGrader{net}, out.X, d.X, d.Y, d.SampleSize(), s.Batch, s.Steps, s.Eps, alpha, rep, "em"); err != nil {
			return err
		}
		m, _, err := metrics.EvaluateClassifier(ctx, net, out.X, d.Y)
		if err != nil {
			return fmt.Errorf("protect: %w", err)
		}
		p.Rounds, p.NoisyAccuracy = round, m.Accuracy
		rep.Log("em: round %d: generator accuracy on the noisy data %.2f%%", round, 100*m.Accuracy)
		if m.Accuracy >= s.StopAccuracy {
			break
		}
	}
	p.Data = out
	return nil
}
