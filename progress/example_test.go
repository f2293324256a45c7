package progress_test

import (
	"os"

	"github.com/trustml/trustml/progress"
)

// On a terminal Update redraws a bar; in logs (as here) only Log lines
// appear.
func Example() {
	bar := progress.New(os.Stdout)
	for i := 1; i <= 3; i++ {
		bar.Update("work", i, 3, "")
	}
	bar.Log("done %d steps", 3)
	// Output: done 3 steps
}
