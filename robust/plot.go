package robust

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/trustml/trustml/plot"
)

// curveQueries returns about 40 log-spaced query counts from 1 to budget.
func curveQueries(budget int) []int {
	var qs []int
	last := 0
	for i := 0; i <= 40; i++ {
		q := int(math.Round(math.Pow(float64(budget), float64(i)/40)))
		if q > last {
			qs = append(qs, q)
			last = q
		}
	}
	return qs
}

// WritePlots draws, into dir, one PNG per attack of robust accuracy against
// queries (a line per defense) and one reliability diagram per defense. It
// returns the files written.
func (r *Report) WritePlots(dir string) ([]string, error) {
	var files []string
	qs := curveQueries(r.Budget)
	x := make([]float64, len(qs))
	for i, q := range qs {
		x[i] = float64(q)
	}
	var attacks []string
	series := map[string][]plot.Series{}
	for i := range r.Pairs {
		p := &r.Pairs[i]
		if _, ok := series[p.Attack]; !ok {
			attacks = append(attacks, p.Attack)
		}
		series[p.Attack] = append(series[p.Attack], plot.Series{Name: p.Defense, X: x, Y: p.Curve(qs)})
	}
	for _, a := range attacks {
		f := filepath.Join(dir, "robust-"+safe(a)+".png")
		title := fmt.Sprintf("%s attack (%s): robust accuracy", a, r.Data)
		if err := plot.Lines(f, title, "queries per image", "robust accuracy", true, series[a]); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	for _, dc := range r.Clean {
		f := filepath.Join(dir, "reliability-"+safe(dc.Defense)+".png")
		title := fmt.Sprintf("%s: ECE %.2f%%", dc.Defense, 100*dc.Summary.ECE)
		if err := plot.Reliability(f, title, dc.Summary.Reliability); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}

func safe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
