package train

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Progress reports the progress of long work: a redrawn bar on a terminal,
// plain log lines otherwise. A nil *Progress reports nothing.
type Progress struct {
	w        io.Writer
	terminal bool
	last     time.Time
}

// NewProgress reports to w; it draws a bar when w is a terminal.
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.terminal = true
	}
	return p
}

// Update shows done out of total with a status text. On a terminal it
// redraws at most ten times a second; elsewhere it prints nothing (call
// [Progress.Log] for lines that must appear in logs).
func (p *Progress) Update(label string, done, total int, status string) {
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
func (p *Progress) Log(format string, args ...any) {
	if p == nil {
		return
	}
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}
