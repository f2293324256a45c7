package ood

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/atomicfile"
	"github.com/trustml/trustml/kernel/features"
)

// DetectorFormat and DetectorVersion identify the files written by
// [SaveDetector]: a JSON object {"format", "version", "detector", "state"}
// whose float arrays are base64 strings of little-endian float64 values
// (exact, and a third the size of decimal text).
const (
	DetectorFormat  = "trustml-ood-detector"
	DetectorVersion = 1
)

// maxRFFValues bounds M×d of a loaded RFF map (the frequencies are
// regenerated from the seed, so the file does not bound them).
const maxRFFValues = 1 << 22

// maxDetectorFile bounds what [LoadDetector] reads (1 GiB).
const maxDetectorFile = 1 << 30

type savedDetector struct {
	Format   string          `json:"format"`
	Version  int             `json:"version"`
	Detector string          `json:"detector"`
	State    json.RawMessage `json:"state"`
}

// f64s is a float64 slice stored as base64 little-endian bytes.
type f64s []float64

func (v f64s) MarshalJSON() ([]byte, error) {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		putF64(b[8*i:], x)
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(b))
}

func putF64(b []byte, x float64) { binary.LittleEndian.PutUint64(b, math.Float64bits(x)) }

func (v *f64s) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	if len(b)%8 != 0 {
		return fmt.Errorf("%d bytes of float64 data, not a multiple of 8", len(b))
	}
	out := make([]float64, len(b)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			return fmt.Errorf("value %d is not finite", i)
		}
	}
	*v = out
	return nil
}

type tempState struct {
	T   float64 `json:"t,omitempty"`
	Eps float64 `json:"eps,omitempty"`
}

type mahalanobisState struct {
	K, D, R int
	W       f64s
	Means   f64s
}

type knnState struct {
	K, N, D int
	Train   f64s
}

type vimState struct {
	Dim, D, DP int
	Alpha      float64
	O, P       f64s
}

type kpcaState struct {
	Map, Landmarks string
	Gamma, Ratio   float64
	M              int
	Seed           uint64
	D, Dim, Q      int
	Landmark, Proj f64s
	Mean, U        f64s
	// RFFW (M×D) and RFFU (M) are the random-feature draw of cos-rff, saved
	// since files of version 1 may lack them (the draw is then
	// regenerated from Seed and Gamma).
	RFFW f64s `json:",omitempty"`
	RFFU f64s `json:",omitempty"`
}

type fusedState struct {
	KPCA  kpcaState
	Other savedDetector
}

// SaveDetector writes a fitted detector. All registered detectors but
// gradknn can be saved; an unfitted one is an error.
func SaveDetector(w io.Writer, d Detector) error {
	s, err := saveState(d)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	return enc.Encode(s)
}

func saveState(d Detector) (savedDetector, error) {
	var st any
	switch d := d.(type) {
	case *MSP:
		st = tempState{T: d.T}
	case *Energy:
		st = tempState{T: d.T}
	case *MaxLogit:
		st = tempState{}
	case *ODIN:
		st = tempState{T: d.T, Eps: d.Eps}
	case *Mahalanobis:
		if d.w == nil {
			return savedDetector{}, fmt.Errorf("%w: mahalanobis", ErrNotFitted)
		}
		st = mahalanobisState{K: d.k, D: d.d, R: d.r, W: d.w, Means: d.means}
	case *KNN:
		if d.train == nil {
			return savedDetector{}, fmt.Errorf("%w: knn", ErrNotFitted)
		}
		st = knnState{K: d.k(), N: d.n, D: d.d, Train: d.train}
	case *ViM:
		if d.p == nil {
			return savedDetector{}, fmt.Errorf("%w: vim", ErrNotFitted)
		}
		st = vimState{Dim: d.Dim, D: d.dim, DP: d.dp, Alpha: d.alpha, O: d.o, P: d.p}
	case *KPCA:
		ks, err := kpcaSave(d)
		if err != nil {
			return savedDetector{}, err
		}
		st = ks
	case *Fused:
		ks, err := kpcaSave(d.KPCA)
		if err != nil {
			return savedDetector{}, err
		}
		o, err := saveState(d.Other)
		if err != nil {
			return savedDetector{}, err
		}
		st = fusedState{KPCA: ks, Other: o}
	default:
		return savedDetector{}, fmt.Errorf("ood: saving detector %s (%T) is not supported", d.Name(), d)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return savedDetector{}, err
	}
	return savedDetector{Format: DetectorFormat, Version: DetectorVersion, Detector: d.Name(), State: raw}, nil
}

