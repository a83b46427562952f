package config

import (
	"errors"
	"strings"
	"testing"
)

var ifNameTests = []struct {
	name   string
	reason string // "" when valid
}{
	{"eth0", ""},
	{"br-pub_1.2", ""},
	{"a", ""},
	{"123456789012345", ""}, // 15 bytes
	{"enp0s31f6", ""},
	{"..x", ""},
	{"", "is empty"},
	{"1234567890123456", "is 16 bytes long"},
	{".", "is reserved"},
	{"..", "is reserved"},
	{"eth0:1", `contains ':'`},
	{"eth 0", `contains ' '`},
	{"br/0", `contains '/'`},
	{"eth0\n", `contains '\n'`},
	{"brü", "contains a non-ASCII character"},
	{"tap@vm", `contains '@'`},
}

func TestValidateIfName(t *testing.T) {
	for _, tt := range ifNameTests {
		err := ValidateIfName(tt.name)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("ValidateIfName(%q) = %v, want nil", tt.name, err)
			}
			continue
		}
		var ne *NameError
		if !errors.As(err, &ne) {
			t.Fatalf("ValidateIfName(%q) = %v, want a *NameError", tt.name, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.reason) || !strings.Contains(msg, "1 to 15 bytes of A-Z a-z 0-9 _ . -") {
			t.Errorf("ValidateIfName(%q) = %q, want the reason %q and the rule", tt.name, msg, tt.reason)
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("ValidateIfName(%q) message is not one line: %q", tt.name, msg)
		}
	}
}

func TestValidateWireName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"wire1", true},
		{"bcast0", true},
		{strings.Repeat("w", 31), true},
		{strings.Repeat("w", 32), false},
		{"", false},
		{"wire:1", false},
		{"..", false},
	} {
		err := ValidateWireName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateWireName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "wire names are 1 to 31 bytes") {
			t.Errorf("ValidateWireName(%q) = %q, want the wire rule", tt.name, err)
		}
	}
}
