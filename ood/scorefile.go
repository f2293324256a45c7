package ood

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/trustml/trustml/data"
	"github.com/trustml/trustml/metrics"
)

// maxScoreLine bounds one line of a score text file.
const maxScoreLine = 1 << 10

// ParseScores reads scores as text, one per line (a decimal number as Go's
// strconv.ParseFloat reads it, surrounding white space ignored); empty
// lines and lines starting with '#' are skipped. Anything else, a
// non-finite value, a line longer than 1 KiB or no score at all is a
// [*data.ParseError] naming name and the line.
func ParseScores(r io.Reader, name string) ([]float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxScoreLine)
	var out []float64
	line := 0
	lineErr := func(format string, args ...any) error {
		return &data.ParseError{File: name, Line: line, Offset: -1, Field: "score", Err: fmt.Errorf(format, args...)}
	}
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' {
			continue
		}
		v, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, lineErr("%q is not a number", t)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, lineErr("%v is not finite", v)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		line++
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, lineErr("line longer than %d bytes", maxScoreLine)
		}
		return nil, lineErr("%v", err)
	}
	if len(out) == 0 {
		return nil, &data.ParseError{File: name, Offset: -1, Err: errors.New("no scores")}
	}
	return out, nil
}

// ReadScoresFile reads one score per sample from path: a .npy file (or
// .npy.gz) holding a vector, shape (N,) or (N, 1), or else text as
// [ParseScores] reads it.
func ReadScoresFile(path string) ([]float64, error) {
	lower := strings.ToLower(path)
	if strings.HasSuffix(lower, ".npy") || strings.HasSuffix(lower, ".npy.gz") {
		a, err := data.ReadNPYFile(path)
		if err != nil {
			return nil, err
		}
		if !(len(a.Shape) == 1 || len(a.Shape) == 2 && a.Shape[1] == 1) || a.Len() == 0 {
			return nil, fmt.Errorf("ood: scores %s: shape %v, want (samples,) or (samples, 1)", path, a.Shape)
		}
		v := a.Float64()
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("ood: scores %s: score %d is %v", path, i, x)
			}
		}
		return v, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ood: scores: %w", err)
	}
	defer f.Close()
	return ParseScores(f, path)
}

// MetricsConfig configures [MetricsFiles], the work of "trustml ood
// metrics".
type MetricsConfig struct {
	// ID is the file of the ID samples' scores, OoD those of one or more
	// OoD sets (see [ReadScoresFile]).
	ID  string   `flag:"id" help:"scores of the in-distribution samples (required)"`
	OoD []string `flag:"ood" flagkind:"array" help:"scores of an OoD set (required, repeatable)"`
	// LowerIsID says that the scores are higher for MORE OoD samples
	// (reconstruction errors, distances, free energies); by default higher
	// means more in-distribution, as every trustml detector scores.
	LowerIsID bool
}

// FileMetrics are the OoD metrics of score files, one [Result] per OoD
// file (Detector is the ID file, OoD the OoD file).
type FileMetrics struct {
	ID                     string   `json:"id"`
	NID                    int      `json:"n_id"`
	NOoD                   []int    `json:"n_ood"`
	HigherIsInDistribution bool     `json:"higher_is_in_distribution"`
	Results                []Result `json:"results"`
}

// MetricsFiles reads the score files cfg names and computes FPR95, AUROC,
// AUPR-In and AUPR-Out of each OoD file against the ID file with package
// metrics (ID positive; exact as scikit-learn's, ties included).
func MetricsFiles(cfg MetricsConfig) (*FileMetrics, error) {
	if cfg.ID == "" || len(cfg.OoD) == 0 {
		return nil, fmt.Errorf("ood: metrics: want an ID score file and at least one OoD score file")
	}
	id, err := ReadScoresFile(cfg.ID)
	if err != nil {
		return nil, err
	}
	sign := 1.0
	if cfg.LowerIsID {
		sign = -1
	}
	scale(id, sign)
	out := &FileMetrics{ID: cfg.ID, NID: len(id), HigherIsInDistribution: !cfg.LowerIsID}
	for _, p := range cfg.OoD {
		od, err := ReadScoresFile(p)
		if err != nil {
			return nil, err
		}
		scale(od, sign)
		met, err := metrics.EvaluateOoD(id, od)
		if err != nil {
			return nil, fmt.Errorf("ood: metrics of %s against %s: %w", p, cfg.ID, err)
		}
		out.NOoD = append(out.NOoD, len(od))
		out.Results = append(out.Results, Result{Detector: filepath.Base(cfg.ID), OoD: p, Metrics: met})
	}
	return out, nil
}

func scale(v []float64, s float64) {
	for i := range v {
		v[i] *= s
	}
}

// WriteText prints the metrics in percent, one row per OoD file.
func (m *FileMetrics) WriteText(w io.Writer) error {
	dir := "higher score = more in-distribution"
	if !m.HigherIsInDistribution {
		dir = "higher score = more out-of-distribution"
	}
	fmt.Fprintf(w, "ID scores %s: %d samples (%s; ID is the positive class of FPR95 and AUPR-In)\n", m.ID, m.NID, dir)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OOD\tN\tFPR95\tAUROC\tAUPR-IN\tAUPR-OUT")
	pct := func(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
	for i, r := range m.Results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.OoD, m.NOoD[i], pct(r.FPR95), pct(r.AUROC), pct(r.AUPRIn), pct(r.AUPROut))
	}
	return tw.Flush()
}
