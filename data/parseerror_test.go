package data

import (
	"errors"
	"strings"
	"testing"
)

// requireParseError fails the test unless err is a *ParseError whose message
// starts with the file name, as every reader's errors must.
func requireParseError(t *testing.T, err error, file string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), file) {
		t.Fatalf("error %q is not a *ParseError naming %s", err, file)
	}
}
