package config

import (
	"fmt"
)

// Name limits. Interface names are kernel names (IFNAMSIZ-1). Wire names
// never reach the kernel (they are labels that the domain XML and the
// scheduler use), so they may be longer, with the same characters.
const (
	MaxIfNameLen   = 15
	MaxWireNameLen = 31
)

const (
	ifNameRule   = `interface names are 1 to 15 bytes of A-Z a-z 0-9 _ . - and not "." or ".."`
	wireNameRule = `wire names are 1 to 31 bytes of A-Z a-z 0-9 _ . - and not "." or ".."`
)

// NameError says why a name is not a valid interface (or wire) name, and
// states the rule.
type NameError struct {
	Name   string
	Reason string // e.g. "is 16 bytes long"
	Rule   string
}

func (e *NameError) Error() string {
	return fmt.Sprintf("%q %s (%s)", e.Name, e.Reason, e.Rule)
}

// ValidateIfName checks that name is usable as a Linux interface name here:
// 1..15 bytes of [A-Za-z0-9_.-], not "." or "..". The kernel allows more
// characters; hostnet does not, so names print and compare safely
// everywhere (OVSDB, the journal, shell commands an operator copies).
func ValidateIfName(name string) error {
	return validateName(name, MaxIfNameLen, ifNameRule)
}

// ValidateWireName checks a wire name: same characters as interface names,
// at most 31 bytes.
func ValidateWireName(name string) error {
	return validateName(name, MaxWireNameLen, wireNameRule)
}

func validateName(name string, maxLen int, rule string) error {
	fail := func(reason string) error { return &NameError{Name: name, Reason: reason, Rule: rule} }
	switch {
	case name == "":
		return fail("is empty")
	case len(name) > maxLen:
		return fail(fmt.Sprintf("is %d bytes long", len(name)))
	case name == "." || name == "..":
		return fail("is reserved")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if nameByte(c) {
			continue
		}
		if c >= 0x80 {
			return fail("contains a non-ASCII character")
		}
		return fail(fmt.Sprintf("contains %q", rune(c)))
	}
	return nil
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-'
}
