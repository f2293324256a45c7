package ood

import (
	"context"
	"fmt"
	"strings"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/nn"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/train"
)

// NearIDClasses are the in-distribution classes of the default near-OoD
// split of Fashion-MNIST: T-shirt/top, Trouser, Pullover, Dress, Coat,
// Sandal. The held-out classes 6–9 (Shirt, Sneaker, Bag, Ankle boot) are
// OoD; Shirt against T-shirt/top, Pullover and Coat, and Sneaker and Ankle
// boot against Sandal make the shift semantic but visually near.
var NearIDClasses = []int{0, 1, 2, 3, 4, 5}

// HeldOutSplit is a near-OoD split by held-out classes: a classifier is
// trained on the ID classes only and the test images of the other classes
// are OoD.
type HeldOutSplit struct {
	// Name names the OoD set, such as "near: held-out classes 6-9".
	Name string
	// Why says in one line what the split is.
	Why string
	// IDClasses and OoDClasses are the original class indices.
	IDClasses, OoDClasses []int
	// Train holds the training images of the ID classes, labels remapped to
	// 0..len(IDClasses)−1 in the order of IDClasses (Classes renamed alike).
	Train *data.Dataset
	// TestID holds the test images of the ID classes, labels remapped as
	// for Train.
	TestID *data.Dataset
	// TestOoD holds the test images of the OoD classes with their original
	// labels and class names.
	TestOoD *data.Dataset
}

// NewHeldOutSplit splits a labelled train and test set (the same classes)
// into the ID classes idClasses and the rest, which are held out as OoD.
func NewHeldOutSplit(trainSet, testSet *data.Dataset, idClasses []int) (*HeldOutSplit, error) {
	if trainSet == nil || testSet == nil || trainSet.Y == nil || testSet.Y == nil {
		return nil, fmt.Errorf("ood: held-out split needs labelled train and test sets")
	}
	k := len(trainSet.Classes)
	if k == 0 || len(testSet.Classes) != k {
		return nil, fmt.Errorf("ood: held-out split: train has %d classes, test %d", k, len(testSet.Classes))
	}
	if len(idClasses) < 2 || len(idClasses) >= k {
		return nil, fmt.Errorf("ood: held-out split: %d ID classes of %d, want 2 to %d", len(idClasses), k, k-1)
	}
	remap := make([]int, k)
	for i := range remap {
		remap[i] = -1
	}
	for i, c := range idClasses {
		if c < 0 || c >= k {
			return nil, fmt.Errorf("ood: held-out split: ID class %d outside [0, %d)", c, k)
		}
		if remap[c] >= 0 {
			return nil, fmt.Errorf("ood: held-out split: ID class %d listed twice", c)
		}
		remap[c] = i
	}
	var oodClasses []int
	for c := range k {
		if remap[c] < 0 {
			oodClasses = append(oodClasses, c)
		}
	}
	pick := func(d *data.Dataset, in bool) *data.Dataset {
		var idx []int
		for i, y := range d.Y {
			if y >= 0 && y < k && (remap[y] >= 0) == in {
				idx = append(idx, i)
			}
		}
		return d.Subset(idx)
	}
	names := func(cs []int) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = trainSet.Classes[c]
		}
		return out
	}
	idNames := names(idClasses)
	relabel := func(d *data.Dataset) *data.Dataset {
		for i, y := range d.Y {
			d.Y[i] = remap[y]
		}
		d.Classes = idNames
		return d
	}
	s := &HeldOutSplit{
		Name:       "near: held-out classes " + classRange(oodClasses),
		Why:        fmt.Sprintf("classes never trained on (%s) vs the trained ones (%s)", strings.Join(names(oodClasses), ", "), strings.Join(idNames, ", ")),
		IDClasses:  append([]int(nil), idClasses...),
		OoDClasses: oodClasses,
		Train:      relabel(pick(trainSet, true)),
		TestID:     relabel(pick(testSet, true)),
		TestOoD:    pick(testSet, false),
	}
	if s.Train.Len() == 0 || s.TestID.Len() == 0 || s.TestOoD.Len() == 0 {
		return nil, fmt.Errorf("ood: held-out split: empty part (%d train, %d ID test, %d OoD test images)", s.Train.Len(), s.TestID.Len(), s.TestOoD.Len())
	}
	return s, nil
}

