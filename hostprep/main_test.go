package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestUsage: help and version are answers on stdout with exit 0; a wrong
// command line is a one-line reason plus the usage on stderr with exit 2.
// None of them reads a config.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		code        int
		out, errOut string
	}{
		{[]string{"--help"}, 0, "usage: hostprep", ""},
		{[]string{"-h"}, 0, "usage: hostprep", ""},
		{[]string{"help"}, 0, "usage: hostprep", ""},
		{[]string{"version"}, 0, "hostprep ", ""},
		{nil, 2, "", "hostprep: no command"},
		{[]string{"bogus"}, 2, "", `hostprep: unknown command "bogus"`},
		{[]string{"check", "extra"}, 2, "", `hostprep: unexpected argument "extra"`},
		{[]string{"apply", "--json"}, 2, "", "hostprep: --json goes with status"},
		{[]string{"--nope", "check"}, 2, "", "hostprep: flag provided but not defined: -nope"},
	} {
		var out, errOut bytes.Buffer
		code := run(tc.args, &out, &errOut)
		if code != tc.code {
			t.Errorf("hostprep %q: exit %d, want %d", tc.args, code, tc.code)
		}
		if tc.out != "" && !strings.HasPrefix(out.String(), tc.out) {
			t.Errorf("hostprep %q: stdout %q, want it to start with %q", tc.args, out.String(), tc.out)
		}
		if tc.out != "" && errOut.Len() != 0 {
			t.Errorf("hostprep %q: unexpected stderr %q", tc.args, errOut.String())
		}
		if tc.errOut != "" && (!strings.HasPrefix(errOut.String(), tc.errOut) || out.Len() != 0) {
			t.Errorf("hostprep %q: stderr %q (stdout %q), want stderr starting with %q and no stdout", tc.args, errOut.String(), out.String(), tc.errOut)
		}
	}
}
