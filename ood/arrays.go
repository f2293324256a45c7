package ood

import (
	"archive/zip"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/model"
)

// Arrays are precomputed outputs of a classifier for one set of samples:
// penultimate features (N×D), logits (N×K) and class labels (N), any of
// them absent (nil) but not all. Detectors run on them as on a model's
// outputs ([Arrays.Inputs], [Arrays.Model]): the feature detectors
// (Mahalanobis, KNN, KPCA) need Features, the logit detectors (MSP,
// MaxLogit, Energy) need Logits; Mahalanobis takes its class means from
// Labels when given, else from the logits' predicted classes, and KPCA with
// Nyström's energy landmarks needs the logits too. ODIN and gradknn need
// the model itself and ViM its last layer, so they cannot run on arrays.
//
// Features and logits are held as float32, the type models compute them
// in; a float64 file is rounded once on reading.
type Arrays struct {
	// Name names the set in messages: its features file, else its logits
	// file.
	Name             string
	N, D, K          int
	Features, Logits []float32
	Labels           []int
}

// ArrayFiles names the files holding one set's [Arrays], for [LoadArrays].
// Each is a .npy file, or an .npz member given as "FILE.npz:KEY"; for an
// .npz without ":KEY" the member named "features", "logits" or "labels"
// (after the field) is read, or the only member. Empty fields are absent.
type ArrayFiles struct {
	Features string `flag:"features" help:"precomputed penultimate features, N×D (.npy; .npz as FILE.npz:KEY), instead of a model"`
	Logits   string `flag:"logits" help:"precomputed logits, N×K (.npy; .npz as FILE.npz:KEY)"`
	Labels   string `flag:"labels" help:"class labels, N (training arrays: Mahalanobis's class means, default the predicted classes)"`
}

// IsZero reports whether no file is named.
func (f ArrayFiles) IsZero() bool { return f == ArrayFiles{} }

// LoadArrays reads the arrays f names and checks their shapes: features
// N×D, logits N×K with K ≥ 2 and labels of N whole numbers in [0, K) (in
// [0, max] without logits), the same N for all. Errors name the file and
// the shape.
func LoadArrays(f ArrayFiles) (*Arrays, error) {
	if f.IsZero() {
		return nil, fmt.Errorf("ood: arrays: no features, logits or labels file")
	}
	if f.Features == "" && f.Logits == "" {
		return nil, fmt.Errorf("ood: arrays: labels (%s) without features or logits", f.Labels)
	}
	cache := map[string]map[string]*data.Array{}
	a := &Arrays{}
	var err error
	var rows []string // "file (shape)" of each array read, for messages
	if f.Features != "" {
		x, err := readArray(f.Features, "features", cache)
		if err != nil {
			return nil, err
		}
		if len(x.Shape) != 2 || x.Shape[0] < 1 || x.Shape[1] < 1 {
			return nil, fmt.Errorf("ood: features %s: shape %v, want (samples, features)", x.Name, x.Shape)
		}
		a.Name, a.N, a.D, a.Features = x.Name, x.Shape[0], x.Shape[1], x.Float32()
		rows = append(rows, fmt.Sprintf("features %s has %d rows (shape %v)", x.Name, x.Shape[0], x.Shape))
	}
	if f.Logits != "" {
		x, err := readArray(f.Logits, "logits", cache)
		if err != nil {
			return nil, err
		}
		if len(x.Shape) != 2 || x.Shape[0] < 1 || x.Shape[1] < 2 {
			return nil, fmt.Errorf("ood: logits %s: shape %v, want (samples, classes) with at least 2 classes", x.Name, x.Shape)
		}
		if a.Name == "" {
			a.Name, a.N = x.Name, x.Shape[0]
		}
		a.K, a.Logits = x.Shape[1], x.Float32()
		rows = append(rows, fmt.Sprintf("logits %s has %d rows (shape %v)", x.Name, x.Shape[0], x.Shape))
		if x.Shape[0] != a.N {
			return nil, fmt.Errorf("%w: %s: one row per sample in every file", model.ErrShape, strings.Join(rows, ", "))
		}
	}
	if f.Labels != "" {
		x, err := readArray(f.Labels, "labels", cache)
		if err != nil {
			return nil, err
		}
		if len(x.Shape) != 1 && !(len(x.Shape) == 2 && x.Shape[1] == 1) {
			return nil, fmt.Errorf("ood: labels %s: shape %v, want (samples,)", x.Name, x.Shape)
		}
		rows = append(rows, fmt.Sprintf("labels %s has %d rows (shape %v)", x.Name, x.Shape[0], x.Shape))
		if x.Shape[0] != a.N {
			return nil, fmt.Errorf("%w: %s: one row per sample in every file", model.ErrShape, strings.Join(rows, ", "))
		}
		a.Labels = make([]int, a.N)
		for i := range a.Labels {
			v := x.At(i)
			if k := float64(cmp.Or(a.K, 1<<20)); v != math.Trunc(v) || v < 0 || v >= k {
				return nil, fmt.Errorf("ood: labels %s: value %v of sample %d is not a class index in [0, %v)", x.Name, v, i, k)
			}
			a.Labels[i] = int(v)
		}
		if a.K == 0 {
			for _, c := range a.Labels {
				a.K = max(a.K, c+1)
			}
		}
	}
	if err = a.check(); err != nil {
		return nil, err
	}
	return a, nil
}

