package kernel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/trustml/trustml/internal/atomicfile"
)

// Model is a fitted kernel model that can be saved with [Save] and read
// back with [Load]: *KRR, *LSSVMRegressor, *LSSVMClassifier, *AsKLS,
// *LABRBF, *Nystrom, *KPCA, *Pipeline (which holds one of the others) and
// *PCAPipeline (which holds a *KPCA).
type Model interface {
	// ModelKind names the model type in files ("krr", "askls", ...).
	ModelKind() string
	marshalModel() (any, error)
	unmarshalModel(json.RawMessage) error
}

// File format: one JSON object
//
//	{"format": "trustml-kernel-model", "version": 1, "kind": "krr", "model": {...}}
//
// Floats are written with Go's shortest round-trip formatting, so a loaded
// model predicts bit for bit as the saved one.
const (
	fileFormat  = "trustml-kernel-model"
	fileVersion = 1
)

// ErrFormat reports a file that is not a kernel model this build can read
// (wrong format, newer version, corrupt or inconsistent content).
var ErrFormat = errors.New("kernel: bad model file")

type envelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	Kind    string          `json:"kind"`
	Model   json.RawMessage `json:"model"`
}

// Save writes the fitted model m to w.
func Save(w io.Writer, m Model) error {
	if m == nil {
		return fmt.Errorf("kernel: Save of a nil model: %w", ErrParam)
	}
	body, err := m.marshalModel()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("kernel: encoding %s model: %w", m.ModelKind(), err)
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(envelope{Format: fileFormat, Version: fileVersion, Kind: m.ModelKind(), Model: raw}); err != nil {
		return fmt.Errorf("kernel: writing %s model: %w", m.ModelKind(), err)
	}
	return bw.Flush()
}

// legacyCLIFormat is the format of the files "trustml kernel fit" wrote
// before it saved a [Pipeline]: the pipeline's fields at the top level.
// [Load] reads them as a *Pipeline.
const legacyCLIFormat = "trustml-kernel-cli-model"

// Load reads a model written by [Save]. Use a type switch or assertion on
// the result (for example m.(*kernel.KRR)), or [AsPipeline] to predict
// data sets with any model.
func Load(r io.Reader) (Model, error) {
	var raw json.RawMessage
	dec := json.NewDecoder(bufio.NewReader(r))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("kernel: reading model: not JSON: %w: %w", err, ErrFormat)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, fmt.Errorf("kernel: reading model: not a model file: %w: %w", err, ErrFormat)
	}
	if env.Format == legacyCLIFormat && env.Version == 1 {
		env = envelope{Format: fileFormat, Version: 1, Kind: "pipeline", Model: raw}
	}
	if env.Format != fileFormat {
		return nil, fmt.Errorf("kernel: format %q is not %q: %w", env.Format, fileFormat, ErrFormat)
	}
	if env.Version < 1 || env.Version > fileVersion {
		return nil, fmt.Errorf("kernel: model file version %d, this build reads versions 1..%d: %w", env.Version, fileVersion, ErrFormat)
	}
	var m Model
	switch env.Kind {
	case "krr":
		m = &KRR{}
	case "lssvm-regressor":
		m = &LSSVMRegressor{}
	case "lssvm-classifier":
		m = &LSSVMClassifier{}
	case "askls":
		m = &AsKLS{}
	case "labrbf":
		m = &LABRBF{}
	case "nystrom":
		m = &Nystrom{}
	case "kpca":
		m = &KPCA{}
	case "tlssvm-mtl-regressor", "tsvm-mtl-regressor":
		m = &TensorMTLRegressor{}
	case "tlssvm-mtl-classifier", "tsvm-mtl-classifier":
		m = &TensorMTLClassifier{}
	case "pipeline":
		m = &Pipeline{}
	case "kpca-pipeline":
		m = &PCAPipeline{}
	default:
		return nil, fmt.Errorf("kernel: unknown model kind %q: %w", env.Kind, ErrFormat)
	}
	if len(env.Model) == 0 {
		return nil, fmt.Errorf("kernel: %s model body missing: %w", env.Kind, ErrFormat)
	}
	if err := m.unmarshalModel(env.Model); err != nil {
		if errors.Is(err, ErrFormat) {
			return nil, err
		}
		return nil, fmt.Errorf("kernel: %s model: %v: %w", env.Kind, err, ErrFormat)
	}
	return m, nil
}

