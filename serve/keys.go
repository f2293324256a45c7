package serve

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Key is one API key of a [Keyring]: a name (used in logs, metrics and the
// count store; never the secret) and optional limits that override the
// server-wide ones of [LimitOptions].
type Key struct {
	Name string
	// Budget is the number of queries (input images) allowed per budget
	// window; 0 means unlimited, -1 the server-wide default.
	Budget int64
	// Rate is the sustained number of queries per second; 0 means
	// unlimited, -1 the server-wide default.
	Rate float64
	// Burst is the number of queries the rate limiter lets through at once;
	// 0 means the server-wide default.
	Burst int64

	hash [sha256.Size]byte
}

// Keyring is a set of API keys read from a key file. Tokens are kept only as
// SHA-256 hashes.
type Keyring struct {
	keys   []*Key
	byHash map[[sha256.Size]byte]*Key
}

// MinTokenLen is the shortest token a key file may hold in clear.
const MinTokenLen = 16

// maxKeyLine bounds one line of a key file.
const maxKeyLine = 4096

// LoadKeys reads a key file (see [ParseKeys]).
func LoadKeys(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("serve: key file: %w", err)
	}
	defer f.Close()
	return ParseKeys(f, path)
}

// ParseKeys reads API keys, one per line:
//
//	# name   token                               limits (optional)
//	alice    0123456789abcdef0123456789abcdef    budget=10000 rate=20 burst=50
//	bob      sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//
// The name is 1 to 64 letters, digits, '.', '_' or '-'. The token is the
// bearer secret in clear (at least [MinTokenLen] printable characters) or
// "sha256:" and the hex SHA-256 of the secret, so that the file need not hold
// secrets. Limits: budget (whole queries per window, 0 unlimited), rate
// (queries per second, 0 unlimited) and burst (whole queries); omitted ones
// take the server-wide defaults. Blank lines and lines starting with '#' are
// ignored. Names and tokens must be unique. Errors name the source and line.
func ParseKeys(r io.Reader, source string) (*Keyring, error) {
	kr := &Keyring{byHash: map[[sha256.Size]byte]*Key{}}
	names := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxKeyLine)
	line := 0
	for sc.Scan() {
		line++
		bad := func(format string, args ...any) error {
			return fmt.Errorf("serve: key file %s:%d: %s", source, line, fmt.Sprintf(format, args...))
		}
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Fields(text)
		if len(f) < 2 {
			return nil, bad("want NAME TOKEN [budget=N] [rate=R] [burst=N], got %d field(s)", len(f))
		}
		k := &Key{Name: f[0], Budget: -1, Rate: -1}
		if err := checkKeyName(k.Name); err != nil {
			return nil, bad("%v", err)
		}
		if prev, dup := names[k.Name]; dup {
			return nil, bad("key name %q already used on line %d", k.Name, prev)
		}
		tok := f[1]
		if hx, ok := strings.CutPrefix(tok, "sha256:"); ok {
			b, err := hex.DecodeString(hx)
			if err != nil || len(b) != sha256.Size {
				return nil, bad("key %s: token %q: want sha256: and 64 hex digits", k.Name, short(tok))
			}
			copy(k.hash[:], b)
		} else {
			if len(tok) < MinTokenLen {
				return nil, bad("key %s: token has %d characters, need at least %d (or sha256:HEX)", k.Name, len(tok), MinTokenLen)
			}
			for _, c := range []byte(tok) {
				if c <= ' ' || c > '~' {
					return nil, bad("key %s: token has a non-printable or non-ASCII character", k.Name)
				}
			}
			k.hash = sha256.Sum256([]byte(tok))
		}
		if _, dup := kr.byHash[k.hash]; dup {
			return nil, bad("key %s: same token as key %s", k.Name, kr.byHash[k.hash].Name)
		}
		seen := map[string]bool{}
		for _, opt := range f[2:] {
			name, val, ok := strings.Cut(opt, "=")
			if !ok || seen[name] {
				return nil, bad("key %s: limit %q: want budget=N, rate=R or burst=N, each once", k.Name, short(opt))
			}
			seen[name] = true
			switch name {
			case "budget", "burst":
				v, err := strconv.ParseInt(val, 10, 64)
				least := int64(0)
				if name == "burst" {
					least = 1
				}
				if err != nil || v < least {
					return nil, bad("key %s: %s=%q: want a whole number ≥ %d", k.Name, name, short(val), least)
				}
				if name == "budget" {
					k.Budget = v
				} else {
					k.Burst = v
				}
			case "rate":
				v, err := strconv.ParseFloat(val, 64)
				if err != nil || !(v >= 0) || math.IsInf(v, 0) {
					return nil, bad("key %s: rate=%q: want a finite number ≥ 0 (queries per second)", k.Name, short(val))
				}
				k.Rate = v
			default:
				return nil, bad("key %s: unknown limit %q (have budget, rate, burst)", k.Name, short(name))
			}
		}
		names[k.Name] = line
		kr.keys = append(kr.keys, k)
		kr.byHash[k.hash] = k
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("serve: key file %s:%d: %w", source, line+1, err)
	}
	if len(kr.keys) == 0 {
		return nil, fmt.Errorf("serve: key file %s: no keys", source)
	}
	return kr, nil
}

func checkKeyName(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("key name %q: want 1 to 64 characters", short(s))
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("key name %q: only letters, digits, '.', '_' and '-'", short(s))
		}
	}
	return nil
}

// short quotes at most 40 bytes of s in error messages.
func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Lookup returns the key whose token is token.
func (kr *Keyring) Lookup(token string) (*Key, bool) {
	h := sha256.Sum256([]byte(token))
	k, ok := kr.byHash[h]
	if !ok {
		return nil, false
	}
	// The map lookup compares hashes, not secrets; compare again in
	// constant time for good measure.
	return k, subtle.ConstantTimeCompare(h[:], k.hash[:]) == 1
}

// Keys returns the keys in file order.
func (kr *Keyring) Keys() []Key {
	out := make([]Key, len(kr.keys))
	for i, k := range kr.keys {
		out[i] = *k
	}
	return out
}

// Len is the number of keys.
func (kr *Keyring) Len() int { return len(kr.keys) }

// bearer extracts the token of an "Authorization: Bearer TOKEN" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && !bytes.ContainsAny([]byte(tok), " \t")
}
