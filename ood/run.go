package ood

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/plot"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
)

// MaxFarOoD is the largest number of images per far-OoD set of
// [FarOoDSets]: the size of scikit-learn's digits.
const MaxFarOoD = 1797

// RunConfig configures [Run], the benchmark of "trustml ood eval".
type RunConfig struct {
	// Models are the classifiers to benchmark (far OoD); several form a
	// mode ensemble combined by Ensemble. Leave it empty with Near.
	Models []model.Classifier
	// ModelName names the model(s) in the report ("default",
	// "fashion-cnn,fashion-resnet8"); with Near the report names the
	// trained model instead. Without Models (and without Near or arrays),
	// they are opened from ModelName ("" is the default model) with
	// FeaturesOutput, see [OpenModels].
	ModelName      string `flag:"model" help:"model: default (the embedded CNN), another embedded name, a checkpoint, an .onnx file or a served http://host:port/v2/models/NAME; several, comma-separated, are evaluated as a mode ensemble (see --ensemble)"`
	FeaturesOutput string `flag:"features-output" help:"served model: the output holding its penultimate features (for the feature detectors)"`
	// Ensemble is the rule of a mode ensemble (several Models): "score"
	// (the default) fits each detector on each model and averages the
	// detectors' scores ([ScoreEnsemble]); "logits" averages the models'
	// logits and features ([ModeEnsemble]) and runs one detector on them.
	Ensemble string `flag:"ensemble" help:"rule of a mode ensemble (--model a,b): score (default) averages each detector's scores over the models (training.md §17); logits runs one detector on the mean logits and features"`
	// Detectors are registered detector names; empty or "all" means all
	// but gradknn (one backward pass per image: name it), and on arrays
	// all that can run on them.
	Detectors []string `flag:"detectors" help:"comma-separated detectors, or all (the default: all but gradknn, which needs one backward pass per image; on arrays all that can run on them)"`
	// Detector configures the detectors; its zero Seed takes Seed.
	Detector Config `flag:"-"`
	// Params are settings of individual detectors applied over Detector,
	// "NAME:key=value,..." (see [ParseDetectorParams]).
	Params []string `flag:"detector-param" flagkind:"array" help:"settings of one detector, NAME:key=value,... (repeatable), e.g. knn:k=20"`
	// Data names the ID data set (as [data.Open] takes it, with DataDir;
	// "" is the embedded Fashion-MNIST subset): the detectors are fitted
	// on its training split and its test split is scored as ID. Far OoD
	// needs 1×28×28 images.
	Data    string `flag:"data" help:"ID data set, train and test splits of 1×28×28 images (default the embedded subset; fashion-mnist for the full set)"`
	DataDir string `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files (default: $TRUSTML_DATA, then /usr/share/datasets/fashion-mnist)"`
	// TrainArrays and TestArrays (precomputed ID training and test
	// arrays, see [ArrayFiles]) and OoDFeatures and OoDLogits (the OoD
	// sets' arrays, "NAME=FILE" lists read by [ParseNamedArrays]), if
	// set, replace the models and the images.
	TrainArrays ArrayFiles `flagprefix:"train-"`
	TestArrays  ArrayFiles
	OoDFeatures []string `flag:"ood-features" flagkind:"array" help:"an OoD set's precomputed features, NAME=FILE (repeatable)"`
	OoDLogits   []string `flag:"ood-logits" flagkind:"array" help:"an OoD set's precomputed logits, NAME=FILE (repeatable)"`
	// NTrain and NTest are the numbers of ID training samples to fit on
	// and ID test samples to score, the first ones (0 = all); more than
	// there are is an error, except with Near, which caps them at the
	// held-out split's sizes.
	NTrain int `flag:"n-train" help:"fit on the first n ID training samples (0 = all; more than there are is an error)"`
	NTest  int `flag:"n-test" help:"score the first n ID test samples (0 = all)"`
	// NOoD is the number of samples per OoD set (0 = 1000, at most NTest,
	// for images; all for arrays): at most MaxFarOoD and NTest for the
	// far-OoD sets; with Near it is capped at the held-out test images.
	NOoD int `flag:"n-ood" help:"samples per OoD set (0 = images: min(1000, n-test), at most 1797, the size of digits; arrays: all)"`
	// Seed seeds the far-OoD sets, the near-OoD model and (see Detector)
	// the randomized detectors.
	Seed uint64 `flag:"seed" help:"seed of the far-OoD sets, the near-OoD model and randomized detectors"`
	// Near replaces the far-OoD benchmark by near OoD by held-out classes:
	// a 6-class CNN is trained on Fashion-MNIST classes 0–5
	// ([FashionHeldOut], [TrainHeldOut]) for NearEpochs epochs (default
	// 3) and the test images of classes 6–9 are the OoD set.
	Near       bool `flag:"near" help:"near-OoD by held-out classes: train a 6-class model on classes 0-5, OoD = test images of classes 6-9"`
	NearEpochs int  `flag:"near-epochs" help:"training epochs of the --near model (0 = 3)"`
	// Shard, unless it is the zero value, scores only the ID test and OoD
	// samples of that shard (index mod Count = Index); every shard fits the
	// detectors on the same ID training images. The report's Shard then
	// holds the per-sample scores for [Merge] and its Results are of the
	// shard's samples alone.
	Shard shard.Spec `flag:"shard" help:"score only shard i of N (samples with index mod N = i), as i/N; merge the --json outputs with trustml ood merge"`
	// OutDir, if set, receives a PNG of ROC curves per OoD set (see
	// [Report.WritePlots]); not with Shard.
	OutDir string `flag:"out-dir" help:"write a PNG of ROC curves per OoD set into this directory (created if needed)"`
	// Progress, if set, reports the training of the near-OoD model.
	Progress progress.Reporter
}

