package config

import (
	"errors"
	"strings"
	"testing"
)

// fieldErrors flattens the errors.Join tree Parse returns.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("error %q (%T) is not a *FieldError", err, err)
		}
		out = append(out, fe)
	}
	walk(err)
	return out
}

// wantErrors checks that err holds exactly one *FieldError per want, each
// containing its want substring, and that every line is one line.
func wantErrors(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d: %q", len(want), want)
	}
	got := fieldErrors(t, err)
	for _, fe := range got {
		if strings.Contains(fe.Error(), "\n") {
			t.Errorf("error is more than one line: %q", fe.Error())
		}
	}
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v\nwant substrings %q", len(got), len(want), err, want)
	}
	for i, w := range want {
		if !strings.Contains(got[i].Error(), w) {
			t.Errorf("error %d = %q\n want it to contain %q", i, got[i].Error(), w)
		}
	}
}
