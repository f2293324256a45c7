package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Bar reports the progress of long work (a [progress.Reporter]): a
// redrawn bar on a terminal, plain log lines otherwise. A nil *Bar reports
// nothing.
type Bar struct {
	w        io.Writer
	terminal bool
	last     time.Time
}

// newBar reports to w; it draws a bar when w is a terminal.
func newBar(w io.Writer) *Bar {
	p := &Bar{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.terminal = true
	}
	return p
}

// Update shows done out of total with a status text. On a terminal it
// redraws at most ten times a second; elsewhere it prints nothing (call
// [Bar.Log] for lines that must appear in logs).
func (p *Bar) Update(label string, done, total int, status string) {
	if p == nil || !p.terminal {
		return
	}
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	const width = 24
	frac := float64(done) / float64(max(total, 1))
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	fmt.Fprintf(p.w, "\r\033[K%s [%s] %3.0f%% %s", label, bar, 100*frac, status)
}

// Log prints a line, ending any bar in progress first.
func (p *Bar) Log(format string, args ...any) {
	if p == nil {
		return
	}
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}
