// Package scope gives a program that is not a test the testing.TB that
// test/harness's fixtures take. Fatal ends the scope with a panic that Run
// recovers; Cleanup functions run when the scope ends, last first, also
// after a Fatal or a panic, so no namespace or daemon outlives it.
package scope

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// Scope is a testing.TB whose failures are errors returned by Run.
type Scope struct {
	// TB is nil: it only supplies testing.TB's unexported method. Every
	// exported method is defined below, so it is never called.
	testing.TB

	name   string
	out    io.Writer
	ctx    context.Context
	cancel context.CancelFunc

	owner *Scope // Try: where cleanups go

	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

// fatal is the panic value of Fatal, FailNow and Skip.
type fatal struct{}

// Run runs fn in a new scope named name that logs to out, then its
// cleanups. It returns the scope's failures (Error, Fatal) joined, or nil.
func Run(ctx context.Context, name string, out io.Writer, fn func(s *Scope)) error {
	s := &Scope{name: name, out: out}
	s.ctx, s.cancel = context.WithCancel(ctx)
	return s.run(fn)
}

// Sub runs fn in a child scope (name "PARENT/NAME") whose cleanups run when
// fn ends; a failure of the child is returned, not propagated.
func (s *Scope) Sub(name string, fn func(s *Scope)) error {
	return Run(s.ctx, s.name+"/"+name, s.out, fn)
}

// Try is Sub for fixtures that must outlive fn: the child's cleanups are
// handed to s, so they run when s ends; its failures are still returned,
// not propagated.
func (s *Scope) Try(name string, fn func(s *Scope)) error {
	c := &Scope{name: s.name + "/" + name, out: s.out, ctx: s.ctx, cancel: func() {}, owner: s}
	return c.run(fn)
}

func (s *Scope) run(fn func(*Scope)) (err error) {
	defer func() {
		r := recover()
		s.runCleanups()
		s.cancel()
		if _, ok := r.(fatal); !ok && r != nil {
			panic(r)
		}
		err = s.err()
	}()
	fn(s)
	return nil
}

func (s *Scope) runCleanups() {
	for {
		s.mu.Lock()
		n := len(s.cleanups)
		if n == 0 {
			s.mu.Unlock()
			return
		}
		fn := s.cleanups[n-1]
		s.cleanups = s.cleanups[:n-1]
		s.mu.Unlock()
		func() {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(fatal); !ok {
						s.fail(fmt.Sprintf("cleanup panicked: %v", r))
					}
				}
			}()
			fn()
		}()
	}
}

func (s *Scope) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %s", s.name, strings.Join(s.errs, "\n"))
}

func (s *Scope) fail(msg string) {
	s.mu.Lock()
	s.errs = append(s.errs, msg)
	s.mu.Unlock()
	fmt.Fprintf(s.out, "%s: FAIL: %s\n", s.name, msg)
}

// Cleanup registers fn to run when the scope ends.
func (s *Scope) Cleanup(fn func()) {
	if s.owner != nil {
		s.owner.Cleanup(fn)
		return
	}
	s.mu.Lock()
	s.cleanups = append(s.cleanups, fn)
	s.mu.Unlock()
}

func (s *Scope) Error(args ...any)                 { s.fail(strings.TrimSuffix(fmt.Sprintln(args...), "\n")) }
func (s *Scope) Errorf(format string, args ...any) { s.fail(fmt.Sprintf(format, args...)) }
func (s *Scope) Fail()                             { s.fail("failed") }
func (s *Scope) FailNow()                          { s.Fail(); panic(fatal{}) }
func (s *Scope) Fatal(args ...any)                 { s.Error(args...); panic(fatal{}) }
func (s *Scope) Fatalf(format string, args ...any) { s.Errorf(format, args...); panic(fatal{}) }

// Failed reports whether the scope has failed.
func (s *Scope) Failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.errs) > 0
}

func (s *Scope) Helper()         {}
func (s *Scope) Log(args ...any) { fmt.Fprintf(s.out, "%s: %s", s.name, fmt.Sprintln(args...)) }
func (s *Scope) Logf(format string, args ...any) {
	fmt.Fprintf(s.out, "%s: %s\n", s.name, fmt.Sprintf(format, args...))
}
func (s *Scope) Name() string             { return s.name }
func (s *Scope) Output() io.Writer        { return s.out }
func (s *Scope) Context() context.Context { return s.ctx }
func (s *Scope) Attr(key, value string)   { s.Logf("%s=%s", key, value) }

// Skip ends the scope like Fatal: a benchmark has no skipped parts.
func (s *Scope) Skip(args ...any)                 { s.Fatal(append([]any{"skipped:"}, args...)...) }
func (s *Scope) SkipNow()                         { s.Fatal("skipped") }
func (s *Scope) Skipf(format string, args ...any) { s.Fatalf("skipped: "+format, args...) }
func (s *Scope) Skipped() bool                    { return false }

// TempDir returns a new directory removed when the scope ends.
func (s *Scope) TempDir() string {
	dir, err := os.MkdirTemp("", "hnbench")
	if err != nil {
		s.Fatalf("TempDir: %v", err)
	}
	s.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			s.Errorf("remove %s: %v", dir, err)
		}
	})
	return dir
}

// ArtifactDir is TempDir: the bench keeps no artifacts.
func (s *Scope) ArtifactDir() string { return s.TempDir() }

// Setenv sets an environment variable until the scope ends.
func (s *Scope) Setenv(key, value string) {
	old, had := os.LookupEnv(key)
	if err := os.Setenv(key, value); err != nil {
		s.Fatalf("Setenv %s: %v", key, err)
	}
	s.Cleanup(func() {
		if had {
			_ = os.Setenv(key, old)
		} else {
			_ = os.Unsetenv(key)
		}
	})
}

// Chdir changes the working directory until the scope ends.
func (s *Scope) Chdir(dir string) {
	old, err := os.Getwd()
	if err == nil {
		err = os.Chdir(dir)
	}
	if err != nil {
		s.Fatalf("Chdir %s: %v", dir, err)
	}
	s.Cleanup(func() { _ = os.Chdir(old) })
}
