package repro_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/repro"
)

// ReproContinual with From tabulates the README's saved runs without
// training: LAS's paired gain over ER at each buffer size.
func ExampleReproContinual() {
	res, err := repro.ReproContinual(context.Background(), &repro.ContinualConfig{From: []string{"../docs/repro-continual-runs.json"}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range res.Summary {
		if row.VsER != nil {
			fmt.Printf("buffer %d: las %s%%, gain over er %s points\n", row.Buffer, row.Final.Format("%.2f"), row.VsER.Format("%+.2f"))
		}
	}
	// Output:
	// buffer 200: las 74.62 ± 0.95%, gain over er +2.80 ± 0.18 points
	// buffer 1000: las 77.59 ± 0.52%, gain over er +2.52 ± 1.9 points
}
