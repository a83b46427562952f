package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse: any bytes give either a config or an error, never a panic; a
// config re-validates and its entries re-parse to themselves; every
// message is one line.
func FuzzParse(f *testing.F) {
	for _, tt := range validConfigTests {
		f.Add([]byte(tt.data))
	}
	for _, tt := range invalidConfigTests {
		f.Add([]byte(tt.data))
	}
	for _, tt := range syntaxTests {
		f.Add([]byte(tt.data))
	}
	if data, err := os.ReadFile(filepath.Join("testdata", "cloudpods-host.conf")); err == nil {
		f.Add(data)
	} else {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, warns, err := Parse(data, "host.conf")
		for _, w := range warns {
			if strings.Contains(w.Message, "\n") || w.Message == "" {
				t.Errorf("warning is not one line: %q", w.Message)
			}
		}
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want exactly one of a config and an error", c, err)
		}
		if err != nil {
			checkErrorLines(t, err)
			if errors.Is(err, ErrSyntax) && !strings.HasPrefix(err.Error(), "host.conf: not valid YAML: line ") {
				t.Errorf("syntax error does not name the file and the line: %q", err)
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("parsed config does not re-validate: %v", verr)
		}
		for i, e := range c.Networks {
			again, perr := ParseEntry(e.Index, e.Raw)
			if perr != nil || !reflect.DeepEqual(again, e) || e.Index < i {
				t.Fatalf("entry %+v re-parses to %+v, %v", e, again, perr)
			}
		}
	})
}

// FuzzParseEntry: any string gives an entry or errors naming the entry;
// an entry is consistent and survives a round trip through its fields.
func FuzzParseEntry(f *testing.F) {
	for _, tt := range validEntryTests {
		f.Add(tt.raw)
	}
	for _, tt := range invalidEntryTests {
		f.Add(tt.raw)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := ParseEntry(4, raw)
		if err != nil {
			if !reflect.DeepEqual(e, Entry{}) {
				t.Errorf("ParseEntry(%q) returned %+v with its error", raw, e)
			}
			for _, fe := range fieldErrors(t, err) {
				if fe.Field != "networks[4]" || fe.Value != raw || fe.Problem == "" || fe.Fix == "" {
					t.Errorf("ParseEntry(%q): error %+v does not name the entry, problem and fix", raw, fe)
				}
			}
			checkErrorLines(t, err)
			return
		}
		if errs := e.validate(); len(errs) > 0 {
			t.Fatalf("ParseEntry(%q) = %+v, which does not validate: %v", raw, e, errs)
		}
		if e.Raw != raw || e.Index != 4 || (e.Wire == "") == (len(e.IPs) == 0) {
			t.Fatalf("ParseEntry(%q) = %+v is inconsistent", raw, e)
		}
		parts := []string{e.NIC, e.Bridge}
		if e.Wire != "" {
			parts = append(parts, e.Wire)
		}
		for _, ip := range e.IPs {
			parts = append(parts, ip.String())
		}
		rebuilt := strings.Join(parts, "/")
		again, err := ParseEntry(4, rebuilt)
		again.Raw = raw
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("ParseEntry(%q) = %+v, but its fields %q parse to %+v, %v", raw, e, rebuilt, again, err)
		}
	})
}

// checkErrorLines: an error is one line per problem.
func checkErrorLines(t *testing.T, err error) {
	t.Helper()
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("error is not one line: %q", msg)
		}
	}
	walk(err)
}
