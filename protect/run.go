package protect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/metrics"
	"github.com/trustml/trustml/progress"
)

// IDXSuffix ends an --out path that [Write] writes as a pair of IDX files:
// NAME-images-idx3-ubyte and NAME-labels-idx1-ubyte (Fashion-MNIST's
// naming); any other path must end in .npz.
const IDXSuffix = "-images-idx3-ubyte"

// Config is "trustml protect": load a training set, protect it ([Protect])
// and write it ([Write]); optionally measure the protection ([TrainEval]).
type Config struct {
	Data    string `flag:"data" help:"training set to protect: fashion-mnist-small (embedded), fashion-mnist (full), or an .npz/.npy file"`
	DataDir string `flag:"data-dir" help:"directory with the Fashion-MNIST IDX files (default: $TRUSTML_DATA, then Debian's)"`
	N       int    `flag:"n" help:"protect the first n training images (0 = all)"`
	Out     string `flag:"out" help:"protected training set: FILE.npz (float32 x, int64 y) or NAME-images-idx3-ubyte (+ NAME-labels-idx1-ubyte; pixels as bytes)"`
	Force   bool   `flag:"force" help:"overwrite an existing --out"`
	Settings
	// Eval trains a fresh model (Arch, Epochs, Batch, LR, Seed) on the
	// protected set and on the clean one and reports both test accuracies
	// on the test split of TestData (default: Data's).
	Eval     bool   `flag:"eval" help:"also train fresh models (--arch, --epochs) on the protected and the clean set and report their test accuracy"`
	TestData string `flag:"test-data" help:"test set of --eval (default: the test split of --data)"`
}

// DefaultConfig returns the defaults of "trustml protect".
func DefaultConfig() Config {
	return Config{Data: data.DefaultName, Settings: DefaultSettings()}
}

// Result is what [Run] returns.
type Result struct {
	Protected
	DataName string   `json:"data"` // the clean training set
	Out      []string `json:"out"`
	// CleanTest and ProtectedTest are the test metrics of fresh models trained on
	// the clean and the protected set (with Config.Eval).
	TestData      string                  `json:"test_data,omitempty"`
	CleanTest     *metrics.Classification `json:"clean_test,omitempty"`
	ProtectedTest *metrics.Classification `json:"protected_test,omitempty"`
}

// outPaths returns the files Write makes for out.
func outPaths(out string) ([]string, error) {
	switch {
	case out == "":
		return nil, fmt.Errorf("protect: no --out given")
	case strings.HasSuffix(out, IDXSuffix) && len(out) > len(IDXSuffix):
		return []string{out, strings.TrimSuffix(out, IDXSuffix) + "-labels-idx1-ubyte"}, nil
	case strings.HasSuffix(strings.ToLower(out), ".npz"):
		return []string{out}, nil
	}
	return nil, fmt.Errorf("protect: --out %q: want a path ending in .npz, or NAME%s for IDX files", out, IDXSuffix)
}

// checkOut fails when a file Write would make exists and force is not set.
func checkOut(out string, force bool) ([]string, error) {
	paths, err := outPaths(out)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil && !force {
			return nil, fmt.Errorf("protect: %s exists: pass --force to overwrite it", p)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("protect: %w", err)
		}
	}
	return paths, nil
}

// Write writes the protected set p.Data atomically to out (see
// [Config].Out for the formats) and returns the paths written. An
// existing file is not overwritten unless force is set. IDX stores pixels
// as bytes: each is rounded to the nearest k/255, toward the original
// (orig, same images) where rounding would leave the ε-box; when that
// cannot keep every pixel within p.Eps (originals that are not k/255),
// nothing is written and the error says to use .npz, which keeps the
// float32 values exactly.
func Write(out string, p *Protected, orig *data.Dataset, force bool) ([]string, error) {
	paths, err := checkOut(out, force)
	if err != nil {
		return nil, err
	}
	d := p.Data
	if len(paths) == 1 {
		return paths, atomicfile.Write(paths[0], 0o644, func(w io.Writer) error { return data.WriteNPZ(w, d) })
	}
	img := &data.IDX{Name: paths[0], Dims: append([]int{d.Len()}, d.Shape...), Data: make([]byte, len(d.X))}
	if d.Shape[0] == 1 {
		img.Dims = []int{d.Len(), d.Shape[1], d.Shape[2]}
	}
	for j, v := range d.X {
		b := math.Round(float64(v) * 255)
		if p.Eps > 0 {
			x0 := float64(orig.X[j]) * 255
			if b-x0 > p.Eps*255 {
				b--
			} else if x0-b > p.Eps*255 {
				b++
			}
			if math.Abs(b/255-float64(orig.X[j])) > p.Eps {
				return nil, fmt.Errorf("protect: image %d, value %d: the original %v is not a multiple of 1/255, so IDX bytes cannot keep it within ε = %.4g: write an .npz instead", j/d.SampleSize(), j%d.SampleSize(), orig.X[j], p.Eps)
			}
		}
		img.Data[j] = byte(min(max(b, 0), 255))
	}
	lab := &data.IDX{Name: paths[1], Dims: []int{d.Len()}, Data: make([]byte, d.Len())}
	for i, y := range d.Y {
		if y > 255 {
			return nil, fmt.Errorf("protect: label %d of image %d does not fit an IDX byte: write an .npz instead", y, i)
		}
		lab.Data[i] = byte(y)
	}
	for _, x := range []*data.IDX{img, lab} {
		if err := atomicfile.Write(x.Name, 0o644, func(w io.Writer) error { return data.WriteIDX(w, x) }); err != nil {
			return nil, err
		}
	}
	return paths, nil
}

