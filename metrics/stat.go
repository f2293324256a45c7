package metrics

import (
	"encoding/json"
	"fmt"
	"math"
)

// Stat is a number we measured over repetitions.
type Stat struct {
	Mean   float64   `json:"mean"`
	Std    float64   `json:"std"` // population standard deviation
	Values []float64 `json:"values"`
}

// NewStat summarises values; with no values Mean and Std are NaN (a row
// that measured nothing prints n/a, never a number).
func NewStat(values []float64) Stat {
	s := Stat{Values: values, Mean: math.NaN(), Std: math.NaN()}
	if len(values) == 0 {
		return s
	}
	var m float64
	for _, x := range values {
		m += x
	}
	m /= float64(len(values))
	var v float64
	for _, x := range values {
		v += (x - m) * (x - m)
	}
	s.Mean, s.Std = m, math.Sqrt(v/float64(len(values)))
	return s
}

// statJSON is Stat's JSON form: Mean and Std are null when nothing was
// measured, since JSON has no NaN.
type statJSON struct {
	Mean   *float64  `json:"mean"`
	Std    *float64  `json:"std"`
	Values []float64 `json:"values"`
}

// MarshalJSON writes the statistic with a null mean and std when nothing
// was measured.
func (s Stat) MarshalJSON() ([]byte, error) {
	j := statJSON{Values: s.Values}
	if !math.IsNaN(s.Mean) {
		j.Mean = &s.Mean
	}
	if !math.IsNaN(s.Std) {
		j.Std = &s.Std
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes: a null mean or std is NaN.
func (s *Stat) UnmarshalJSON(b []byte) error {
	var j statJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Stat{Mean: math.NaN(), Std: math.NaN(), Values: j.Values}
	if j.Mean != nil {
		s.Mean = *j.Mean
	}
	if j.Std != nil {
		s.Std = *j.Std
	}
	return nil
}

// Measured reports whether the statistic has at least one value.
func (s Stat) Measured() bool { return len(s.Values) > 0 }

// Format prints "mean ± std" with the verb ("%.4g"), or "n/a" when
// nothing was measured.
func (s Stat) Format(verb string) string {
	if !s.Measured() {
		return "n/a"
	}
	if len(s.Values) == 1 {
		return fmt.Sprintf(verb, s.Mean)
	}
	return fmt.Sprintf(verb+" ± %.2g", s.Mean, s.Std)
}
