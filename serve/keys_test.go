package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	aliceToken = "alice-0123456789abcdef"
	bobToken   = "bob-secret-token-0123"
)

func bobHash() string {
	h := sha256.Sum256([]byte(bobToken))
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestParseKeys(t *testing.T) {
	good := "# keys\n\nalice " + aliceToken + " budget=100 rate=2.5 burst=5\n  bob\t" + bobHash() + "  \n"
	kr, err := ParseKeys(strings.NewReader(good), "keys.txt")
	if err != nil {
		t.Fatal(err)
	}
	keys := kr.Keys()
	if len(keys) != 2 || keys[0].Name != "alice" || keys[0].Budget != 100 || keys[0].Rate != 2.5 || keys[0].Burst != 5 ||
		keys[1].Name != "bob" || keys[1].Budget != -1 || keys[1].Rate != -1 || keys[1].Burst != 0 {
		t.Fatalf("keys %+v", keys)
	}
	for tok, name := range map[string]string{aliceToken: "alice", bobToken: "bob"} {
		if k, ok := kr.Lookup(tok); !ok || k.Name != name {
			t.Errorf("Lookup(%q) = %v, %v", tok, k, ok)
		}
	}
	for _, tok := range []string{"", "alice", bobHash(), aliceToken + " "} {
		if _, ok := kr.Lookup(tok); ok {
			t.Errorf("Lookup(%q) found a key", tok)
		}
	}
	for _, c := range []struct{ text, msg string }{
		{"", "no keys"},
		{"# only comments\n", "no keys"},
		{"alice", "keys.txt:1: want NAME TOKEN"},
		{"\nalice short", "keys.txt:2: key alice: token has 5 characters"},
		{"al/ice " + aliceToken, "only letters"},
		{strings.Repeat("a", 65) + " " + aliceToken, "1 to 64"},
		{"alice " + aliceToken + "\nalice " + bobToken, "keys.txt:2: key name \"alice\" already used on line 1"},
		{"alice " + aliceToken + "\nbob " + aliceToken, "same token as key alice"},
		{"alice sha256:abcd", "64 hex digits"},
		{"alice " + aliceToken + " budget=-1", "budget"},
		{"alice " + aliceToken + " budget=1.5", "budget"},
		{"alice " + aliceToken + " burst=0", "burst"},
		{"alice " + aliceToken + " rate=NaN", "rate"},
		{"alice " + aliceToken + " rate=-2", "rate"},
		{"alice " + aliceToken + " rate=1 rate=2", "each once"},
		{"alice " + aliceToken + " colour=blue", "unknown limit"},
		{"alice " + aliceToken + " budget", "want budget=N"},
		{"alice " + "tok\x01en-0123456789abcdef", "non-printable"},
		{"alice " + strings.Repeat("x", 5000), "keys.txt:1"},
	} {
		_, err := ParseKeys(strings.NewReader(c.text), "keys.txt")
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ParseKeys(%.40q) = %v, want error mentioning %q", c.text, err, c.msg)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add("alice " + aliceToken + " budget=100 rate=2.5 burst=5\n")
	f.Add("bob " + bobHash() + "\n# c\n")
	f.Add("x sha256:zz budget=1e3")
	f.Fuzz(func(t *testing.T, text string) {
		kr, err := ParseKeys(strings.NewReader(text), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "serve: key file fuzz") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		names := map[string]bool{}
		for _, k := range kr.Keys() {
			if checkKeyName(k.Name) != nil || names[k.Name] || k.Budget < -1 || k.Burst < 0 || !(k.Rate >= -1) {
				t.Fatalf("accepted key %+v", k)
			}
			names[k.Name] = true
		}
	})
}

func TestBearer(t *testing.T) {
	for h, want := range map[string]string{
		"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "Bearer a b": "", "": "",
	} {
		got, ok := bearer(h)
		if ok != (want != "") || got != want && ok {
			t.Errorf("bearer(%q) = %q, %v", h, got, ok)
		}
	}
}

// fakeClock is a settable clock.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func testLimiter(t *testing.T, o LimitOptions) (*Limiter, *Store, *fakeClock) {
	t.Helper()
	kr, err := ParseKeys(strings.NewReader("alice "+aliceToken+" budget=10\nbob "+bobHash()+" rate=4 burst=4\n"), "keys")
	if err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(t.TempDir()+"/counts", StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &fakeClock{time.Date(2025, 3, 1, 23, 0, 0, 0, time.UTC)}
	o.Now = clock.now
	l, err := NewLimiter(kr, st, o)
	if err != nil {
		t.Fatal(err)
	}
	return l, st, clock
}

func TestLimiterBudget(t *testing.T) {
	l, st, clock := testLimiter(t, LimitOptions{Window: 24 * time.Hour})
	alice, _ := l.keys.Lookup(aliceToken)
	for _, n := range []int{4, 6} {
		if _, err := l.Admit(alice, n); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Admit(alice, 1)
	var le *LimitError
	if !errors.As(err, &le) || !le.Budget || le.RetryAfter != time.Hour {
		t.Fatalf("over budget: %v (%+v), want a budget LimitError with an hour to midnight UTC", err, le)
	}
	if c := st.Get("alice"); c.Total != 10 || c.InWindow != 10 {
		t.Errorf("count %+v after a refused query", c)
	}
	clock.t = clock.t.Add(time.Hour) // the next day's window
	c, err := l.Admit(alice, 3)
	if err != nil || c.InWindow != 3 || c.Total != 13 {
		t.Errorf("next window: %+v, %v", c, err)
	}
	// Without a window the budget is for the key's lifetime, and no wait helps.
	l2, _, _ := testLimiter(t, LimitOptions{})
	alice, _ = l2.keys.Lookup(aliceToken)
	l2.Admit(alice, 10)
	if _, err := l2.Admit(alice, 1); !errors.As(err, &le) || le.RetryAfter != 0 {
		t.Errorf("lifetime budget: %v", err)
	}
}

func TestLimiterRate(t *testing.T) {
	l, _, clock := testLimiter(t, LimitOptions{Budget: 1000})
	bob, _ := l.keys.Lookup(bobToken)
	if _, err := l.Admit(bob, 4); err != nil { // the burst
		t.Fatal(err)
	}
	_, err := l.Admit(bob, 2)
	var le *LimitError
	if !errors.As(err, &le) || le.Budget || le.RetryAfter != 500*time.Millisecond {
		t.Fatalf("over rate: %v %+v, want a rate LimitError, retry in 0.5 s", err, le)
	}
	clock.t = clock.t.Add(500 * time.Millisecond)
	if _, err := l.Admit(bob, 2); err != nil {
		t.Errorf("after refill: %v", err)
	}
	// A request larger than the burst passes when the bucket is full and
	// delays the next ones.
	clock.t = clock.t.Add(time.Hour)
	if _, err := l.Admit(bob, 12); err != nil {
		t.Errorf("large request with a full bucket: %v", err)
	}
	if _, err := l.Admit(bob, 1); !errors.As(err, &le) || le.RetryAfter != 2250*time.Millisecond {
		t.Errorf("after a large request: %v, want retry in 2.25 s", err)
	}
	// Key defaults: alice has no rate of her own and the server has none.
	alice, _ := l.keys.Lookup(aliceToken)
	for range 5 {
		if _, err := l.Admit(alice, 2); err != nil {
			t.Errorf("alice: %v", err)
		}
	}
}

// TestAuthHTTP checks the status codes and headers of API keys over HTTP.
func TestAuthHTTP(t *testing.T) {
	l, st, _ := testLimiter(t, LimitOptions{Window: time.Hour})
	s := newTestServer(t, newRowModel(1), Options{Limiter: l})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	url := ts.URL + "/v2/models/m/infer"
	body := request(images(1, 4, 16), []int{1, 4, 4})
	cases := []struct {
		name, auth string
		status     int
		msg        string
	}{
		{"missing", "", 401, "missing"},
		{"scheme", "Basic " + aliceToken, 401, "Bearer"},
		{"unknown", "Bearer not-a-key-0123456789", 401, "unknown API key"},
		{"alice 1", "Bearer " + aliceToken, 200, ""},
		{"alice 2", "Bearer " + aliceToken, 200, ""},
		{"alice over", "Bearer " + aliceToken, 429, "budget exhausted"},
		{"bob 1", "Bearer " + bobToken, 200, ""},
		{"bob over", "Bearer " + bobToken, 429, "rate limit"},
	}
	for _, c := range cases {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		code, b, h := post(t, nil, url, body, hdr...)
		if code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, code, b, c.status)
			continue
		}
		switch code {
		case 401:
			if h.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", c.name)
			}
		case 429:
			if s, err := strconv.Atoi(h.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("%s: Retry-After %q", c.name, h.Get("Retry-After"))
			}
		}
		if code != 200 {
			if err := isV2Error(b, c.msg); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	}
	if a, b := st.Get("alice"), st.Get("bob"); a.Total != 8 || b.Total != 4 {
		t.Errorf("counts alice %+v bob %+v, want 8 and 4", a, b)
	}
	// Bad requests are refused before they are counted.
	post(t, nil, url, []byte("{"), "Authorization", "Bearer "+bobToken)
	if b := st.Get("bob"); b.Total != 4 {
		t.Errorf("a malformed request was counted: %+v", b)
	}
}