// Run is "trustml protect": it loads the training split of c.Data (its
// first c.N images), protects it with [Protect], writes it to c.Out with
// [Write] and, with c.Eval, trains fresh models on the protected and the
// clean set and evaluates them on the test split. An existing c.Out is
// refused before any work unless c.Force is set.
func Run(ctx context.Context, c *Config, rep progress.Reporter) (*Result, error) {
	if err := c.Settings.Validate(); err != nil {
		return nil, err
	}
	if c.N < 0 {
		return nil, fmt.Errorf("protect: --n %d, want ≥ 0", c.N)
	}
	if _, err := checkOut(c.Out, c.Force); err != nil {
		return nil, err
	}
	d, err := data.Open(c.Data, data.Train, c.DataDir)
	if err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	if c.N > d.Len() {
		return nil, fmt.Errorf("protect: --n %d, but %s has %d training images", c.N, d.Name, d.Len())
	}
	if c.N > 0 {
		d = d.Head(c.N)
	}
	var test *data.Dataset
	if c.Eval {
		tn := c.TestData
		if tn == "" {
			tn = c.Data
		}
		if test, err = data.Open(tn, data.Test, c.DataDir); err != nil {
			return nil, fmt.Errorf("protect: --test-data: %w", err)
		}
	}
	p, err := Protect(ctx, d, c.Settings, rep)
	if err != nil {
		return nil, err
	}
	r := &Result{Protected: *p, DataName: d.Name}
	if r.Out, err = Write(c.Out, p, d, c.Force); err != nil {
		return nil, err
	}
	if c.Eval {
		tc := TrainConfig{Arch: c.Arch, Epochs: c.Epochs, Batch: c.Batch, LR: c.LR, Seed: c.Seed}
		r.TestData = test.Name
		for _, x := range []struct {
			d   *data.Dataset
			dst **metrics.Classification
		}{{d, &r.CleanTest}, {p.Data, &r.ProtectedTest}} {
			m, err := TrainEval(ctx, x.d, nil, test, tc, rep)
			if err != nil {
				return nil, err
			}
			*x.dst = &m
		}
	}
	return r, nil
}

// WriteText prints what was protected and written, the measured largest
// change, the method's details and, with --eval, the test accuracies.
func (r *Result) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "protected %d images of %s with %s", r.Images, r.DataName, r.Method)
	if r.Eps > 0 {
		fmt.Fprintf(w, " at L∞ ε = %.4g (%.3g/255)", r.Eps, 255*r.Eps)
	}
	fmt.Fprintf(w, " in %.0fs: largest pixel change %.4g\n", r.Seconds, r.MaxChange)
	switch {
	case len(r.Pixels) > 0:
		fmt.Fprintln(w, "one-pixel shortcut per class (row, col, colour):")
		for _, p := range r.Pixels {
			fmt.Fprintf(w, "  class %d: (%d, %d) %v, score %.4g\n", p.Class, p.Row, p.Col, p.Color, p.Score)
		}
	case len(r.Checkpoints) > 0:
		fmt.Fprintf(w, "self-ensemble of epochs %v; the last checkpoint predicts the target class (y+K/2) mod K on %.2f%% of the protected images\n", r.Checkpoints, 100*r.TargetRate)
	case r.Rounds > 0:
		fmt.Fprintf(w, "%d min-min round(s); the generator's accuracy on the noisy data: %.2f%%\n", r.Rounds, 100*r.NoisyAccuracy)
	}
	fmt.Fprintf(w, "wrote %s\n", strings.Join(r.Out, ", "))
	if r.CleanTest == nil || r.ProtectedTest == nil {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "trained on\ttest data\tn\taccuracy\n")
	fmt.Fprintf(tw, "clean\t%s\t%d\t%.2f%%\n", r.TestData, r.CleanTest.N, 100*r.CleanTest.Accuracy)
	fmt.Fprintf(tw, "protected (%s)\t%s\t%d\t%.2f%%\n", r.Method, r.TestData, r.ProtectedTest.N, 100*r.ProtectedTest.Accuracy)
	return tw.Flush()
}
