package certify

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/model"
	"github.com/trustml/trustml/plot"
	"github.com/trustml/trustml/progress"
	"github.com/trustml/trustml/shard"
)

// DefaultRadii are the radii [Run] reports certified accuracy at when
// [Config].Radii is empty.
var DefaultRadii = []float64{0, 0.25, 0.5, 0.75, 1}

// Config is a certification of a data set by [Run].
type Config struct {
	Model     model.Classifier // the base classifier (inputs in [0, 1])
	ModelName string           // names the model in the report
	Data      *data.Dataset    // labelled; must fit Model
	Split     string           // names the split in the report

	// Sigmas holds one σ per smoothed classifier, each certified on every image.
	Sigmas []float64 `flag:"sigma" help:"noise standard deviation(s) σ on the [0, 1] pixel scale"`
	// N0 and N are the selection and estimation samples (the reference:
	// 100 and 100,000).
	N0 int `flag:"n0" help:"noise samples that choose the class"`
	N  int `flag:"n" help:"fresh noise samples that bound its probability (the paper: 100000)"`
	// Alpha is the failure probability of each certificate (the reference: 0.001).
	Alpha float64 `flag:"alpha" help:"failure probability α of each certificate"`
	Batch int     // noisy copies per forward pass (0: DefaultBatch)
	// Skip certifies every Skip-th image (0, Skip, 2·Skip, ...; 0 or 1:
	// every image) and NImages at most that many of them (0: all).
	Skip    int `flag:"skip" help:"certify every k-th test image"`
	NImages int `flag:"n-images" help:"certify at most this many images (0 = all)"`
	// Predict also runs [Smooth.Predict] with N fresh samples per image and
	// reports its accuracy and abstentions.
	Predict bool      `flag:"predict" help:"also run Predict (n fresh samples, binomial test; abstains) and report its accuracy"`
	Radii   []float64 // radii of the certified-accuracy table (nil: DefaultRadii)
	// Seed seeds the noise; image i draws from its own stream, so results
	// do not depend on Workers or on sharding.
	Seed uint64 `flag:"seed" help:"seed of the noise"`
	// Shard selects the images at positions p (among the selected ones)
	// with p mod Count == Index; reports of all shards combine with [Merge].
	Shard shard.Spec `flag:"shard" help:"certify shard i/N of the images (certify.Merge combines the --json reports)"`
	// Workers certifies this many images at once on clones of Model (0:
	// GOMAXPROCS; 1 when Model is not a [model.Cloner]).
	Workers  int
	Progress progress.Reporter
}

// Sample is the outcome for one image and one σ.
type Sample struct {
	Index   int     `json:"index"`  // position in the data set
	Label   int     `json:"label"`  // true class
	Class   int     `json:"class"`  // certified class, Abstain (−1) when abstaining
	Radius  float64 `json:"radius"` // certified L2 radius (0 when abstaining)
	Correct bool    `json:"correct"`
	// Predicted is Predict's class (Abstain when abstaining); set only
	// with Config.Predict.
	Predicted *int    `json:"predicted,omitempty"`
	Seconds   float64 `json:"seconds"`
}

// SigmaResult is the certification with one σ.
type SigmaResult struct {
	Sigma     float64   `json:"sigma"`
	Samples   []Sample  `json:"samples"`
	Radii     []float64 `json:"radii"`
	Certified []float64 `json:"certified_accuracy"` // at each of Radii
	ACR       float64   `json:"acr"`                // mean of radius·1[correct]
	Abstained int       `json:"abstained"`
	MaxRadius float64   `json:"max_radius"` // σ·Φ⁻¹(α^{1/n}), the largest certifiable
	// PredictAccuracy and PredictAbstained summarise Predict (with
	// Config.Predict): correct, non-abstained fraction and abstentions.
	PredictAccuracy  *float64 `json:"predict_accuracy,omitempty"`
	PredictAbstained *int     `json:"predict_abstained,omitempty"`
	Seconds          float64  `json:"seconds"` // summed over images
}

// Report is what [Run] returns.
type Report struct {
	Model  string        `json:"model"`
	Data   string        `json:"data"`
	Split  string        `json:"split,omitempty"`
	N0     int           `json:"n0"`
	N      int           `json:"n"`
	Alpha  float64       `json:"alpha"`
	Skip   int           `json:"skip"`
	Images int           `json:"images"` // selected images (all shards)
	Seed   uint64        `json:"seed"`
	Shard  shard.Spec    `json:"shard"`
	Sigmas []SigmaResult `json:"sigmas"`
}