// SetInfo names an OoD set of a report and says why it is OoD.
type SetInfo struct {
	Name string `json:"name"`
	Why  string `json:"why"`
}

// NearInfo states the held-out-classes split and model of a near-OoD run.
type NearInfo struct {
	IDClasses    []string `json:"id_classes"`
	OoDClasses   []string `json:"ood_classes"`
	Epochs       int      `json:"epochs"`
	Seed         uint64   `json:"seed"`
	Architecture string   `json:"architecture"`
	TestAccuracy float64  `json:"id_test_accuracy"`
	TrainSeconds float64  `json:"train_seconds"`
}

// Report is the result of [Run] or [Merge]: one [Result] per detector × OoD
// set, with what was measured.
type Report struct {
	Model string `json:"model"`
	// Ensemble is the mode-ensemble rule (score or logits) of several
	// models.
	Ensemble string    `json:"ensemble,omitempty"`
	NTrain   int       `json:"n_train"`
	NTest    int       `json:"n_test"`
	NOoD     int       `json:"n_ood"`
	Sets     []SetInfo `json:"ood_sets"`
	Results  []Result  `json:"results"`
	// Plots are the files written by [Report.WritePlots].
	Plots []string  `json:"plots,omitempty"`
	Near  *NearInfo `json:"near,omitempty"`
	// Missing lists the shards absent from a partial [Merge]: their
	// samples are left out.
	Missing []shard.Spec `json:"missing_shards,omitempty"`
	// Shard holds a sharded run's per-sample scores, to be merged.
	Shard *ShardReport `json:"-"`
}