// SaveFile writes the model to path atomically: an existing file at path is
// replaced only once the new one is complete on disk.
func SaveFile(path string, m Model) error {
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return Save(w, m) }); err != nil {
		return fmt.Errorf("kernel: saving model: %w", err)
	}
	return nil
}

// LoadFile reads a model saved by [SaveFile] or [Save].
func LoadFile(path string) (Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel: loading model: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// trainedState is the serialized form of [trained].
type trainedState struct {
	Kernel *Spec   `json:"kernel,omitempty"`
	X      *Matrix `json:"x,omitempty"`
	N      int     `json:"n"`
}

func (t *trained) state() (trainedState, error) {
	s := trainedState{N: t.n}
	if t.x != nil {
		spec, err := SpecOf(t.kern)
		if err != nil {
			return s, err
		}
		s.Kernel = &spec
		s.X = NewMatrix(t.x)
	}
	return s, nil
}

func (s trainedState) restore() (trained, Kernel, error) {
	if s.N < 1 {
		return trained{}, nil, fmt.Errorf("training-set size %d: %w", s.N, ErrFormat)
	}
	if s.X == nil {
		return trained{n: s.N}, nil, nil
	}
	if s.Kernel == nil {
		return trained{}, nil, fmt.Errorf("training inputs without a kernel: %w", ErrFormat)
	}
	k, err := NewKernel(*s.Kernel)
	if err != nil {
		return trained{}, nil, err
	}
	x, err := s.X.Dense()
	if err != nil {
		return trained{}, nil, err
	}
	n, d := x.Dims()
	if n != s.N {
		return trained{}, nil, fmt.Errorf("%d training rows, header says %d: %w", n, s.N, ErrFormat)
	}
	if dk, ok := k.(dimensioned); ok && dk.Dim() > 0 && dk.Dim() != d {
		return trained{}, nil, fmt.Errorf("kernel dimension %d, data dimension %d: %w", dk.Dim(), d, ErrFormat)
	}
	return trained{kern: k, x: x, n: n, d: d}, k, nil
}

// decodeState unmarshals a model's saved state into s and restores the
// trained set ts (a field of s).
func decodeState(raw json.RawMessage, s any, ts *trainedState) (trained, Kernel, error) {
	if err := json.Unmarshal(raw, s); err != nil {
		return trained{}, nil, err
	}
	return ts.restore()
}

func finiteAll(name string, v []float64, want int) error {
	if len(v) != want {
		return fmt.Errorf("%s has %d values, want %d: %w", name, len(v), want, ErrFormat)
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s[%d] is %v: %w", name, i, x, ErrFormat)
		}
	}
	return nil
}

func checkClasses(classes []int, T int) error {
	if len(classes) < 2 {
		return fmt.Errorf("%d classes: %w", len(classes), ErrFormat)
	}
	want := len(classes)
	if want == 2 {
		want = 1
	}
	if T != want {
		return fmt.Errorf("%d machines for %d classes: %w", T, len(classes), ErrFormat)
	}
	for i := 1; i < len(classes); i++ {
		if classes[i] <= classes[i-1] {
			return fmt.Errorf("classes not sorted and distinct: %w", ErrFormat)
		}
	}
	return nil
}

// ---- KRR ----

type krrState struct {
	Lambda   float64      `json:"lambda"`
	ScaleByN bool         `json:"scale_by_n,omitempty"`
	Trained  trainedState `json:"trained"`
	Alpha    []float64    `json:"alpha"`
	Info     SolveInfo    `json:"info"`
}

// ModelKind returns "krr".
func (m *KRR) ModelKind() string { return "krr" }

func (m *KRR) marshalModel() (any, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	ts, err := m.t.state()
	if err != nil {
		return nil, err
	}
	return krrState{Lambda: m.Lambda, ScaleByN: m.ScaleByN, Trained: ts, Alpha: m.alpha, Info: m.info}, nil
}

func (m *KRR) unmarshalModel(raw json.RawMessage) error {
	var s krrState
	t, k, err := decodeState(raw, &s, &s.Trained)
	if err != nil {
		return err
	}
	if err := finiteAll("alpha", s.Alpha, t.n); err != nil {
		return err
	}
	*m = KRR{Kernel: k, Lambda: s.Lambda, ScaleByN: s.ScaleByN, t: t, alpha: s.Alpha, info: s.Info}
	return nil
}

// ---- LS-SVM ----

type lssvrState struct {
	Gamma   float64      `json:"gamma"`
	Trained trainedState `json:"trained"`
	Alpha   []float64    `json:"alpha"`
	Bias    float64      `json:"bias"`
	Info    SolveInfo    `json:"info"`
}

