package metrics

import (
	"fmt"
	"math"
)

// Regression summarises real-valued predictions against the truth, with
// scikit-learn's definitions (mean_squared_error, mean_absolute_error,
// r2_score).
type Regression struct {
	N   int     `json:"n"`
	MSE float64 `json:"mse"` // mean squared error
	MAE float64 `json:"mae"` // mean absolute error
	// R2 is the coefficient of determination 1 − SSE/SST; NaN when the
	// truth is constant.
	R2 float64 `json:"r2"`
}

// EvaluateRegression computes MSE, MAE and R² of pred against truth.
func EvaluateRegression(truth, pred []float64) (Regression, error) {
	n := len(truth)
	if len(pred) != n {
		return Regression{}, fmt.Errorf("metrics: %d predictions for %d targets", len(pred), n)
	}
	if n == 0 {
		return Regression{}, fmt.Errorf("metrics: no samples")
	}
	var mean float64
	for _, v := range truth {
		mean += v
	}
	mean /= float64(n)
	var sse, sae, sst float64
	for i, v := range truth {
		e := pred[i] - v
		sse += e * e
		sae += math.Abs(e)
		sst += (v - mean) * (v - mean)
	}
	r := Regression{N: n, MSE: sse / float64(n), MAE: sae / float64(n), R2: math.NaN()}
	if sst > 0 {
		r.R2 = 1 - sse/sst
	}
	return r, nil
}

// ClassCount counts the samples of one class: how many there are
// (Support), how many were predicted as the class, and how many of the
// class were predicted correctly.
type ClassCount struct {
	Class     string `json:"class"`
	Support   int    `json:"support"`
	Predicted int    `json:"predicted"`
	Correct   int    `json:"correct"`
}

// CountClasses returns the per-class counts of predicted labels against
// true labels, both indices into classes.
func CountClasses(truth, pred []int, classes []string) ([]ClassCount, error) {
	if len(pred) != len(truth) {
		return nil, fmt.Errorf("metrics: %d predictions for %d labels", len(pred), len(truth))
	}
	out := make([]ClassCount, len(classes))
	for c, name := range classes {
		out[c].Class = name
	}
	for i, y := range truth {
		p := pred[i]
		if y < 0 || y >= len(out) || p < 0 || p >= len(out) {
			return nil, fmt.Errorf("metrics: sample %d: label %d or prediction %d outside [0, %d)", i, y, p, len(out))
		}
		out[y].Support++
		out[p].Predicted++
		if p == y {
			out[y].Correct++
		}
	}
	return out, nil
}