// Run builds the ID and OoD sets, fits each detector on the ID training
// images and scores the ID test images and every OoD set — the work of
// "trustml ood eval". Far OoD (the default) uses the embedded Fashion-MNIST
// as ID and the [FarOoDSets]; Near uses held-out classes.
func Run(ctx context.Context, cfg RunConfig) (*Report, error) {
	ens := cfg.Ensemble
	if ens == "" {
		ens = "score"
	}
	sharded := cfg.Shard != (shard.Spec{})
	dc := cfg.Detector
	if dc.Seed == 0 {
		dc.Seed = cfg.Seed
	}
	switch {
	case cfg.Near && len(cfg.Models) > 0:
		return nil, fmt.Errorf("ood: run: Near trains its own 6-class model, give no Models")
	case !cfg.TrainArrays.IsZero() || !cfg.TestArrays.IsZero() || len(cfg.OoDFeatures)+len(cfg.OoDLogits) > 0:
		return runArrays(ctx, cfg, dc)
	case cfg.Near && cfg.ModelName != "":
		return nil, fmt.Errorf("ood: run: a model (%s) with Near: Near trains its own 6-class model", cfg.ModelName)
	case !cfg.Near && len(cfg.Models) == 0:
		var err error
		if cfg.Models, err = OpenModels(ctx, cfg.ModelName, cfg.FeaturesOutput); err != nil {
			return nil, err
		}
		cfg.ModelName, cfg.FeaturesOutput = cmp.Or(cfg.ModelName, "default"), ""
		return Run(ctx, cfg)
	case ens != "score" && ens != "logits":
		return nil, fmt.Errorf("ood: run: ensemble rule %q: want score or logits", cfg.Ensemble)
	case dc.GradSubspace != "" && dc.GradSubspace != "pca" && dc.GradSubspace != "class":
		return nil, fmt.Errorf("ood: run: gradknn subspace %q: want pca or class", dc.GradSubspace)
	case sharded && cfg.OutDir != "":
		return nil, fmt.Errorf("ood: run: plots of a shard: plot the merged report")
	case cfg.NTrain < 0 || cfg.NTest < 0:
		return nil, fmt.Errorf("ood: run: n-train %d, n-test %d: want ≥ 0", cfg.NTrain, cfg.NTest)
	case cfg.Near && cfg.Data != "":
		return nil, fmt.Errorf("ood: run: Near uses the embedded Fashion-MNIST, give no data set (%s)", cfg.Data)
	case cfg.NearEpochs < 0:
		return nil, fmt.Errorf("ood: run: near-OoD epochs %d: want ≥ 0", cfg.NearEpochs)
	}
	for i, m := range cfg.Models {
		if m == nil {
			return nil, fmt.Errorf("ood: run: model %d is nil", i)
		}
	}
	if sharded {
		if err := cfg.Shard.Validate(); err != nil {
			return nil, fmt.Errorf("ood: run: %w", err)
		}
	}
	names := detectorNames(cfg.Detectors, nil)
	if len(cfg.Models) > 0 && cfg.FeaturesOutput != "" {
		return nil, fmt.Errorf("ood: run: a features output (%s) with models given: open them with it", cfg.FeaturesOutput)
	}
	var clf model.Classifier
	if len(cfg.Models) > 0 {
		clf = cfg.Models[0]
	}
	if len(cfg.Models) > 1 {
		e, err := NewModeEnsemble(cfg.Models...)
		if err != nil {
			return nil, fmt.Errorf("ood: run: %w", err)
		}
		clf = e
	}
	cs, err := newDetectors(names, dc, cfg.Params)
	if err != nil {
		return nil, err
	}
	dets := make([]Detector, len(names))
	for i, n := range names {
		if len(cfg.Models) > 1 && ens == "score" {
			dets[i], err = NewScoreEnsemble(n, cs[i], len(cfg.Models))
		} else {
			dets[i], err = New(n, cs[i])
		}
		if err != nil {
			return nil, err // names the detector and lists the registered ones
		}
	}
	rep := &Report{Model: cfg.ModelName, NOoD: cfg.NOoD}
	if len(cfg.Models) > 1 {
		rep.Ensemble = ens
	}
	var train, test *data.Dataset
	var sets []Set
	if cfg.Near {
		if clf, train, test, sets, err = nearSets(ctx, cfg, rep); err != nil {
			return nil, err
		}
	} else if train, test, sets, err = farSets(clf, cfg); err != nil {
		return nil, err
	}
	rep.NTrain, rep.NTest, rep.NOoD = train.Len(), test.Len(), len(sets[0].X)/test.SampleSize()
	setNames := make([]string, len(sets))
	for i, s := range sets {
		rep.Sets = append(rep.Sets, SetInfo{s.Name, s.Why})
		setNames[i] = s.Name
	}
	var sh *ShardReport
	if sharded {
		sh = &ShardReport{
			Kind: ShardKind, Model: rep.Model, NTrain: rep.NTrain, NTest: rep.NTest, NOoD: rep.NOoD, Seed: cfg.Seed,
			Settings: fmt.Sprintf("%+v %q", dc, cfg.Params), Sets: rep.Sets, Shard: cfg.Shard.Index, Shards: cfg.Shard.Count, Near: rep.Near,
		}
		for _, d := range dets {
			sh.Detectors = append(sh.Detectors, d.Name())
		}
		sh.IDIndex = cfg.Shard.Indices(rep.NTest)
		test = test.Subset(sh.IDIndex)
		px := test.SampleSize()
		for i := range sets {
			idx := cfg.Shard.Indices(len(sets[i].X) / px)
			x := make([]float32, 0, len(idx)*px)
			for _, j := range idx {
				x = append(x, sets[i].X[j*px:(j+1)*px]...)
			}
			sets[i].X = x
			sh.OoDIndex = append(sh.OoDIndex, idx)
		}
	}
	scores, err := BenchmarkScores(ctx, clf, dets, NewInputs(train.X, train.Y), NewInputs(test.X, nil), sets)
	if err != nil {
		return nil, err
	}
	if rep.Results, err = ResultsFromScores(scores, setNames); err != nil {
		return nil, err
	}
	if sh != nil {
		sh.Scores, sh.Results = scores, rep.Results
		rep.Shard = sh
	}
	if cfg.OutDir != "" {
		if err := rep.WritePlots(cfg.OutDir); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// detectorNames returns names, or when it is empty or ["all"] all
// registered detectors but gradknn and those in skip.
func detectorNames(names []string, skip map[string]string) []string {
	if len(names) > 0 && !(len(names) == 1 && names[0] == "all") {
		return names
	}
	names = nil
	for _, n := range Names() {
		if _, ok := skip[n]; n != "gradknn" && !ok {
			names = append(names, n)
		}
	}
	return names
}

// farSets returns the ID data set's training and test images and the
// far-OoD sets for m.
func farSets(m model.Classifier, cfg RunConfig) (train, test *data.Dataset, sets []Set, err error) {
	if train, err = openData(m, cfg.Data, cfg.DataDir, data.FileOptions{}, data.Train, cfg.NTrain); err != nil {
		return nil, nil, nil, err
	}
	if test, err = openData(m, cfg.Data, cfg.DataDir, data.FileOptions{}, data.Test, cfg.NTest); err != nil {
		return nil, nil, nil, err
	}
	n := cfg.NOoD
	if n == 0 {
		n = min(1000, test.Len())
	}
	if n < 1 || n > test.Len() || n > MaxFarOoD {
		return nil, nil, nil, fmt.Errorf("ood: run: %d OoD images per set: want 1 to min(%d, %d ID test images)", n, MaxFarOoD, test.Len())
	}
	sets, err = FarOoDSets(test, n, rand.New(rand.NewPCG(cfg.Seed, 0x6f6f64)))
	return train, test, sets, err
}

// nearSets trains the near-OoD model and returns it with the held-out
// split's ID training and test images and its OoD set; it fills rep's
// Model, NOoD and Near.
func nearSets(ctx context.Context, cfg RunConfig, rep *Report) (model.Classifier, *data.Dataset, *data.Dataset, []Set, error) {
	epochs := cfg.NearEpochs
	if epochs == 0 {
		epochs = 3
	}
	if cfg.NOoD < 0 {
		return nil, nil, nil, nil, fmt.Errorf("ood: run: %d OoD images: want ≥ 0", cfg.NOoD)
	}
	split, err := FashionHeldOut()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	start := time.Now()
	net, err := TrainHeldOut(ctx, split, NearTrainConfig{Epochs: epochs, Seed: cfg.Seed, Progress: cfg.Progress})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	m, _, err := metrics.EvaluateClassifier(ctx, net, split.TestID.X, split.TestID.Y)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("ood: run: evaluate the near-OoD model: %w", err)
	}
	near := &NearInfo{
		IDClasses: split.Train.Classes, Epochs: epochs, Seed: cfg.Seed, TestAccuracy: m.Accuracy,
		Architecture: "cnn width 16 hidden 64 batch norm", TrainSeconds: time.Since(start).Seconds(),
	}
	for _, c := range split.OoDClasses {
		near.OoDClasses = append(near.OoDClasses, data.FashionClasses[c])
	}
	od := split.TestOoD.Head(cmp.Or(cfg.NOoD, 1000))
	rep.Near, rep.NOoD = near, od.Len()
	rep.Model = "near-ood cnn (classes " + strings.Join(near.IDClasses, ", ") + ")"
	sets := []Set{{Name: split.Name, Why: split.Why, X: od.X}}
	return net, split.Train.Head(cfg.NTrain), split.TestID.Head(cfg.NTest), sets, nil
}

// checkModelData checks that d's samples fit m and that d is labelled with
// at most m's classes.
func checkModelData(m model.Classifier, d *data.Dataset) error {
	if err := d.CheckFits(m.InputShape(), m.NumClasses()); err != nil {
		return fmt.Errorf("ood: %w", err)
	}
	return nil
}

// WritePlots writes a PNG of the ROC curves of every detector per OoD set,
// roc-<set>.png, into dir (created if needed) and appends the paths to
// r.Plots. The results must carry their ROC curves (a report decoded from
// JSON has none: merge or rerun it).
func (r *Report) WritePlots(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ood: plots: %w", err)
	}
	for _, s := range r.Sets {
		var series []plot.Series
		for _, res := range r.Results {
			if res.OoD != s.Name {
				continue
			}
			if res.ROC == nil {
				return fmt.Errorf("ood: plots: %s on %s has no ROC curve", res.Detector, res.OoD)
			}
			x, y := thinCurve(res.ROC.FPR, res.ROC.TPR, 200)
			series = append(series, plot.Series{Name: fmt.Sprintf("%s (AUROC %.3f)", res.Detector, res.AUROC), X: x, Y: y})
		}
		p := filepath.Join(dir, "roc-"+fileSafe(s.Name)+".png")
		if err := plot.Lines(p, "ROC: Fashion-MNIST (ID) vs "+s.Name, "FPR (OoD accepted)", "TPR (ID accepted)", false, series); err != nil {
			return fmt.Errorf("ood: plots: %w", err)
		}
		r.Plots = append(r.Plots, p)
	}
	return nil
}