// classRange writes sorted class indices as "6-9" when contiguous, else
// "1,4,7".
func classRange(cs []int) string {
	contiguous := true
	for i := 1; i < len(cs); i++ {
		if cs[i] != cs[i-1]+1 {
			contiguous = false
		}
	}
	if contiguous && len(cs) > 1 {
		return fmt.Sprintf("%d-%d", cs[0], cs[len(cs)-1])
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprint(c)
	}
	return strings.Join(parts, ",")
}

// FashionHeldOut builds the default near-OoD split of the embedded
// Fashion-MNIST ([data.EmbeddedFashion]): ID = classes 0–5
// ([NearIDClasses]), OoD = classes 6–9.
func FashionHeldOut() (*HeldOutSplit, error) {
	tr, err := data.EmbeddedFashion(data.Train)
	if err != nil {
		return nil, err
	}
	te, err := data.EmbeddedFashion(data.Test)
	if err != nil {
		return nil, err
	}
	return NewHeldOutSplit(tr, te, NearIDClasses)
}

// NearTrainConfig configures [TrainHeldOut]; zero fields take the defaults.
type NearTrainConfig struct {
	Width  int     // nn.CNN width (default 16)
	Hidden int     // nn.CNN hidden units (default 64)
	Epochs int     // default 3 (ignored when Steps > 0)
	Steps  int     // optimizer steps, if set
	Batch  int     // default 128
	LR     float64 // SGD base learning rate (default 0.05), Nesterov momentum 0.9, cosine to 0
	Seed   uint64  // initialization and shuffling
	// Progress, if set, reports training progress.
	Progress progress.Reporter
}

// TrainHeldOut trains a small batch-norm CNN ([nn.CNN]) on s.Train with
// SGD (Nesterov momentum 0.9, weight decay 5e-4, cosine schedule) and
// returns it in evaluation mode. The same seed gives the same network bit
// for bit on the same build.
func TrainHeldOut(ctx context.Context, s *HeldOutSplit, cfg NearTrainConfig) (*nn.Network, error) {
	if cfg.Width == 0 {
		cfg.Width = 16
	}
	if cfg.Hidden == 0 {
		cfg.Hidden = 64
	}
	if cfg.Epochs == 0 {
		cfg.Epochs = 3
	}
	if cfg.LR == 0 {
		cfg.LR = 0.05
	}
	if cfg.Width < 1 || cfg.Hidden < 1 || cfg.Epochs < 0 || cfg.Steps < 0 || cfg.Batch < 0 || cfg.LR < 0 {
		return nil, fmt.Errorf("ood: near-OoD training config %+v: negative or zero sizes", cfg)
	}
	spec := nn.CNN(s.Train.Shape, len(s.IDClasses), nn.CNNOptions{Width: cfg.Width, Hidden: cfg.Hidden, BatchNorm: true})
	net, err := nn.New(spec, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("ood: near-OoD model: %w", err)
	}
	opt, err := train.NewSGD(cfg.LR, 0.9, 5e-4, true)
	if err != nil {
		return nil, fmt.Errorf("ood: near-OoD optimizer: %w", err)
	}
	_, err = train.Fit(ctx, net, s.Train.X, s.Train.Y, train.Config{
		Epochs: cfg.Epochs, Steps: cfg.Steps, BatchSize: cfg.Batch, Seed: cfg.Seed,
		Optimizer: opt, Schedule: train.Cosine{Base: cfg.LR}, Progress: cfg.Progress,
	})
	if err != nil {
		return nil, fmt.Errorf("ood: train near-OoD model: %w", err)
	}
	return net, nil
}