// ModelKind returns "lssvm-regressor".
func (m *LSSVMRegressor) ModelKind() string { return "lssvm-regressor" }

func (m *LSSVMRegressor) marshalModel() (any, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	ts, err := m.t.state()
	if err != nil {
		return nil, err
	}
	return lssvrState{Gamma: m.Gamma, Trained: ts, Alpha: m.alpha, Bias: m.bias, Info: m.info}, nil
}

func (m *LSSVMRegressor) unmarshalModel(raw json.RawMessage) error {
	var s lssvrState
	t, k, err := decodeState(raw, &s, &s.Trained)
	if err != nil {
		return err
	}
	if err := finiteAll("alpha", s.Alpha, t.n); err != nil {
		return err
	}
	*m = LSSVMRegressor{Kernel: k, Gamma: s.Gamma, t: t, alpha: s.Alpha, bias: s.Bias, info: s.Info}
	return nil
}

type lssvcState struct {
	Gamma    float64      `json:"gamma"`
	Trained  trainedState `json:"trained"`
	Classes  []int        `json:"classes"`
	Machines int          `json:"machines"`
	Coef     []float64    `json:"coef"`
	Bias     []float64    `json:"bias"`
	Info     SolveInfo    `json:"info"`
}

// ModelKind returns "lssvm-classifier".
func (m *LSSVMClassifier) ModelKind() string { return "lssvm-classifier" }

func (m *LSSVMClassifier) marshalModel() (any, error) {
	if m.coef == nil {
		return nil, ErrNotFitted
	}
	ts, err := m.t.state()
	if err != nil {
		return nil, err
	}
	return lssvcState{Gamma: m.Gamma, Trained: ts, Classes: m.classes, Machines: len(m.bias), Coef: m.coef, Bias: m.bias, Info: m.info}, nil
}

func (m *LSSVMClassifier) unmarshalModel(raw json.RawMessage) error {
	var s lssvcState
	t, k, err := decodeState(raw, &s, &s.Trained)
	if err != nil {
		return err
	}
	if err := checkClasses(s.Classes, s.Machines); err != nil {
		return err
	}
	if err := finiteAll("coef", s.Coef, t.n*s.Machines); err != nil {
		return err
	}
	if err := finiteAll("bias", s.Bias, s.Machines); err != nil {
		return err
	}
	*m = LSSVMClassifier{Kernel: k, Gamma: s.Gamma, t: t, classes: s.Classes, coef: s.Coef, bias: s.Bias, info: s.Info}
	return nil
}

// ---- AsK-LS ----

type asklsState struct {
	Gamma          float64      `json:"gamma"`
	RCondMin       float64      `json:"rcond_min,omitempty"`
	FallbackLambda float64      `json:"fallback_lambda,omitempty"`
	Trained        trainedState `json:"trained"`
	Classes        []int        `json:"classes"`
	Machines       int          `json:"machines"`
	Alpha          []float64    `json:"alpha,omitempty"`
	Beta           []float64    `json:"beta,omitempty"`
	B1             []float64    `json:"b1"`
	B2             []float64    `json:"b2"`
	Features       bool         `json:"features,omitempty"`
	Dim            int          `json:"dim,omitempty"`
	Ws             []float64    `json:"ws,omitempty"`
	Wt             []float64    `json:"wt,omitempty"`
	Info           SolveInfo    `json:"info"`
}

// ModelKind returns "askls".
func (m *AsKLS) ModelKind() string { return "askls" }

func (m *AsKLS) marshalModel() (any, error) {
	if m.b1 == nil {
		return nil, ErrNotFitted
	}
	ts, err := m.t.state()
	if err != nil {
		return nil, err
	}
	return asklsState{Gamma: m.Gamma, RCondMin: m.RCondMin, FallbackLambda: m.FallbackLambda, Trained: ts,
		Classes: m.classes, Machines: m.T, Alpha: m.alpha, Beta: m.beta, B1: m.b1, B2: m.b2,
		Features: m.features, Dim: m.dim, Ws: m.ws, Wt: m.wt, Info: m.info}, nil
}

