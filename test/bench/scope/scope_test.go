package scope

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

var _ testing.TB = (*Scope)(nil)

func TestCleanupsRunLastFirstAfterFatal(t *testing.T) {
	var order []string
	var out bytes.Buffer
	err := Run(context.Background(), "bench", &out, func(s *Scope) {
		s.Cleanup(func() { order = append(order, "first") })
		s.Cleanup(func() { order = append(order, "second") })
		s.Fatalf("bridge %s is gone", "br0")
		order = append(order, "not reached")
	})
	if err == nil || !strings.Contains(err.Error(), "bench: bridge br0 is gone") {
		t.Errorf("err = %v", err)
	}
	if strings.Join(order, ",") != "second,first" {
		t.Errorf("cleanup order %v", order)
	}
	if !strings.Contains(out.String(), "FAIL: bridge br0 is gone") {
		t.Errorf("log: %q", out.String())
	}
}

func TestErrorGoesOnAndFails(t *testing.T) {
	reached := false
	err := Run(context.Background(), "b", &bytes.Buffer{}, func(s *Scope) {
		s.Errorf("one")
		reached = true
		if !s.Failed() {
			t.Error("Failed() is false after Errorf")
		}
	})
	if !reached || err == nil || !strings.Contains(err.Error(), "one") {
		t.Errorf("reached %v err %v", reached, err)
	}
}

func TestSubFailsAlone(t *testing.T) {
	var ctxDone bool
	err := Run(context.Background(), "b", &bytes.Buffer{}, func(s *Scope) {
		var subCtx context.Context
		subErr := s.Sub("run1", func(c *Scope) {
			subCtx = c.Context()
			c.Fatal("boom")
		})
		ctxDone = subCtx.Err() != nil
		if subErr == nil || !strings.Contains(subErr.Error(), "b/run1: boom") {
			t.Errorf("sub err = %v", subErr)
		}
	})
	if err != nil {
		t.Errorf("parent failed: %v", err)
	}
	if !ctxDone {
		t.Error("the child's context outlived it")
	}
}

func TestTempDirAndSetenvUndone(t *testing.T) {
	var dir string
	const key = "HOSTNET_SCOPE_TEST"
	err := Run(context.Background(), "b", &bytes.Buffer{}, func(s *Scope) {
		dir = s.TempDir()
		s.Setenv(key, "1")
		if os.Getenv(key) != "1" {
			t.Error("Setenv did not set")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s survived: %v", dir, err)
	}
	if _, ok := os.LookupEnv(key); ok {
		t.Errorf("%s survived the scope", key)
	}
}

func TestOtherPanicsPropagateAfterCleanup(t *testing.T) {
	cleaned := false
	defer func() {
		if r := recover(); r != "bug" || !cleaned {
			t.Errorf("recovered %v, cleaned %v", r, cleaned)
		}
	}()
	_ = Run(context.Background(), "b", &bytes.Buffer{}, func(s *Scope) {
		s.Cleanup(func() { cleaned = true })
		panic("bug")
	})
}

func TestTryHandsCleanupsToTheParent(t *testing.T) {
	var order []string
	err := Run(context.Background(), "b", &bytes.Buffer{}, func(s *Scope) {
		tryErr := s.Try("start", func(c *Scope) {
			c.Cleanup(func() { order = append(order, "daemon stopped") })
			c.Fatal("half started")
		})
		if tryErr == nil || !strings.Contains(tryErr.Error(), "b/start: half started") {
			t.Errorf("try err = %v", tryErr)
		}
		order = append(order, "parent goes on")
	})
	if err != nil {
		t.Errorf("parent failed: %v", err)
	}
	if strings.Join(order, ",") != "parent goes on,daemon stopped" {
		t.Errorf("order %v", order)
	}
}