// Validate checks the settings [Run] needs, naming the one at fault.
func (c *Config) Validate() error {
	switch {
	case c.Model == nil:
		return fmt.Errorf("certify: no model")
	case c.Data == nil || c.Data.Len() == 0:
		return fmt.Errorf("certify: no data")
	case len(c.Sigmas) == 0:
		return fmt.Errorf("certify: no σ given")
	case c.N < 1:
		return fmt.Errorf("certify: --n %d, want ≥ 1", c.N)
	case c.N0 < 1 || c.N0 > c.N:
		return fmt.Errorf("certify: --n0 %d, want 1 ≤ n0 ≤ n = %d", c.N0, c.N)
	case !(c.Alpha > 0 && c.Alpha < 1):
		return fmt.Errorf("certify: --alpha %g outside (0, 1)", c.Alpha)
	case c.Skip < 0 || c.NImages < 0 || c.Batch < 0 || c.Workers < 0:
		return fmt.Errorf("certify: --skip, --n-images, --batch and workers must be ≥ 0")
	case !c.Data.IsLabeled():
		return fmt.Errorf("certify: data set %s has no class labels", c.Data.Name)
	}
	for _, s := range c.Sigmas {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("certify: --sigma %g, want σ > 0", s)
		}
	}
	if err := c.Data.CheckFits(c.Model.InputShape(), c.Model.NumClasses()); err != nil {
		return fmt.Errorf("certify: data set %s does not fit model %s: %w", c.Data.Name, c.ModelName, err)
	}
	return c.Shard.Validate()
}

// selected returns the data set indices Skip and NImages select.
func (c *Config) selected() []int {
	skip := max(c.Skip, 1)
	var idx []int
	for i := 0; i < c.Data.Len() && (c.NImages == 0 || len(idx) < c.NImages); i += skip {
		idx = append(idx, i)
	}
	return idx
}

// Run certifies the selected images of cfg.Data with the smoothed
// classifier of cfg.Model at every σ of cfg.Sigmas and returns per-image
// classes and radii with certified accuracy at cfg.Radii and the ACR.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	radii := cfg.Radii
	if len(radii) == 0 {
		radii = DefaultRadii
	}
	all := cfg.selected()
	var idx []int
	for p, i := range all {
		if cfg.Shard.Contains(p) {
			idx = append(idx, i)
		}
	}
	rep := &Report{Model: cfg.ModelName, Data: cfg.Data.Name, Split: cfg.Split, N0: cfg.N0, N: cfg.N,
		Alpha: cfg.Alpha, Skip: max(cfg.Skip, 1), Images: len(all), Seed: cfg.Seed, Shard: cfg.Shard}
	pr := progress.Or(cfg.Progress)
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	models := []model.Classifier{cfg.Model}
	if cl, ok := cfg.Model.(model.Cloner); ok {
		for len(models) < min(workers, len(idx)) {
			models = append(models, cl.Clone())
		}
	}
	for _, sigma := range cfg.Sigmas {
		samples := make([]Sample, len(idx))
		label := fmt.Sprintf("certify σ=%g", sigma)
		var (
			mu       sync.Mutex
			done     int
			firstErr error
			wg       sync.WaitGroup
		)
		next := make(chan int)
		for _, m := range models {
			wg.Add(1)
			go func(s Smooth) {
				defer wg.Done()
				for j := range next {
					smp, err := certifyOne(ctx, s, &cfg, idx[j])
					mu.Lock()
					if err != nil && firstErr == nil {
						firstErr = err
					}
					samples[j] = smp
					done++
					pr.Update(label, done, len(idx), "")
					if done%max(1, len(idx)/10) == 0 {
						pr.Log("%s: %d of %d images", label, done, len(idx))
					}
					mu.Unlock()
				}
			}(Smooth{Base: m, Sigma: sigma, Batch: cfg.Batch})
		}
		for j := range idx {
			mu.Lock()
			stop := firstErr != nil
			mu.Unlock()
			if stop || ctx.Err() != nil {
				break
			}
			next <- j
		}
		close(next)
		wg.Wait()
		if firstErr == nil {
			firstErr = ctx.Err()
		}
		if firstErr != nil {
			return nil, firstErr
		}
		sr := summarize(sigma, samples, radii, cfg.N, cfg.Alpha, cfg.Predict)
		pr.Log("σ=%g: certified accuracy %.1f%% at r=0, ACR %.3f, %d abstained of %d", sigma, 100*sr.Certified[0], sr.ACR, sr.Abstained, len(samples))
		rep.Sigmas = append(rep.Sigmas, sr)
	}
	return rep, nil
}