func kpcaSave(k *KPCA) (kpcaState, error) {
	if !k.fited {
		return kpcaState{}, fmt.Errorf("%w: %s", ErrNotFitted, k.Name())
	}
	gamma, m, r, err := k.settings()
	if err != nil {
		return kpcaState{}, err
	}
	st := kpcaState{Map: k.Map, Landmarks: k.Landmarks, Gamma: gamma, Ratio: r, M: m, Seed: k.Seed,
		D: k.d, Dim: k.dim, Q: k.q, Landmark: k.lmk, Proj: k.proj, Mean: k.mean, U: k.u}
	if k.rff != nil {
		st.RFFW, st.RFFU = k.rff.Frequencies().RawMatrix().Data, k.rff.Phases()
	}
	return st, nil
}

// SaveDetectorFile writes a fitted detector to path atomically: an
// existing file at path is replaced only once the new one is complete.
func SaveDetectorFile(path string, d Detector) error {
	if err := atomicfile.Write(path, 0o644, func(w io.Writer) error { return SaveDetector(w, d) }); err != nil {
		return fmt.Errorf("ood: save detector: %w", err)
	}
	return nil
}

// LoadDetectorFile reads a detector written by [SaveDetectorFile]; errors
// name the file.
func LoadDetectorFile(path string) (Detector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ood: load detector: %w", err)
	}
	defer f.Close()
	d, err := LoadDetector(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// LoadDetector reads a detector written by [SaveDetector] and checks that
// its state is consistent (sizes, finite values), so that a corrupt or
// hand-edited file gives an error, never a panic when scoring.
func LoadDetector(r io.Reader) (Detector, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxDetectorFile+1))
	if err != nil {
		return nil, fmt.Errorf("ood: load detector: %w", err)
	}
	if len(b) > maxDetectorFile {
		return nil, fmt.Errorf("ood: load detector: file larger than %d bytes", maxDetectorFile)
	}
	var s savedDetector
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("ood: load detector: not a detector file: %w", err)
	}
	return loadState(s)
}

func loadState(s savedDetector) (Detector, error) {
	if s.Format != DetectorFormat {
		return nil, fmt.Errorf("ood: load detector: format %q, want %q", s.Format, DetectorFormat)
	}
	if s.Version != DetectorVersion {
		return nil, fmt.Errorf("ood: load detector: version %d, this build reads version %d", s.Version, DetectorVersion)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("ood: load detector %s: corrupt state: %s", s.Detector, fmt.Sprintf(format, args...))
	}
	decode := func(v any) error {
		if err := json.Unmarshal(s.State, v); err != nil {
			return bad("%v", err)
		}
		return nil
	}
	switch s.Detector {
	case "msp", "energy", "maxlogit", "odin":
		var t tempState
		if err := decode(&t); err != nil {
			return nil, err
		}
		if t.T < 0 || t.Eps < 0 || math.IsNaN(t.T) || math.IsNaN(t.Eps) || math.IsInf(t.T, 0) || math.IsInf(t.Eps, 0) {
			return nil, bad("temperature %v, step %v", t.T, t.Eps)
		}
		switch s.Detector {
		case "msp":
			return &MSP{T: t.T}, nil
		case "energy":
			return &Energy{T: t.T}, nil
		case "maxlogit":
			return &MaxLogit{}, nil
		}
		return &ODIN{T: t.T, Eps: t.Eps}, nil
	case "mahalanobis":
		var st mahalanobisState
		if err := decode(&st); err != nil {
			return nil, err
		}
		if st.K < 1 || st.D < 1 || st.R < 1 || st.R > st.D || len(st.W) != st.R*st.D || len(st.Means) != st.K*st.R {
			return nil, bad("%d classes, %d features, rank %d with %d whitening and %d mean values", st.K, st.D, st.R, len(st.W), len(st.Means))
		}
		return &Mahalanobis{k: st.K, d: st.D, r: st.R, w: st.W, means: st.Means}, nil
	case "knn":
		var st knnState
		if err := decode(&st); err != nil {
			return nil, err
		}
		if st.N < 1 || st.D < 1 || st.K < 1 || st.K > st.N || st.N > len(st.Train) || len(st.Train) != st.N*st.D {
			return nil, bad("K = %d, %d samples of %d features with %d values", st.K, st.N, st.D, len(st.Train))
		}
		return &KNN{K: st.K, train: st.Train, sq: rowSq(st.Train, st.N, st.D), n: st.N, d: st.D}, nil
	case "vim":
		var st vimState
		if err := decode(&st); err != nil {
			return nil, err
		}
		if st.D < 1 || st.DP < 1 || st.DP > st.D || len(st.O) != st.D || len(st.P) != st.DP*st.D || math.IsNaN(st.Alpha) || math.IsInf(st.Alpha, 0) {
			return nil, bad("%d features, principal dimension %d, %d origin and %d basis values", st.D, st.DP, len(st.O), len(st.P))
		}
		return &ViM{Dim: st.Dim, o: st.O, p: st.P, alpha: st.Alpha, dim: st.D, dp: st.DP}, nil
	case "kpca-linear", "kpca-cos", "kpca-cos-rff", "kpca-cos-nystrom":
		var st kpcaState
		if err := decode(&st); err != nil {
			return nil, err
		}
		k, err := kpcaLoad(st, s.Detector)
		if err != nil {
			return nil, bad("%v", err)
		}
		return k, nil
	case "kpca-cos-rff+msp", "kpca-cos-nystrom+energy":
		var st fusedState
		if err := decode(&st); err != nil {
			return nil, err
		}
		k, err := kpcaLoad(st.KPCA, "")
		if err != nil {
			return nil, bad("%v", err)
		}
		other, err := loadState(st.Other)
		if err != nil {
			return nil, err
		}
		f := &Fused{KPCA: k, Other: other}
		if f.Name() != s.Detector {
			return nil, bad("parts make %s", f.Name())
		}
		return f, nil
	}
	return nil, fmt.Errorf("ood: load detector: unknown detector %q (saved detectors: %v)", s.Detector, savable())
}

