package serve

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStoreReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "counts")
	st, err := OpenStore(path, StoreOptions{CompactAfter: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 { // compacts twice on the way
		if _, err := st.Add("alice", int64(i/4), 2); err != nil {
			t.Fatal(err)
		}
	}
	st.Add("bob", 7, 1)
	want := map[string]Count{"alice": {Total: 24, Window: 2, InWindow: 8}, "bob": {Total: 1, Window: 7, InWindow: 1}}
	// Reopen without Close: the state a crash leaves.
	st2, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range want {
		if got := st2.Get(k); got != c {
			t.Errorf("after reopen %s = %+v, want %+v", k, got, c)
		}
	}
	st2.Close()
	st.Close()
	if _, err := st.Add("alice", 0, 1); err != ErrStoreClosed {
		t.Errorf("Add after Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	b, _ := os.ReadFile(path)
	if got := strings.Count(string(b), "\n"); got != 3 {
		t.Errorf("compacted file has %d lines:\n%s", got, b)
	}
}

func TestStoreTornAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		want       map[string]Count
		msg        string
	}{
		{"torn tail", storeHeader + "\nalice 0 5 5\nalice 0 6 6\nalice 0 7", map[string]Count{"alice": {Total: 6, InWindow: 6}}, ""},
		{"replayed older", storeHeader + "\nalice 3 5 50\nalice 2 9 40\n", map[string]Count{"alice": {Total: 50, Window: 3, InWindow: 5}}, ""},
		{"empty", "", map[string]Count{}, ""},
		{"header only", storeHeader + "\n", map[string]Count{}, ""},
		{"wrong header", "something else\n", nil, "not a trustml count file"},
		{"torn header", "trustml-ser", nil, "no complete header"},
		{"bad line", storeHeader + "\nalice 0 5\nbob 0 1 1\n", nil, ":2: want NAME"},
		{"negative", storeHeader + "\nalice 0 -5 5\n", nil, ":2: field 3"},
		{"window over total", storeHeader + "\nalice 0 9 5\n", nil, "9 queries in the window but 5 in total"},
		{"bad name", storeHeader + "\na/b 0 1 1\n", nil, "only letters"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
		os.WriteFile(path, []byte(c.text), 0o644)
		st, err := OpenStore(path, StoreOptions{})
		if c.msg != "" {
			if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: err %v, want one naming the file and %q", c.name, err, c.msg)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got := st.Counts()
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: counts %v, want %v", c.name, got, c.want)
		}
		// The torn line is gone: appends start on a line boundary.
		st.Add("alice", 9, 1)
		st2, err := OpenStore(path, StoreOptions{})
		if err != nil {
			t.Errorf("%s: reopen after append: %v", c.name, err)
			continue
		}
		if st2.Get("alice").InWindow != 1 || st2.Get("alice").Window != 9 {
			t.Errorf("%s: after append %+v", c.name, st2.Get("alice"))
		}
		st2.Close()
		st.Close()
	}
}

// TestStoreKill9 runs a process that counts queries and reports each count
// once Add has returned, kills it with SIGKILL in the middle, and requires
// every reported count to be in the store when it is reopened.
func TestStoreKill9(t *testing.T) {
	if path := os.Getenv("TRUSTML_STORE_CRASH"); path != "" {
		crashHelper(path)
		return
	}
	path := filepath.Join(t.TempDir(), "counts")
	for round := range 3 { // each round starts from the previous one's file
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreKill9$")
		cmd.Env = append(os.Environ(), "TRUSTML_STORE_CRASH="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		acked := map[string]int64{}
		lines := 0
		for sc.Scan() {
			name, v, ok := strings.Cut(sc.Text(), " ")
			if !ok {
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			acked[name] = n
			if lines++; lines == 300+100*round {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: helper was not killed: %v (%d lines)", round, err, lines)
		}
		st, err := OpenStore(path, StoreOptions{})
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		for name, n := range acked {
			c := st.Get(name)
			// The process may have made one more Add (of at most 4
			// queries) than it reported before it died, never fewer.
			if c.Total < n || c.Total > n+4 {
				t.Errorf("round %d: %s has %d queries in the store, %d were acknowledged", round, name, c.Total, n)
			}
		}
		st.Close()
	}
}

// crashHelper counts queries forever, printing each key's total after the
// store has accepted it.
func crashHelper(path string) {
	st, err := OpenStore(path, StoreOptions{CompactAfter: 64})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		name := [...]string{"alice", "bob", "carol"}[i%3]
		c, err := st.Add(name, int64(i/500), int64(1+i%4))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Fprintf(w, "%s %d\n", name, c.Total)
		w.Flush()
	}
	os.Exit(3) // never reached when the test kills it
}

func FuzzParseCounts(f *testing.F) {
	f.Add(storeHeader + "\nalice 0 5 5\nbob 3 1 9\n")
	f.Add(storeHeader + "\nalice 0 5 5\nalice 0 6")
	f.Add("x")
	f.Fuzz(func(t *testing.T, text string) {
		counts, err := ParseCounts(strings.NewReader(text), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "serve: count store fuzz") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for k, c := range counts {
			if checkKeyName(k) != nil || c.Total < 0 || c.InWindow < 0 || c.Window < 0 || c.InWindow > c.Total {
				t.Fatalf("accepted %q: %+v", k, c)
			}
		}
	})
}