// certifyOne certifies image i (and predicts it with cfg.Predict), drawing
// from the image's own noise streams.
func certifyOne(ctx context.Context, s Smooth, cfg *Config, i int) (Sample, error) {
	start := time.Now()
	x, y := cfg.Data.Row(i), cfg.Data.Y[i]
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
	c, r, err := s.Certify(ctx, x, cfg.N0, cfg.N, cfg.Alpha, rng)
	if err != nil {
		return Sample{}, fmt.Errorf("certify: image %d: %w", i, err)
	}
	smp := Sample{Index: i, Label: y, Class: c, Radius: r, Correct: c != Abstain && c == y}
	if cfg.Predict {
		p, err := s.Predict(ctx, x, cfg.N, cfg.Alpha, rand.New(rand.NewPCG(cfg.Seed, uint64(i)|1<<63)))
		if err != nil {
			return Sample{}, fmt.Errorf("certify: predict image %d: %w", i, err)
		}
		smp.Predicted = &p
	}
	smp.Seconds = time.Since(start).Seconds()
	return smp, nil
}

// CertifiedAccuracy is the fraction of samples classified correctly, not
// abstained, with radius ≥ r.
func CertifiedAccuracy(samples []Sample, r float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	k := 0
	for _, s := range samples {
		if s.Correct && s.Class != Abstain && s.Radius >= r {
			k++
		}
	}
	return float64(k) / float64(len(samples))
}

func summarize(sigma float64, samples []Sample, radii []float64, n int, alpha float64, predict bool) SigmaResult {
	sr := SigmaResult{Sigma: sigma, Samples: samples, Radii: radii, MaxRadius: MaxRadius(sigma, n, alpha)}
	var pc, pa int
	for _, s := range samples {
		if s.Class == Abstain {
			sr.Abstained++
		} else if s.Correct {
			sr.ACR += s.Radius
		}
		if s.Predicted != nil {
			if *s.Predicted == Abstain {
				pa++
			} else if *s.Predicted == s.Label {
				pc++
			}
		}
		sr.Seconds += s.Seconds
	}
	for _, r := range radii {
		sr.Certified = append(sr.Certified, CertifiedAccuracy(samples, r))
	}
	if len(samples) > 0 {
		sr.ACR /= float64(len(samples))
	}
	if predict {
		acc := float64(pc) / float64(max(len(samples), 1))
		sr.PredictAccuracy, sr.PredictAbstained = &acc, &pa
	}
	return sr
}

// Merge combines the reports of the shards of one certification (the
// same settings, every shard exactly once) into the report of the whole.
func Merge(reports ...*Report) (*Report, error) {
	if len(reports) == 0 {
		return nil, fmt.Errorf("certify: nothing to merge")
	}
	f := reports[0]
	out := *f
	out.Shard = shard.Spec{Index: 0, Count: 1}
	out.Sigmas = nil
	specs := make([]shard.Spec, len(reports))
	for ri, r := range reports {
		if r.Model != f.Model || r.Data != f.Data || r.Split != f.Split || r.N0 != f.N0 || r.N != f.N || r.Alpha != f.Alpha ||
			r.Skip != f.Skip || r.Images != f.Images || r.Seed != f.Seed || len(r.Sigmas) != len(f.Sigmas) {
			return nil, fmt.Errorf("certify: report %d is from a different certification (model, data, n0, n, α, skip, images, seed or σ differ)", ri+1)
		}
		specs[ri] = r.Shard
	}
	if err := shard.CheckCover(specs); err != nil {
		return nil, fmt.Errorf("certify: %w", err)
	}
	for si, s := range f.Sigmas {
		var samples []Sample
		predict := s.PredictAccuracy != nil
		for ri, r := range reports {
			if r.Sigmas[si].Sigma != s.Sigma || !slices.Equal(r.Sigmas[si].Radii, s.Radii) {
				return nil, fmt.Errorf("certify: report %d has σ %g where the first has %g (or other radii)", ri+1, r.Sigmas[si].Sigma, s.Sigma)
			}
			samples = append(samples, r.Sigmas[si].Samples...)
		}
		slices.SortFunc(samples, func(a, b Sample) int { return a.Index - b.Index })
		if len(samples) != f.Images {
			return nil, fmt.Errorf("certify: the shards hold %d samples for σ %g, want %d", len(samples), s.Sigma, f.Images)
		}
		out.Sigmas = append(out.Sigmas, summarize(s.Sigma, samples, s.Radii, f.N, f.Alpha, predict))
	}
	return &out, nil
}

