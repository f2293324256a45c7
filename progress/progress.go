// Package progress defines how trustml's long-running library calls
// (training, soups, attack evaluations, benchmarks) report their progress:
// through a small [Reporter] interface, so that a program chooses how to
// show it. The trustml command draws a terminal bar; a service might log or
// export metrics; tests pass nothing.
package progress

// Reporter receives the progress of long work. Library calls never call a
// Reporter from two goroutines at once.
type Reporter interface {
	// Update reports that done of total units of the work named by label
	// are finished, with a short status text. It is called often; a
	// terminal display redraws, a log may ignore it.
	Update(label string, done, total int, status string)
	// Log reports a line worth keeping, such as an epoch's summary.
	Log(format string, args ...any)
}

// Discard is a Reporter that reports nothing.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Update(string, int, int, string) {}
func (discard) Log(string, ...any)              {}

// Or returns r, or [Discard] when r is nil, so that a library call can
// report unconditionally.
func Or(r Reporter) Reporter {
	if r == nil {
		return Discard
	}
	return r
}
