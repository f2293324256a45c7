package progress_test

import (
	"fmt"

	"github.com/trustml/trustml/progress"
)

// logLines is a Reporter that keeps only the lines worth logging.
type logLines struct{}

func (logLines) Update(string, int, int, string) {}
func (logLines) Log(format string, args ...any)  { fmt.Printf(format+"\n", args...) }

// work is a long-running library call that reports through a Reporter.
func work(r progress.Reporter) {
	r = progress.Or(r)
	for i := 1; i <= 3; i++ {
		r.Update("work", i, 3, "")
	}
	r.Log("done %d steps", 3)
}

// A program chooses how progress is shown; nil shows nothing.
func Example() {
	work(logLines{})
	work(nil)
	// Output: done 3 steps
}