func savable() []string {
	var out []string
	for _, n := range Names() {
		if n != "gradknn" {
			out = append(out, n)
		}
	}
	return out
}

func kpcaLoad(st kpcaState, name string) (*KPCA, error) {
	k := &KPCA{Map: st.Map, Gamma: st.Gamma, M: st.M, ExpVarRatio: st.Ratio, Landmarks: st.Landmarks, Seed: st.Seed}
	if name != "" && k.Name() != name {
		return nil, fmt.Errorf("map %q under the name %s", st.Map, name)
	}
	if st.RFFW != nil || st.RFFU != nil {
		if st.Map != "cos-rff" || st.M < 1 || st.D < 1 || st.M*st.D > maxRFFValues || len(st.RFFW) != st.M*st.D || len(st.RFFU) != st.M {
			return nil, fmt.Errorf("random-feature draw of %d frequency and %d phase values for map %s with %d features of %d inputs", len(st.RFFW), len(st.RFFU), st.Map, st.M, st.D)
		}
		rff, err := features.NewFourier(mat.NewDense(st.M, st.D, st.RFFW), st.RFFU, features.Phase)
		if err != nil {
			return nil, err
		}
		k.Draw = rff
	}
	if _, _, _, err := k.settings(); err != nil {
		return nil, err
	}
	const maxDim = 1 << 16
	if st.D < 1 || st.D > maxDim || st.Dim < 1 || st.Dim > maxDim || st.Q < 1 || st.Q > st.Dim || len(st.Mean) != st.Dim || len(st.U) != st.Q*st.Dim {
		return nil, fmt.Errorf("%d features, map dimension %d, %d components, %d mean and %d basis values", st.D, st.Dim, st.Q, len(st.Mean), len(st.U))
	}
	switch st.Map {
	case "linear", "cos":
		if st.Dim != st.D {
			return nil, fmt.Errorf("map dimension %d of %d features", st.Dim, st.D)
		}
	case "cos-rff":
		if k.Draw != nil && st.Dim == st.M {
			k.rff = k.Draw
			break
		}
		if st.Dim != st.M || st.Gamma <= 0 {
			return nil, fmt.Errorf("map dimension %d of %d random features, γ %v", st.Dim, st.M, st.Gamma)
		}
		if st.M*st.D > maxRFFValues {
			return nil, fmt.Errorf("%d random features of %d inputs: more than %d frequencies", st.M, st.D, maxRFFValues)
		}
		// The frequencies are a function of the seed, as in Fit.
		rff, err := features.NewRFF(features.Gaussian{Sigma: 1 / math.Sqrt(2*st.Gamma)}, st.D, st.M, features.Phase, seededRand(st.Seed))
		if err != nil {
			return nil, err
		}
		k.rff = rff
	case "cos-nystrom":
		if st.Dim != st.M || st.Gamma <= 0 || len(st.Landmark) != st.M*st.D || len(st.Proj) != st.M*st.M {
			return nil, fmt.Errorf("%d landmarks of %d features with %d values, %d projection values, γ %v", st.M, st.D, len(st.Landmark), len(st.Proj), st.Gamma)
		}
		k.lmk, k.proj = st.Landmark, st.Proj
	default:
		return nil, fmt.Errorf("unknown map %q", st.Map)
	}
	k.d, k.dim, k.q, k.mean, k.u, k.fited = st.D, st.Dim, st.Q, st.Mean, st.U, true
	return k, nil
}
