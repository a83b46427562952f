package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bins are the paths of hostnet's three binaries, built from the working tree.
type Bins struct {
	Hostprep string // ./hostprep
	Plug     string // ./plug (hostnet-plug)
	Hook     string // ./hooks (the qemu hook, installed as hooks/qemu.d/hostnet)
}

// Binaries builds all three binaries (once per test process) and fails the test if any does
// not build. Tests that need only one should call Binary, so a missing package elsewhere does
// not break them.
func Binaries(t testing.TB) Bins {
	t.Helper()
	return Bins{
		Hostprep: Binary(t, "./hostprep"),
		Plug:     Binary(t, "./plug"),
		Hook:     Binary(t, "./hooks"),
	}
}

// Binary builds the main package pkg (relative to the repository root, e.g. "./hostprep") once
// per test process and returns the executable's path.
func Binary(t testing.TB, pkg string) string {
	t.Helper()
	return BinaryWithTags(t, pkg)
}

// BinaryWithTags is Binary with build tags (e.g. "faultinject"); each tag set is a separate
// executable.
func BinaryWithTags(t testing.TB, pkg string, tags ...string) string {
	t.Helper()
	key := pkg + "|" + strings.Join(tags, ",")
	buildsMu.Lock()
	b, ok := builds[key]
	if !ok {
		b = &build{}
		builds[key] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() { b.path, b.err = goBuild(pkg, tags) })
	if b.err != nil {
		t.Fatalf("build %s: %v", pkg, b.err)
	}
	return b.path
}

type build struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*build{}
)

// binNames maps packages to the names their binaries are installed under.
var binNames = map[string]string{"hostprep": "hostprep", "plug": "hostnet-plug", "hooks": "hostnet-hook"}

// goBuild builds pkg into ROOT/build/harness/ (gitignored). It builds to a temp name and
// renames, so test processes of several packages building at once never see a partial file.
func goBuild(pkg string, tags []string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	base := filepath.Base(filepath.Clean(pkg))
	name := base
	if n, ok := binNames[base]; ok {
		name = n
	}
	if len(tags) > 0 {
		name += "-" + strings.Join(tags, "-")
	}
	dir := filepath.Join(root, "build", "harness")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// go build refuses to overwrite a file it did not write, so build into a fresh directory.
	tmpDir, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmpDir)
	tmp := filepath.Join(tmpDir, name)
	args := []string{"build", "-o", tmp}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), append(args, pkg)...)
	cmd.Dir = root
	if _, err := run(cmd); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, nil
}

// goTool finds the go command: PATH first, then the usual install location.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// RepoRoot returns the repository root (the directory holding go.mod, found by walking up
// from the working directory, which go test sets to the package directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory; run the tests from inside the hostnet repository")
		}
		dir = parent
	}
}
