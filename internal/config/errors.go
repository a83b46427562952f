package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// FieldError is one problem with one key or one networks entry. Parse and
// Validate return an errors.Join of them; find them with errors.As.
type FieldError struct {
	Field   string // key as written in the file, or networks[i]
	Value   string // the offending value as written; "" when it is not a single value
	Problem string // what is wrong
	Fix     string // what to do about it
}

// Error renders the problem on one line:
//
//	networks[1] "eth1/brpub/wire1": bridge brpub is already used by networks[0]; give each entry its own bridge
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.Field)
	if e.Value != "" {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// ErrSyntax marks a file that is not valid YAML, or not a single YAML mapping.
var ErrSyntax = errors.New("not valid YAML")

// notFoundError keeps errors.Is(err, fs.ErrNotExist) working while saying
// what the operator should do instead of repeating the OS message.
type notFoundError struct {
	path string
	err  error
}

func (e *notFoundError) Error() string {
	return fmt.Sprintf("config file %s does not exist; create it, or point --config or $%s at the right file", e.path, EnvConfig)
}

func (e *notFoundError) Unwrap() error { return e.err }

// displayKey makes a key from the file safe to print on one line.
func displayKey(key string) string {
	for i := 0; i < len(key); i++ {
		if !nameByte(key[i]) {
			return strconv.Quote(key)
		}
	}
	if key == "" {
		return `""`
	}
	return key
}
