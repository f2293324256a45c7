// Command kernel-bench times trustml's kernel library against
// scikit-learn (see run.sh, which also runs sklearn_bench.py on the same
// data): kernel ridge regression fit+predict with an RBF kernel, kernel PCA
// fit+transform, and the DGEMM and Cholesky rates of the linear-algebra
// seam. It writes the data, its predictions and results.json to -out.
//
// This is a benchmark, not a test: numbers depend on the machine.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/trustml/trustml/internal/linalg"
	"github.com/trustml/trustml/kernel"
)

type timing struct {
	Times  []float64 `json:"times_s"`
	Median float64   `json:"median_s"`
}

type krrCase struct {
	N, D, M  int
	Gamma    float64 `json:"gamma"`
	Lambda   float64 `json:"lambda"`
	XFile    string  `json:"x_file"`
	YFile    string  `json:"y_file"`
	XtFile   string  `json:"xt_file"`
	YtFile   string  `json:"yt_file"`
	PredFile string  `json:"pred_file"`
	TestMSE  float64 `json:"test_mse"`
	Solver   string  `json:"solver"`
	timing
}

type kpcaCase struct {
	N, D, M    int
	Components int     `json:"components"`
	Gamma      float64 `json:"gamma"`
	XFile      string  `json:"x_file"`
	XtFile     string  `json:"xt_file"`
	ProjFile   string  `json:"proj_file"`
	timing
}

// seamRate is the DGEMM, Cholesky and mixed-precision solve rate at one
// matrix order.
type seamRate struct {
	N          int     `json:"n"`
	GemmGFlops float64 `json:"gemm_gflops"`
	CholGFlops float64 `json:"chol_gflops"`
	// MixedGFlops is n³/3 over the time of a whole mixed-precision SPD
	// solve (float32 Cholesky + float64 refinement), float64-equivalent.
	MixedGFlops float64 `json:"mixed_solve_gflops"`
}

type results struct {
	Backend    string     `json:"backend"`
	GOMAXPROCS int        `json:"gomaxprocs"`
	Reps       int        `json:"reps"`
	Seam       []seamRate `json:"seam"`
	KRR        []krrCase  `json:"krr"`
	KPCA       []kpcaCase `json:"kpca"`
}

func main() {
	out := flag.String("out", ".", "output directory for data, predictions and results.json")
	ns := flag.String("krr-n", "5000,10000", "KRR training sizes (0 skips)")
	d := flag.Int("d", 20, "input dimension")
	m := flag.Int("m", 2000, "test points")
	kpcaN := flag.Int("kpca-n", 5000, "KPCA training size (0 skips)")
	comps := flag.Int("components", 50, "KPCA components")
	gamma := flag.Float64("gamma", 0.05, "RBF gamma")
	lambda := flag.Float64("lambda", 1e-2, "KRR ridge")
	reps := flag.Int("reps", 3, "repetitions (median reported)")
	gemmN := flag.String("gemm-n", "4000,8000", "matrix orders for the DGEMM/Cholesky rates")
	flag.Parse()
	if err := run(*out, *ns, *d, *m, *kpcaN, *comps, *gamma, *lambda, *reps, *gemmN); err != nil {
		fmt.Fprintln(os.Stderr, "kernel-bench:", err)
		os.Exit(1)
	}
}

func run(out, ns string, d, m, kpcaN, comps int, gamma, lambda float64, reps int, gemmNs string) error {
	res := results{Backend: linalg.Backend(), GOMAXPROCS: runtime.GOMAXPROCS(0), Reps: reps}
	fmt.Printf("backend %s, GOMAXPROCS %d\n", res.Backend, res.GOMAXPROCS)
	for _, f := range strings.Split(gemmNs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-gemm-n: %w", err)
		}
		if n == 0 {
			continue
		}
		r, err := seamRates(n, reps)
		if err != nil {
			return err
		}
		res.Seam = append(res.Seam, r)
		fmt.Printf("seam: DGEMM %d: %.1f GFLOP/s, Cholesky %d: %.1f GFLOP/s (%.0f%% of DGEMM), mixed-precision SPD solve: %.1f GFLOP/s equivalent\n",
			n, r.GemmGFlops, n, r.CholGFlops, 100*r.CholGFlops/r.GemmGFlops, r.MixedGFlops)
	}
	ctx := context.Background()
	for _, f := range strings.Split(ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		X, y := data(uint64(n), n, d)
		Xt, yt := data(uint64(n)+1, m, d)
		c := krrCase{N: n, D: d, M: m, Gamma: gamma, Lambda: lambda,
			XFile: fmt.Sprintf("krr_x_%d.bin", n), YFile: fmt.Sprintf("krr_y_%d.bin", n),
			XtFile: fmt.Sprintf("krr_xt_%d.bin", n), YtFile: fmt.Sprintf("krr_yt_%d.bin", n),
			PredFile: fmt.Sprintf("krr_pred_%d.bin", n)}
		var pred []float64
		var model *kernel.KRR
		c.timing = timeIt(reps, func() error {
			model = &kernel.KRR{Kernel: kernel.RBF{Gamma: gamma}, Lambda: lambda}
			if err := model.Fit(ctx, X, y); err != nil {
				return err
			}
			pred, err = model.Predict(Xt)
			return err
		})
		if err != nil {
			return err
		}
		c.Solver = model.Info().Method
		for i, p := range pred {
			c.TestMSE += (p - yt[i]) * (p - yt[i]) / float64(m)
		}
		fmt.Printf("KRR n=%d d=%d m=%d: median %.3f s (runs %v), test MSE %.5f, solver %s (rcond %.2g)\n",
			n, d, m, c.Median, fmtTimes(c.Times), c.TestMSE, c.Solver, model.Info().RCond)
		for _, w := range []struct {
			name string
			v    []float64
		}{{c.XFile, X.RawMatrix().Data}, {c.YFile, y}, {c.XtFile, Xt.RawMatrix().Data}, {c.YtFile, yt}, {c.PredFile, pred}} {
			if err := writeBin(filepath.Join(out, w.name), w.v); err != nil {
				return err
			}
		}
		res.KRR = append(res.KRR, c)
	}
	if kpcaN > 0 {
		X, _ := data(7, kpcaN, d)
		Xt, _ := data(8, m, d)
		c := kpcaCase{N: kpcaN, D: d, M: m, Components: comps, Gamma: gamma,
			XFile: "kpca_x.bin", XtFile: "kpca_xt.bin", ProjFile: "kpca_proj.bin"}
		var T *mat.Dense
		var err error
		c.timing = timeIt(reps, func() error {
			p := &kernel.KPCA{Kernel: kernel.RBF{Gamma: gamma}, Components: comps}
			if err := p.Fit(ctx, X); err != nil {
				return err
			}
			T, err = p.Transform(Xt)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Printf("KPCA n=%d d=%d q=%d (+transform %d): median %.3f s (runs %v)\n", kpcaN, d, comps, m, c.Median, fmtTimes(c.Times))
		for _, w := range []struct {
			name string
			v    []float64
		}{{c.XFile, X.RawMatrix().Data}, {c.XtFile, Xt.RawMatrix().Data}, {c.ProjFile, T.RawMatrix().Data}} {
			if err := writeBin(filepath.Join(out, w.name), w.v); err != nil {
				return err
			}
		}
		res.KPCA = append(res.KPCA, c)
	}
	raw, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "results.json"), raw, 0o644)
}