func (m *AsKLS) unmarshalModel(raw json.RawMessage) error {
	var s asklsState
	t, k, err := decodeState(raw, &s, &s.Trained)
	if err != nil {
		return err
	}
	T := s.Machines
	if err := checkClasses(s.Classes, T); err != nil {
		return err
	}
	if err := finiteAll("b1", s.B1, T); err != nil {
		return err
	}
	if err := finiteAll("b2", s.B2, T); err != nil {
		return err
	}
	if s.Features {
		if s.Dim < 1 {
			return fmt.Errorf("feature dimension %d: %w", s.Dim, ErrFormat)
		}
		if err := finiteAll("ws", s.Ws, s.Dim*T); err != nil {
			return err
		}
		if err := finiteAll("wt", s.Wt, s.Dim*T); err != nil {
			return err
		}
	} else {
		if err := finiteAll("alpha", s.Alpha, t.n*T); err != nil {
			return err
		}
		if err := finiteAll("beta", s.Beta, t.n*T); err != nil {
			return err
		}
	}
	*m = AsKLS{Kernel: k, Gamma: s.Gamma, RCondMin: s.RCondMin, FallbackLambda: s.FallbackLambda, t: t,
		classes: s.Classes, T: T, alpha: s.Alpha, beta: s.Beta, b1: s.B1, b2: s.B2,
		features: s.Features, dim: s.Dim, ws: s.Ws, wt: s.Wt, info: s.Info}
	return nil
}

// ---- LAB RBF ----

type labrbfState struct {
	Shape    LABShape  `json:"shape"`
	Lambda   float64   `json:"lambda"`
	D        int       `json:"d"`
	SV       *Matrix   `json:"sv"`
	Theta    *Matrix   `json:"theta"`
	Alpha    []float64 `json:"alpha"`
	B        float64   `json:"b"`
	NoScale  bool      `json:"no_scale,omitempty"`
	NoClip   bool      `json:"no_clip,omitempty"`
	XLo      []float64 `json:"x_lo,omitempty"`
	XScale   []float64 `json:"x_scale,omitempty"`
	YLo      float64   `json:"y_lo"`
	YHi      float64   `json:"y_hi"`
	YScale   float64   `json:"y_scale"`
	History  []float64 `json:"history,omitempty"`
	Info     SolveInfo `json:"info"`
	Settings struct {
		Ridgeless  bool    `json:"ridgeless,omitempty"`
		InitWeight float64 `json:"init_weight,omitempty"`
		LR         float64 `json:"lr,omitempty"`
		Batch      int     `json:"batch,omitempty"`
		Iters      []int   `json:"iters,omitempty"`
		MaxSV      int     `json:"max_sv,omitempty"`
		Stages     int     `json:"stages,omitempty"`
		ClipNorm   float64 `json:"clip_norm,omitempty"`
	} `json:"settings"`
}

// ModelKind returns "labrbf".
func (m *LABRBF) ModelKind() string { return "labrbf" }

func (m *LABRBF) marshalModel() (any, error) {
	if m.alpha == nil {
		return nil, ErrNotFitted
	}
	s := labrbfState{Shape: m.shape, Lambda: m.lambda, D: m.d, SV: NewMatrix(m.sv), Theta: NewMatrix(m.theta),
		Alpha: m.alpha, B: m.b, NoClip: m.fittedNoClipped, YLo: m.yLo, YHi: m.yHi, YScale: m.yScale,
		History: m.history, Info: m.info}
	if math.IsNaN(m.xScale[0]) {
		s.NoScale = true
	} else {
		s.XLo, s.XScale = m.xLo, m.xScale
	}
	s.Settings.Ridgeless, s.Settings.InitWeight, s.Settings.LR = m.Ridgeless, m.InitWeight, m.LR
	s.Settings.Batch, s.Settings.Iters, s.Settings.MaxSV = m.Batch, m.Iters, m.MaxSV
	s.Settings.Stages, s.Settings.ClipNorm = m.Stages, m.ClipNorm
	return s, nil
}

