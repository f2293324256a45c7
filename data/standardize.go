package data

import (
	"fmt"
	"math"
)

// Standardizer rescales every feature to zero mean and unit variance:
// x ← (x − Mean[j]) / Std[j]. Fit it on training data with
// [FitStandardizer], then [Standardizer.Apply] it to the training, test and
// any later data, so that all are scaled alike.
//
// Std is the population standard deviation (divisor n, as scikit-learn's
// StandardScaler). A feature that is constant in the fitted data, or
// indistinguishable from constant (variance below the rounding error of its
// computation, the criterion of scikit-learn's StandardScaler), would be
// divided by zero: its Std is set to 1, so that it is only centred, and its
// index is listed in Constant. Constant pixels, such as image borders that
// are always 0, are common.
type Standardizer struct {
	Mean []float64 // per-feature mean of the fitted data
	Std  []float64 // per-feature scale: the standard deviation, or 1 for constant features
	// Constant lists, ascending, the features whose variance was (near) zero
	// and whose Std was set to 1.
	Constant []int
}

// FitStandardizer computes the per-feature mean and standard deviation of
// d's samples, in float64.
func FitStandardizer(d *Dataset) (*Standardizer, error) {
	n, s := d.Len(), d.SampleSize()
	if n == 0 || s == 0 {
		return nil, fmt.Errorf("data: fit standardizer on %s: %w", d.Name, errEmpty)
	}
	st := &Standardizer{Mean: make([]float64, s), Std: make([]float64, s)}
	buf := make([]float64, s)
	row := func(i int) []float64 { // sample i in float64: X64 when kept
		if len(d.X64) == len(d.X) {
			return d.X64[i*s : (i+1)*s]
		}
		for j, v := range d.X[i*s : (i+1)*s] {
			buf[j] = float64(v)
		}
		return buf
	}
	for i := range n {
		for j, v := range row(i) {
			st.Mean[j] += v
		}
	}
	for j := range st.Mean {
		st.Mean[j] /= float64(n)
	}
	// Two-pass variance, with the correction term of Chan, Golub and
	// LeVeque for the rounding error of the mean.
	sq := make([]float64, s)
	corr := make([]float64, s)
	for i := range n {
		for j, v := range row(i) {
			dv := v - st.Mean[j]
			sq[j] += dv * dv
			corr[j] += dv
		}
	}
	const eps = 0x1p-52
	fn := float64(n)
	for j := range st.Std {
		v := (sq[j] - corr[j]*corr[j]/fn) / fn
		v = max(v, 0)
		if math.IsNaN(v) || math.IsInf(v, 0) || math.IsInf(st.Mean[j], 0) {
			return nil, fmt.Errorf("data: fit standardizer on %s: feature %d has non-finite statistics (mean %v, variance %v)", d.Name, j, st.Mean[j], v)
		}
		// scikit-learn's _is_constant_feature bound.
		bound := fn*eps*v + (fn*st.Mean[j]*eps)*(fn*st.Mean[j]*eps)
		if v <= bound {
			st.Std[j] = 1
			st.Constant = append(st.Constant, j)
		} else {
			st.Std[j] = math.Sqrt(v)
		}
	}
	return st, nil
}

// Apply standardizes d's samples in place. d must have the sample size the
// standardizer was fitted on.
func (st *Standardizer) Apply(d *Dataset) error {
	s := d.SampleSize()
	if s != len(st.Mean) || len(st.Std) != len(st.Mean) {
		return fmt.Errorf("data: standardize %s: sample size %d, standardizer fitted on %d features", d.Name, s, len(st.Mean))
	}
	n := d.Len()
	for i := range n {
		row := d.X[i*s : (i+1)*s]
		for j, v := range row {
			if d.X64 != nil {
				d.X64[i*s+j] = (d.X64[i*s+j] - st.Mean[j]) / st.Std[j]
				row[j] = float32(d.X64[i*s+j])
				continue
			}
			row[j] = float32((float64(v) - st.Mean[j]) / st.Std[j])
		}
	}
	return nil
}