// check verifies the lengths and finiteness of the arrays.
func (a *Arrays) check() error {
	if a.N < 1 || (a.Features == nil && a.Logits == nil) {
		return fmt.Errorf("ood: arrays %s: no samples", a.Name)
	}
	if a.Features != nil {
		if a.D < 1 || len(a.Features) != a.N*a.D {
			return fmt.Errorf("%w: arrays %s: %d feature values for %d×%d", model.ErrShape, a.Name, len(a.Features), a.N, a.D)
		}
		if err := checkFinite("features ("+a.Name+")", a.Features, a.D); err != nil {
			return err
		}
	}
	if a.Logits != nil {
		if a.K < 2 || len(a.Logits) != a.N*a.K {
			return fmt.Errorf("%w: arrays %s: %d logit values for %d×%d", model.ErrShape, a.Name, len(a.Logits), a.N, a.K)
		}
		if err := checkFinite("logits ("+a.Name+")", a.Logits, a.K); err != nil {
			return err
		}
	}
	if a.Labels != nil && len(a.Labels) != a.N {
		return fmt.Errorf("%w: arrays %s: %d labels for %d samples", model.ErrShape, a.Name, len(a.Labels), a.N)
	}
	return nil
}

// readArray reads spec ("FILE.npy", "FILE.npz" or "FILE.npz:KEY") for the
// role ("features", "logits", "labels"), reading each .npz once per cache.
func readArray(spec, role string, cache map[string]map[string]*data.Array) (*data.Array, error) {
	path, key := spec, ""
	if i := strings.LastIndex(spec, ":"); i > 0 && strings.HasSuffix(strings.ToLower(spec[:i]), ".npz") {
		path, key = spec[:i], spec[i+1:]
	}
	if !strings.HasSuffix(strings.ToLower(path), ".npz") {
		a, err := data.ReadNPYFile(path)
		if err != nil {
			return nil, fmt.Errorf("ood: %s: %w", role, err)
		}
		return a, nil
	}
	m, ok := cache[path]
	if !ok {
		var err error
		if m, err = data.ReadNPZ(path); err != nil {
			return nil, fmt.Errorf("ood: %s: %w", role, err)
		}
		cache[path] = m
	}
	if key == "" {
		key = role
		if _, ok := m[role]; !ok && len(m) == 1 {
			for k := range m {
				key = k
			}
		}
	}
	a, ok := m[key]
	if !ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		return nil, fmt.Errorf("ood: %s: %s has no member %q (members: %s); name one as %s:KEY", role, path, key, strings.Join(sortedStrings(keys), ", "), path)
	}
	return a, nil
}

func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}

// Inputs returns the arrays as detector inputs, for [Arrays.Model].
func (a *Arrays) Inputs() *Inputs {
	return &Inputs{Y: a.Labels, logits: a.Logits, feats: a.Features, name: a.Name}
}

// Model returns the classifier that detectors see with [Arrays.Inputs]:
// it has a's number of classes and feature dimension and no inputs, so a
// detector that needs more than the arrays fails with an error that says so.
func (a *Arrays) Model() model.Classifier { return arrayModel{k: a.K, d: a.D} }

// arrayModel stands for the model that produced precomputed arrays.
type arrayModel struct{ k, d int }

var _ model.FeatureExtractor = arrayModel{}