// WriteText prints the certified-accuracy table: one row per σ with
// certified accuracy at each radius, ACR, abstentions and the largest
// certifiable radius.
func (r *Report) WriteText(w io.Writer) error {
	n := 0
	if len(r.Sigmas) > 0 {
		n = len(r.Sigmas[0].Samples)
	}
	which := "every image"
	if r.Skip > 1 {
		which = fmt.Sprintf("every %d-th image", r.Skip)
	}
	shardNote := ""
	if !r.Shard.Whole() {
		shardNote = fmt.Sprintf(", shard %s", r.Shard)
	}
	split := ""
	if r.Split != "" {
		split = " (" + r.Split + ")"
	}
	fmt.Fprintf(w, "randomized smoothing of %s on %s%s: %d images (%s%s), n0 = %d, n = %d, α = %g\n",
		r.Model, r.Data, split, n, which, shardNote, r.N0, r.N, r.Alpha)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"σ"}
	if len(r.Sigmas) > 0 {
		for _, x := range r.Sigmas[0].Radii {
			head = append(head, fmt.Sprintf("r=%g", x))
		}
	}
	head = append(head, "ACR", "abstained", "max radius")
	predict := len(r.Sigmas) > 0 && r.Sigmas[0].PredictAccuracy != nil
	if predict {
		head = append(head, "predict acc", "predict abstained")
	}
	head = append(head, "s/image")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, s := range r.Sigmas {
		row := []string{fmt.Sprint(s.Sigma)}
		for _, a := range s.Certified {
			row = append(row, fmt.Sprintf("%.1f%%", 100*a))
		}
		row = append(row, fmt.Sprintf("%.3f", s.ACR), fmt.Sprint(s.Abstained), fmt.Sprintf("%.3f", s.MaxRadius))
		if predict && s.PredictAccuracy != nil {
			row = append(row, fmt.Sprintf("%.1f%%", 100**s.PredictAccuracy), fmt.Sprint(*s.PredictAbstained))
		}
		row = append(row, fmt.Sprintf("%.2f", s.Seconds/float64(max(len(s.Samples), 1))))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "certified accuracy at r: correct, not abstained and radius ≥ r; ACR: mean radius of the correct ones (0 for the others)")
	return err
}

// PlotFile is the name of the PNG [Report.WritePlot] writes.
const PlotFile = "certified-accuracy.png"

// WritePlot draws certified accuracy against radius, one line per σ, into
// dir/[PlotFile] (creating dir) and returns the file's path.
func (r *Report) WritePlot(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("certify: %w", err)
	}
	path := filepath.Join(dir, PlotFile)
	top := 0.0
	for _, s := range r.Sigmas {
		top = max(top, s.MaxRadius)
	}
	steps := int(math.Ceil(top / 0.02)) // a point every 0.02 up to the largest cap
	var series []plot.Series
	for _, s := range r.Sigmas {
		ps := plot.Series{Name: fmt.Sprintf("σ = %g", s.Sigma)}
		for k := 0; k <= steps; k++ {
			x := 0.02 * float64(k)
			ps.X = append(ps.X, x)
			ps.Y = append(ps.Y, CertifiedAccuracy(s.Samples, x))
		}
		series = append(series, ps)
	}
	title := fmt.Sprintf("%s on %s (n = %d, α = %g)", r.Model, r.Data, r.N, r.Alpha)
	if err := plot.Lines(path, title, "L2 radius", "certified accuracy", false, series); err != nil {
		return "", fmt.Errorf("certify: %w", err)
	}
	return path, nil
}
