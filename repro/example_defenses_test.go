package repro_test

import (
	"context"
	"fmt"

	"github.com/trustml/trustml/repro"
)

// ExampleDefenses ranks two output defenses under the Square attack on
// the embedded model (a tiny run: 3 images, 20 queries).
func ExampleDefenses() {
	cfg := repro.DefaultDefensesConfig()
	cfg.N, cfg.Calibrate, cfg.Budgets, cfg.CostQueries = 3, 0, []int{20}, 8
	cfg.Attacks, cfg.Defenses = []string{"square"}, []string{"none", "rounded"}
	lb, err := repro.Defenses(context.Background(), cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rows:", len(lb.Rows), "attacks per row:", len(lb.Rows[0].Cells), "complete:", lb.Complete)
	// Output:
	// rows: 2 attacks per row: 1 complete: true
}