func (arrayModel) InputShape() []int { return nil }
func (m arrayModel) NumClasses() int { return m.k }
func (m arrayModel) FeatureDim() int { return m.d }
func (arrayModel) String() string    { return "precomputed arrays" }
func (arrayModel) Logits(context.Context, []float32, []float32) error {
	return errNoModel
}
func (arrayModel) Features(context.Context, []float32, []float32) error {
	return errNoModel
}

var errNoModel = fmt.Errorf("ood: precomputed arrays: there is no model to run on new inputs")

// arraysOnly lists detectors that cannot run on precomputed arrays, and why.
var arraysOnly = map[string]string{
	"odin":    "it perturbs the inputs with the model's input gradients",
	"gradknn": "it needs the model's parameter gradients",
	"vim":     "it needs the model's last layer (weights and bias)",
}

// checkArrayDetector returns an error for a detector that needs the model.
func checkArrayDetector(name string) error {
	if why, ok := arraysOnly[name]; ok {
		return fmt.Errorf("ood: %s cannot run on precomputed features and logits: %s; give a model instead", name, why)
	}
	return nil
}

// ExtractArrays runs m on the inputs x (laid out as package model says)
// and returns its features (if m is a [model.FeatureExtractor]) and logits,
// with the labels y (optional). [Arrays.Save] writes them.
func ExtractArrays(ctx context.Context, m model.Classifier, x []float32, y []int) (*Arrays, error) {
	in := NewInputs(x, y)
	lg, err := in.Logits(ctx, m)
	if err != nil {
		return nil, err
	}
	a := &Arrays{K: m.NumClasses(), Logits: lg, Labels: y}
	a.N = len(lg) / a.K
	if _, ok := m.(model.FeatureExtractor); ok {
		if a.Features, a.D, err = in.Features(ctx, m); err != nil {
			return nil, err
		}
	}
	if y != nil && len(y) != a.N {
		return nil, fmt.Errorf("%w: %d labels for %d inputs", model.ErrShape, len(y), a.N)
	}
	return a, a.check()
}

// Save writes the arrays to path as an .npz archive with the members
// "features" (float32 N×D), "logits" (float32 N×K) and "labels" (int64 N),
// those present, atomically; [LoadArrays] reads it back exactly with
// ArrayFiles{path, path, path}.
func (a *Arrays) Save(path string) error {
	err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
		z := zip.NewWriter(w)
		if a.Features != nil {
			if err := writeNPYMember(z, "features", []int{a.N, a.D}, a.Features, nil); err != nil {
				return err
			}
		}
		if a.Logits != nil {
			if err := writeNPYMember(z, "logits", []int{a.N, a.K}, a.Logits, nil); err != nil {
				return err
			}
		}
		if a.Labels != nil {
			if err := writeNPYMember(z, "labels", []int{a.N}, nil, a.Labels); err != nil {
				return err
			}
		}
		return z.Close()
	})
	if err != nil {
		return fmt.Errorf("ood: save arrays: %w", err)
	}
	return nil
}

// writeNPYMember writes name.npy into z: f32 as '<f4' or ints as '<i8'.
func writeNPYMember(z *zip.Writer, name string, shape []int, f32 []float32, ints []int) error {
	w, err := z.Create(name + ".npy")
	if err != nil {
		return err
	}
	descr, vals := "<f4", len(f32)
	if f32 == nil {
		descr, vals = "<i8", len(ints)
	}
	if err := writeNPYHeader(w, descr, shape); err != nil {
		return err
	}
	var buf []byte
	if f32 != nil {
		buf = make([]byte, 4*vals)
		for i, v := range f32 {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
	} else {
		buf = make([]byte, 8*vals)
		for i, v := range ints {
			binary.LittleEndian.PutUint64(buf[8*i:], uint64(int64(v)))
		}
	}
	_, err = w.Write(buf)
	return err
}

// writeNPYHeader writes an .npy version 1.0 header, padded so that the
// data start at a multiple of 64 bytes.
func writeNPYHeader(w io.Writer, descr string, shape []int) error {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = fmt.Sprint(s)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	pad := 64 - (10+len(h)+1)%64
	if pad == 64 {
		pad = 0
	}
	h += strings.Repeat(" ", pad) + "\n"
	head := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	if _, err := w.Write(head); err != nil {
		return err
	}
	_, err := io.WriteString(w, h)
	return err
}
