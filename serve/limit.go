package serve

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// LimitOptions are the server-wide limits of API keys; a key's own limits
// in the key file override them.
type LimitOptions struct {
	// Budget is the number of queries (input images) a key may make per
	// Window; 0 means unlimited.
	Budget int64 `flag:"budget" help:"queries (images) per key per --budget-window (0: unlimited; the key file may override)"`
	// Window is the budget period: budgets reset at multiples of Window
	// since the Unix epoch (24h: every day at 00:00 UTC). 0 means that the
	// budget is for the key's lifetime.
	Window time.Duration `flag:"budget-window" help:"budget period, aligned to the Unix epoch (0: lifetime budget)"`
	// Rate is the sustained number of queries per second a key may make;
	// 0 means unlimited.
	Rate float64 `flag:"rate" help:"queries per second per key (0: unlimited)"`
	// Burst is the number of queries a key may make at once (the token
	// bucket's size); default max(⌈Rate⌉, 1).
	Burst int64 `flag:"burst" help:"queries a key may make at once (default: ⌈rate⌉)"`
	// Now is the clock (default time.Now); tests inject their own.
	Now func() time.Time
}

// ErrUnauthorized is returned by [Limiter.Authenticate] for a missing,
// malformed or unknown bearer token.
var ErrUnauthorized = errors.New("serve: unauthorized")

// LimitError is returned by [Limiter.Admit] when a key is over its budget or
// its rate; the server answers it with 429 Too Many Requests and a
// Retry-After header.
type LimitError struct {
	Key string
	// Budget is true when the budget is exhausted, false for the rate.
	Budget bool
	// RetryAfter is how long until the request could succeed; 0 when no
	// wait helps (a lifetime budget is exhausted).
	RetryAfter time.Duration
	msg        string
}

// Error returns the message sent to the client.
func (e *LimitError) Error() string { return e.msg }

// Limiter authenticates API keys and admits queries within each key's
// budget and rate, counting them in a [Store]. It is safe for concurrent
// use.
type Limiter struct {
	keys  *Keyring
	store *Store
	o     LimitOptions

	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket is a token bucket: tokens refill at the key's rate up to its
// burst, and a request may take it below zero (a large request is let
// through when a burst's worth is available and then delays later ones).
type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter for the keys in kr that counts queries in
// store (both required).
func NewLimiter(kr *Keyring, store *Store, o LimitOptions) (*Limiter, error) {
	if kr == nil || store == nil {
		return nil, errors.New("serve: a limiter needs a keyring and a count store")
	}
	if o.Budget < 0 || !(o.Rate >= 0) || math.IsInf(o.Rate, 0) || o.Burst < 0 || o.Window < 0 {
		return nil, fmt.Errorf("serve: negative or non-finite limit in %+v", o)
	}
	if o.Window > 0 && o.Window < time.Second {
		return nil, fmt.Errorf("serve: budget window %v is shorter than a second", o.Window)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{keys: kr, store: store, o: o, buckets: map[string]*bucket{}}, nil
}

// Keys returns the limiter's keyring.
func (l *Limiter) Keys() *Keyring { return l.keys }

// Authenticate returns the key of an Authorization header value
// "Bearer TOKEN", or an error wrapping [ErrUnauthorized].
func (l *Limiter) Authenticate(header string) (*Key, error) {
	if header == "" {
		return nil, fmt.Errorf("%w: missing Authorization: Bearer header", ErrUnauthorized)
	}
	tok, ok := bearer(header)
	if !ok {
		return nil, fmt.Errorf("%w: Authorization header is not \"Bearer TOKEN\"", ErrUnauthorized)
	}
	k, ok := l.keys.Lookup(tok)
	if !ok {
		return nil, fmt.Errorf("%w: unknown API key", ErrUnauthorized)
	}
	return k, nil
}

// limits returns the budget, rate and burst that apply to k.
func (l *Limiter) limits(k *Key) (budget int64, rate float64, burst int64) {
	budget, rate, burst = l.o.Budget, l.o.Rate, l.o.Burst
	if k.Budget >= 0 {
		budget = k.Budget
	}
	if k.Rate >= 0 {
		rate = k.Rate
	}
	if k.Burst > 0 {
		burst = k.Burst
	}
	if burst <= 0 {
		burst = max(int64(math.Ceil(rate)), 1)
	}
	return budget, rate, burst
}

// Admit counts n queries for key k if its budget and rate allow them, and
// returns its count after them. A [*LimitError] says why not; other errors
// come from the store. A query is counted once admitted, whether or not the
// inference that follows succeeds.
func (l *Limiter) Admit(k *Key, n int) (Count, error) {
	budget, rate, burst := l.limits(k)
	now := l.o.Now()
	var window int64
	if l.o.Window > 0 {
		window = now.UnixNano() / int64(l.o.Window)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.store.Get(k.Name)
	used := c.InWindow
	if window > c.Window {
		used = 0
	}
	if budget > 0 && used+int64(n) > budget {
		e := &LimitError{Key: k.Name, Budget: true}
		if l.o.Window > 0 {
			end := time.Unix(0, (window+1)*int64(l.o.Window))
			e.RetryAfter = end.Sub(now)
			e.msg = fmt.Sprintf("query budget exhausted: key %s has used %d of %d queries in this %v window, asked for %d more; the budget resets in %v",
				k.Name, used, budget, l.o.Window, n, e.RetryAfter.Round(time.Second))
		} else {
			e.msg = fmt.Sprintf("query budget exhausted: key %s has used %d of its %d queries, asked for %d more", k.Name, used, budget, n)
		}
		return c, e
	}
	var b *bucket
	if rate > 0 {
		b = l.buckets[k.Name]
		if b == nil {
			b = &bucket{tokens: float64(burst), last: now}
			l.buckets[k.Name] = b
		}
		if dt := now.Sub(b.last).Seconds(); dt > 0 {
			b.tokens = min(float64(burst), b.tokens+rate*dt)
			b.last = now
		}
		need := float64(min(int64(n), burst))
		if b.tokens < need {
			wait := time.Duration((need - b.tokens) / rate * float64(time.Second))
			return c, &LimitError{Key: k.Name, RetryAfter: wait,
				msg: fmt.Sprintf("rate limit: key %s may make %g queries per second (burst %d); retry in %v", k.Name, rate, burst, wait.Round(time.Millisecond))}
		}
		b.tokens -= float64(n)
	}
	c, err := l.store.Add(k.Name, window, int64(n))
	if err != nil && b != nil {
		b.tokens += float64(n)
	}
	return c, err
}