// data returns n points uniform in [−1, 1]^d and a smooth noisy target.
func data(seed uint64, n, d int) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 2024))
	X := mat.NewDense(n, d, nil)
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		var s float64
		for j := 0; j < d; j++ {
			v := 2*rng.Float64() - 1
			X.Set(i, j, v)
			s += math.Sin(float64(j%3+1) * v)
		}
		y[i] = s + 0.1*rng.NormFloat64()
	}
	return X, y
}

func timeIt(reps int, f func() error) timing {
	var t timing
	for r := 0; r < reps; r++ {
		runtime.GC()
		start := time.Now()
		if err := f(); err != nil {
			fmt.Fprintln(os.Stderr, "kernel-bench:", err)
			os.Exit(1)
		}
		t.Times = append(t.Times, time.Since(start).Seconds())
	}
	s := append([]float64(nil), t.Times...)
	sort.Float64s(s)
	t.Median = s[len(s)/2]
	return t
}

func fmtTimes(t []float64) string {
	parts := make([]string, len(t))
	for i, v := range t {
		parts[i] = fmt.Sprintf("%.3f", v)
	}
	return strings.Join(parts, " ")
}

// seamRates measures DGEMM, Cholesky (dpotrf) and the mixed-precision SPD
// solve through internal/linalg, median of reps. DGEMM and Cholesky run
// interleaved, so that a shared machine's load hits them alike, after one
// untimed round of each (the first Cholesky of a process measured 15–25%
// slower than the next).
func seamRates(n, reps int) (seamRate, error) {
	rng := rand.New(rand.NewPCG(1, 1))
	// The operands are allocated as the kernel package allocates its Gram
	// matrices (linalg.Float64s: transparent huge pages where available).
	a := linalg.Float64s(n * n)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	c := linalg.Float64s(n * n)
	linalg.Dgemm(false, true, n, n, n, 1, a, n, a, n, 0, c, n)
	// c = A·Aᵀ is SPD after a diagonal shift.
	for i := 0; i < n; i++ {
		c[i*n+i] += float64(n)
	}
	spd := linalg.Float64s(n * n)
	copy(spd, c)
	var gemmT, cholT []float64
	for r := -1; r < reps; r++ {
		start := time.Now()
		linalg.Dgemm(false, true, n, n, n, 1, a, n, a, n, 0, c, n)
		tg := time.Since(start).Seconds()
		copy(c, spd)
		start = time.Now()
		if err := linalg.Dpotrf(n, c, n); err != nil {
			return seamRate{}, err
		}
		if r >= 0 {
			gemmT, cholT = append(gemmT, tg), append(cholT, time.Since(start).Seconds())
		}
	}
	median := func(t []float64) float64 { sort.Float64s(t); return t[len(t)/2] }
	gemm := 2 * math.Pow(float64(n), 3) / median(gemmT) / 1e9
	chol := math.Pow(float64(n), 3) / 3 / median(cholT) / 1e9
	b := make([]float64, n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	x := make([]float64, n)
	mt := timeIt(reps, func() error {
		if _, ok := linalg.Dsposv(n, 1, spd, n, b, 1, x, 1); !ok {
			return fmt.Errorf("mixed-precision solve did not converge")
		}
		return nil
	})
	return seamRate{N: n, GemmGFlops: gemm, CholGFlops: chol, MixedGFlops: math.Pow(float64(n), 3) / 3 / mt.Median / 1e9}, nil
}

func writeBin(path string, v []float64) error {
	buf := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(buf[8*i:], math.Float64bits(x))
	}
	return os.WriteFile(path, buf, 0o644)
}