func (m *LABRBF) unmarshalModel(raw json.RawMessage) error {
	var s labrbfState
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if !s.Shape.valid() {
		return fmt.Errorf("shape %q: %w", s.Shape, ErrFormat)
	}
	sv, err := s.SV.Dense()
	if err != nil {
		return err
	}
	th, err := s.Theta.Dense()
	if err != nil {
		return err
	}
	if sv == nil || th == nil {
		return fmt.Errorf("support set missing: %w", ErrFormat)
	}
	N, d := sv.Dims()
	if r, c := th.Dims(); r != N || c != d || d != s.D {
		return fmt.Errorf("support set %d×%d, theta %d×%d, d %d: %w", N, d, r, c, s.D, ErrFormat)
	}
	if err := finiteAll("alpha", s.Alpha, N); err != nil {
		return err
	}
	xLo, xScale := s.XLo, s.XScale
	if s.NoScale {
		xLo, xScale = make([]float64, d), make([]float64, d)
		for i := range xScale {
			xScale[i] = math.NaN()
		}
	} else {
		if err := finiteAll("x_lo", xLo, d); err != nil {
			return err
		}
		if err := finiteAll("x_scale", xScale, d); err != nil {
			return err
		}
	}
	*m = LABRBF{Lambda: s.Lambda, Ridgeless: s.Settings.Ridgeless, Shape: s.Shape, InitWeight: s.Settings.InitWeight,
		LR: s.Settings.LR, Batch: s.Settings.Batch, Iters: s.Settings.Iters, MaxSV: s.Settings.MaxSV,
		Stages: s.Settings.Stages, ClipNorm: s.Settings.ClipNorm, NoScale: s.NoScale, NoClip: s.NoClip,
		d: d, sv: sv, theta: th, alpha: s.Alpha, b: s.B, xLo: xLo, xScale: xScale,
		yLo: s.YLo, yHi: s.YHi, yScale: s.YScale, history: s.History, info: s.Info,
		shape: s.Shape, lambda: s.Lambda, fittedNoClipped: s.NoClip}
	return nil
}

// ---- Nyström ----

type nystromState struct {
	Components int          `json:"components"`
	Trained    trainedState `json:"trained"`
	Landmarks  []int        `json:"landmarks"`
	Norm       []float64    `json:"norm"`
}

// ModelKind returns "nystrom".
func (m *Nystrom) ModelKind() string { return "nystrom" }

func (m *Nystrom) marshalModel() (any, error) {
	if m.norm == nil {
		return nil, ErrNotFitted
	}
	ts, err := m.t.state()
	if err != nil {
		return nil, err
	}
	return nystromState{Components: m.Components, Trained: ts, Landmarks: m.idx, Norm: m.norm}, nil
}

func (m *Nystrom) unmarshalModel(raw json.RawMessage) error {
	var s nystromState
	t, k, err := decodeState(raw, &s, &s.Trained)
	if err != nil {
		return err
	}
	if t.x == nil || len(s.Landmarks) != t.n {
		return fmt.Errorf("%d landmark indices for %d landmarks: %w", len(s.Landmarks), t.n, ErrFormat)
	}
	if err := finiteAll("norm", s.Norm, t.n*t.n); err != nil {
		return err
	}
	*m = Nystrom{Kernel: k, Components: s.Components, t: t, idx: s.Landmarks, norm: s.Norm}
	return nil
}

// ---- KPCA ----

type kpcaState struct {
	Components  int          `json:"components"`
	Eigensolver string       `json:"eigensolver,omitempty"`
	Used        string       `json:"eigensolver_used,omitempty"`
	Trained     trainedState `json:"trained"`
	ColMean     []float64    `json:"col_mean"`
	Grand       float64      `json:"grand_mean"`
	Eigen       []float64    `json:"eigenvalues"`
	A           []float64    `json:"scaled_vectors"`
}

// ModelKind returns "kpca".
func (m *KPCA) ModelKind() string { return "kpca" }

func (m *KPCA) marshalModel() (any, error) {
	if m.a == nil {
		return nil, ErrNotFitted
	}
	ts, err := m.t.state()
	if err != nil {
		return nil, err
	}
	return kpcaState{Components: m.Components, Eigensolver: m.Eigensolver, Used: m.used, Trained: ts,
		ColMean: m.colMean, Grand: m.grand, Eigen: m.eig, A: m.a}, nil
}

func (m *KPCA) unmarshalModel(raw json.RawMessage) error {
	var s kpcaState
	t, k, err := decodeState(raw, &s, &s.Trained)
	if err != nil {
		return err
	}
	q := len(s.Eigen)
	if t.x == nil || q < 1 || q > t.n {
		return fmt.Errorf("%d components for %d training rows: %w", q, t.n, ErrFormat)
	}
	if err := finiteAll("col_mean", s.ColMean, t.n); err != nil {
		return err
	}
	if err := finiteAll("eigenvalues", s.Eigen, q); err != nil {
		return err
	}
	if err := finiteAll("scaled_vectors", s.A, t.n*q); err != nil {
		return err
	}
	*m = KPCA{Kernel: k, Components: s.Components, Eigensolver: s.Eigensolver, t: t, colMean: s.ColMean,
		grand: s.Grand, eig: s.Eigen, a: s.A, used: s.Used}
	return nil
}

