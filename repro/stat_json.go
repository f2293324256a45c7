package repro

import (
	"encoding/json"
	"math"
)

// MarshalJSON writes the statistic with null for the mean and standard
// deviation of a row that measured nothing (NaN has no JSON form).
func (s Stat) MarshalJSON() ([]byte, error) {
	num := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		Mean   *float64  `json:"mean"`
		Std    *float64  `json:"std"`
		Values []float64 `json:"values"`
	}{num(s.Mean), num(s.Std), s.Values})
}
