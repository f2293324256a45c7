package serve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/trustml/trustml/internal/atomicfile"
)

// Count is one API key's query count.
type Count struct {
	// Total counts queries since the key was first used.
	Total int64 `json:"total"`
	// Window is the index of the budget window InWindow counts (the Unix
	// time divided by the window length; 0 when budgets have no window).
	Window int64 `json:"window"`
	// InWindow counts queries in window Window.
	InWindow int64 `json:"in_window"`
}

// merge returns the later of two records of one key: counts only grow, so
// the larger total and the later (window, count) pair win. Replaying a log
// with merge is idempotent, which makes the store's recovery simple.
func (c Count) merge(o Count) Count {
	out := Count{Total: max(c.Total, o.Total), Window: c.Window, InWindow: c.InWindow}
	if o.Window > c.Window || (o.Window == c.Window && o.InWindow > c.InWindow) {
		out.Window, out.InWindow = o.Window, o.InWindow
	}
	return out
}

// StoreOptions configures [OpenStore].
type StoreOptions struct {
	// Sync makes every update call fsync, so that counts also survive a
	// power loss or kernel crash. Without it each update is one write(2)
	// that completes before [Store.Add] returns, which survives a crash
	// or kill -9 of the process.
	Sync bool
	// CompactAfter is the number of appended records after which the file
	// is rewritten with one record per key (default 65536).
	CompactAfter int
}

// Store keeps per-key query counts in a small append-only file, so that
// counts survive restarts and crashes. Each update appends one line
// "NAME WINDOW IN_WINDOW TOTAL"; opening replays the file (a line torn by a
// crash in the middle of a write is dropped, and counts only grow, so
// replaying is idempotent); the file is compacted by writing a new one and
// renaming it over the old (atomic), on open, when it grows past
// CompactAfter records, and on Close. A Store is safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	path   string
	opts   StoreOptions
	f      *os.File
	counts map[string]Count
	lines  int
	buf    []byte
}

// storeHeader is the first line of a count file.
const storeHeader = "trustml-serve-counts v1"

// ErrStoreClosed is returned by updates after [Store.Close].
var ErrStoreClosed = errors.New("serve: count store closed")

// OpenStore opens (creating if needed) the count file at path.
func OpenStore(path string, o StoreOptions) (*Store, error) {
	if o.CompactAfter <= 0 {
		o.CompactAfter = 1 << 16
	}
	s := &Store{path: path, opts: o, counts: map[string]Count{}}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("serve: count store: %w", err)
	default:
		s.counts, err = ParseCounts(f, path)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	// Start from a compact file: this also drops a torn last line, so that
	// appends begin on a line boundary.
	if err := s.compactLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// ParseCounts reads a count file: the header line, then records
// "NAME WINDOW IN_WINDOW TOTAL" merged per key. A last line without its
// newline (a write torn by a crash) is ignored; any other malformed line is
// an error naming source and line.
func ParseCounts(r io.Reader, source string) (map[string]Count, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("serve: count store %s: %w", source, err)
	}
	counts := map[string]Count{}
	if len(b) == 0 {
		return counts, nil
	}
	if i := bytes.LastIndexByte(b, '\n'); i < 0 {
		return nil, fmt.Errorf("serve: count store %s:1: no complete header line %q", source, storeHeader)
	} else {
		b = b[:i+1] // drop a torn tail
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<16)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if line == 1 {
			if t != storeHeader {
				return nil, fmt.Errorf("serve: count store %s:1: not a trustml count file (header %q, want %q)", source, short(t), storeHeader)
			}
			continue
		}
		f := strings.Split(t, " ")
		if len(f) != 4 {
			return nil, fmt.Errorf("serve: count store %s:%d: want NAME WINDOW IN_WINDOW TOTAL, got %q", source, line, short(t))
		}
		if err := checkKeyName(f[0]); err != nil {
			return nil, fmt.Errorf("serve: count store %s:%d: %v", source, line, err)
		}
		var v [3]int64
		for i := range v {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("serve: count store %s:%d: field %d %q is not a count", source, line, i+2, short(f[i+1]))
			}
			v[i] = n
		}
		c := Count{Window: v[0], InWindow: v[1], Total: v[2]}
		if c.InWindow > c.Total {
			return nil, fmt.Errorf("serve: count store %s:%d: %d queries in the window but %d in total", source, line, c.InWindow, c.Total)
		}
		counts[f[0]] = counts[f[0]].merge(c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("serve: count store %s:%d: %w", source, line+1, err)
	}
	return counts, nil
}

// Path returns the file the store writes.
func (s *Store) Path() string { return s.path }

// Get returns the count of key name.
func (s *Store) Get(name string) Count {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[name]
}

// Counts returns a copy of all counts.
func (s *Store) Counts() map[string]Count {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Count, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Add counts n queries of key name in budget window window and returns the
// new count. The record is written to the file before Add returns; if that
// fails the count is unchanged and the error is returned.
func (s *Store) Add(name string, window, n int64) (Count, error) {
	if err := checkKeyName(name); err != nil {
		return Count{}, fmt.Errorf("serve: count store: %w", err)
	}
	if n < 0 || window < 0 {
		return Count{}, fmt.Errorf("serve: count store: negative count %d or window %d", n, window)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return Count{}, ErrStoreClosed
	}
	c := s.counts[name]
	if window > c.Window {
		c.Window, c.InWindow = window, 0
	}
	c.InWindow += n
	c.Total += n
	s.buf = appendRecord(s.buf[:0], name, c)
	if _, err := s.f.Write(s.buf); err != nil {
		return s.counts[name], fmt.Errorf("serve: count store %s: %w", s.path, err)
	}
	if s.opts.Sync {
		if err := s.f.Sync(); err != nil {
			return s.counts[name], fmt.Errorf("serve: count store %s: %w", s.path, err)
		}
	}
	s.counts[name] = c
	if s.lines++; s.lines >= s.opts.CompactAfter {
		if err := s.compactLocked(); err != nil {
			return c, err
		}
	}
	return c, nil
}

func appendRecord(b []byte, name string, c Count) []byte {
	b = append(b, name...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, c.Window, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, c.InWindow, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, c.Total, 10)
	return append(b, '\n')
}

// Compact rewrites the file with one record per key.
func (s *Store) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return ErrStoreClosed
	}
	return s.compactLocked()
}

// compactLocked writes all counts to a temporary file, syncs it, renames it
// over the store and reopens it for appending.
func (s *Store) compactLocked() error {
	names := make([]string, 0, len(s.counts))
	for k := range s.counts {
		names = append(names, k)
	}
	slices.Sort(names)
	b := []byte(storeHeader + "\n")
	for _, k := range names {
		b = appendRecord(b, k, s.counts[k])
	}
	if err := writeAtomic(s.path, b); err != nil {
		return fmt.Errorf("serve: count store: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("serve: count store: %w", err)
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.lines = f, 0
	return nil
}

// writeAtomic replaces path by a file holding b (see package atomicfile).
func writeAtomic(path string, b []byte) error { return atomicfile.WriteFile(path, b, 0o644) }

// Close compacts the file and closes it. Later updates fail with
// [ErrStoreClosed]; Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.compactLocked()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}