// ---- Pipeline ----

// pipelineState is the saved form of a [Pipeline]; its field names are
// those of the legacy "trustml-kernel-cli-model" files.
type pipelineState struct {
	Method        string   `json:"method"`
	Kernel        string   `json:"kernel,omitempty"`
	Reg           float64  `json:"reg,omitempty"`
	Seed          uint64   `json:"seed,omitempty"`
	NoStandardize bool     `json:"no_standardize,omitempty"`
	Tasks         string   `json:"tasks,omitempty"`
	Regression    bool     `json:"regression"`
	Classes       []string `json:"classes,omitempty"`
	innerState
}

// innerState is what a saved pipeline (Pipeline, PCAPipeline) holds besides
// its settings: the standardization of its features and the model inside.
type innerState struct {
	Features  int             `json:"features"`
	Mean      []float64       `json:"mean,omitempty"`
	Std       []float64       `json:"std,omitempty"`
	TrainedOn string          `json:"trained_on"`
	Model     json.RawMessage `json:"model"`
}

// newInnerState saves m, the model inside a pipeline, with the pipeline's
// standardization.
func newInnerState(m Model, features int, mean, std []float64, trainedOn string) (innerState, error) {
	var buf bytes.Buffer
	if err := Save(&buf, m); err != nil {
		return innerState{}, err
	}
	return innerState{Features: features, Mean: mean, Std: std, TrainedOn: trainedOn, Model: bytes.TrimSpace(buf.Bytes())}, nil
}

// load checks the feature count and standardization (none, or finite
// means and positive finite deviations, one per feature) and loads the
// model inside.
func (s innerState) load() (Model, error) {
	if s.Features <= 0 {
		return nil, fmt.Errorf("feature count %d: %w", s.Features, ErrFormat)
	}
	if s.Mean != nil || s.Std != nil {
		if err := finiteAll("mean", s.Mean, s.Features); err != nil {
			return nil, err
		}
		if err := finiteAll("std", s.Std, s.Features); err != nil {
			return nil, err
		}
		for i, v := range s.Std {
			if !(v > 0) {
				return nil, fmt.Errorf("std[%d] is %v: %w", i, v, ErrFormat)
			}
		}
	}
	if len(s.Model) == 0 {
		return nil, fmt.Errorf("pipeline without a model: %w", ErrFormat)
	}
	return Load(bytes.NewReader(s.Model))
}

// ModelKind returns "pipeline".
func (p *Pipeline) ModelKind() string { return "pipeline" }

func (p *Pipeline) marshalModel() (any, error) {
	if p.Model == nil {
		return nil, ErrNotFitted
	}
	if _, nested := p.Model.(*Pipeline); nested {
		return nil, fmt.Errorf("kernel: a pipeline cannot hold a pipeline: %w", ErrParam)
	}
	in, err := newInnerState(p.Model, p.Features, p.Mean, p.Std, p.TrainedOn)
	return pipelineState{Method: p.Method, Kernel: p.Kernel, Reg: p.Reg, Seed: p.Seed, NoStandardize: p.NoStandardize,
		Tasks: p.Tasks, Regression: p.Regression, Classes: p.Classes, innerState: in}, err
}

func (p *Pipeline) unmarshalModel(raw json.RawMessage) error {
	var s pipelineState
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	m, err := s.load()
	if err != nil {
		return err
	}
	switch m.(type) {
	case *Pipeline:
		return fmt.Errorf("a pipeline inside a pipeline: %w", ErrFormat)
	case Regressor:
		if !s.Regression {
			return fmt.Errorf("a %s model in a classification pipeline: %w", m.ModelKind(), ErrFormat)
		}
	case Classifier:
		if s.Regression || len(s.Classes) < 2 {
			return fmt.Errorf("a %s model in a pipeline with %d class names (regression %v): %w", m.ModelKind(), len(s.Classes), s.Regression, ErrFormat)
		}
	default:
		return fmt.Errorf("a %s model does not predict: %w", m.ModelKind(), ErrFormat)
	}
	*p = Pipeline{Method: s.Method, Kernel: s.Kernel, Reg: s.Reg, Seed: s.Seed, NoStandardize: s.NoStandardize, Tasks: s.Tasks,
		Regression: s.Regression, Classes: s.Classes, Features: s.Features, Mean: s.Mean, Std: s.Std,
		TrainedOn: s.TrainedOn, Model: m}
	return nil
}