// fileSafe turns a set name into a file-name part: letters, digits and
// '-' kept, runs of anything else turned into one '-'.
func fileSafe(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// thinCurve keeps about max points of a curve (always the first and last).
func thinCurve(x, y []float64, max int) ([]float64, []float64) {
	if len(x) <= max {
		return x, y
	}
	step := float64(len(x)-1) / float64(max-1)
	ox, oy := make([]float64, 0, max), make([]float64, 0, max)
	for i := range max {
		j := int(float64(i)*step + 0.5)
		ox, oy = append(ox, x[j]), append(oy, y[j])
	}
	return ox, oy
}

// WriteText prints the report for a terminal: the shard and the near-OoD
// split (if any), the sizes, one aligned row per detector × OoD set with
// FPR95, AUROC, AUPR-In and AUPR-Out in percent, and the plots written.
func (r *Report) WriteText(w io.Writer) error {
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
	if sh := r.Shard; sh != nil {
		oodPerSet := 0
		if len(sh.OoDIndex) > 0 {
			oodPerSet = len(sh.OoDIndex[0])
		}
		fmt.Fprintf(w, "shard %s: %d of %d ID test images, %d of %d images per OoD set; metrics of this shard only (merge the --json outputs of all shards with \"trustml ood merge\")\n",
			sh.Spec(), len(sh.IDIndex), sh.NTest, oodPerSet, sh.NOoD)
	}
	if near := r.Near; near != nil {
		fmt.Fprintf(w, "near-OoD split: ID = classes 0-5 (%s), OoD = held-out classes 6-9 (%s)\n", strings.Join(near.IDClasses, ", "), strings.Join(near.OoDClasses, ", "))
		fmt.Fprintf(w, "trained %s, %d epochs, seed %d, in %.1fs: ID test accuracy %s\n", near.Architecture, near.Epochs, near.Seed, near.TrainSeconds, pct(near.TestAccuracy))
	}
	unit := "images"
	if strings.HasPrefix(r.Model, "precomputed arrays") {
		unit = "samples"
	}
	fmt.Fprintf(w, "model %s: fit on %d ID training %s, %d ID test %s, %d %s per OoD set\n", r.Model, r.NTrain, unit, r.NTest, unit, r.NOoD, unit)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTOR\tOOD\tFPR95\tAUROC\tAUPR-IN\tAUPR-OUT")
	for _, res := range r.Results {
		fmt.Fprintln(tw, strings.Join([]string{res.Detector, res.OoD, pct(res.FPR95), pct(res.AUROC), pct(res.AUPRIn), pct(res.AUPROut)}, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range r.Plots {
		if _, err := fmt.Fprintln(w, "wrote", p); err != nil {
			return err
		}
	}
	return nil
}
