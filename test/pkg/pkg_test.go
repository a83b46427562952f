// Package pkg tests hostnet's packages: the .deb and .rpm that make deb and
// make rpm build from the same binaries, their systemd units and example
// host.conf, and (as root) the .deb installed on this machine with dpkg and
// exercised end to end, then removed and purged. make pkgtest runs it alone,
// after the other integration tests, because it changes /usr/sbin, /etc/hostnet
// and /etc/libvirt/hooks of the machine (and puts them back).
package pkg

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// The files of the package, where they are installed and with which mode:
// the contract of both packages (README "Install from RPM/DEB").
var packageFiles = map[string]os.FileMode{
	"/usr/sbin/hostprep":                                0o755,
	"/usr/sbin/hostnet-plug":                            0o755,
	"/etc/libvirt/hooks/qemu.d/hostnet":                 0o755,
	"/etc/hostnet/host.conf":                            0o644,
	"/usr/lib/systemd/system/hostprep.service":          0o644,
	"/usr/lib/systemd/system/hostnet-gc.service":        0o644,
	"/usr/lib/systemd/system/hostnet-reconcile.service": 0o644,
	"/usr/lib/systemd/system/hostnet-watch.service":     0o644,
}

// The directories the package owns (created on install, removed with it when empty).
var packageDirs = []string{"/etc/hostnet", "/etc/libvirt/hooks", "/etc/libvirt/hooks/qemu.d"}

const confPath = "/etc/hostnet/host.conf"

var units = []string{"hostprep.service", "hostnet-gc.service", "hostnet-reconcile.service"}

// distDir holds the packages built by this test process.
var distDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "hnpkg")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	distDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

// built are the packages of one version.
type built struct {
	Version  string
	Deb, RPM string
	Tarball  string // the RPM's Source0
}

var (
	buildMu sync.Mutex
	builds  = map[string]*built{}
)

// buildPackages runs `make deb rpm` (once per version per test process) and returns the
// packages. version "" is the version make takes from git, which is what a release gets.
func buildPackages(t *testing.T, version string) *built {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if b, ok := builds[version]; ok {
		return b
	}
	root := harness.RepoRoot(t)
	label := "git"
	args := []string{"-C", root, "--no-print-directory", "deb", "rpm"}
	if version != "" {
		label = "v-" + version
		args = append(args, "VERSION="+version)
	}
	out := filepath.Join(distDir, label)
	args = append(args, "DIST="+out)
	start := time.Now()
	mustRun(t, 10*time.Minute, "make", args...)
	t.Logf("make deb rpm (%s): %s", label, time.Since(start).Round(time.Millisecond))

	b := &built{Version: version}
	if b.Version == "" {
		b.Version = gitVersion(t)
	}
	b.Deb = onlyFile(t, out, "hostnet_*.deb")
	b.RPM = onlyFile(t, out, "hostnet-*.rpm")
	b.Tarball = onlyFile(t, out, "hostnet-*.tar.gz")
	if want := fmt.Sprintf("hostnet_%s_", b.Version); !strings.HasPrefix(filepath.Base(b.Deb), want) {
		t.Fatalf("make deb wrote %s, want a name starting with %s", b.Deb, want)
	}
	if want := fmt.Sprintf("hostnet-%s-1.", b.Version); !strings.HasPrefix(filepath.Base(b.RPM), want) {
		t.Fatalf("make rpm wrote %s, want a name starting with %s", b.RPM, want)
	}
	builds[version] = b
	return b
}

// gitVersion is the version scripts/pkg-version.sh derives from git.
func gitVersion(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(mustRun(t, time.Minute, filepath.Join(harness.RepoRoot(t), "scripts", "pkg-version.sh")))
}

func onlyFile(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(m) != 1 {
		t.Fatalf("%s in %s: want exactly one file, found %v (%v)", pattern, dir, m, err)
	}
	return m[0]
}

// mustRun runs a command (stdin empty) and returns its combined output; it fails the test on
// error or timeout.
func mustRun(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, err := runCmd(timeout, nil, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// runCmd runs a command with extra environment and returns its combined output.
func runCmd(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(goPath(os.Environ()), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return string(out), err
}

// goPath puts Go's usual install location on PATH, for make and rpmbuild's %build.
func goPath(env []string) []string {
	if _, err := exec.LookPath("go"); err == nil {
		return env
	}
	out := make([]string, 0, len(env))
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			e = "PATH=/usr/local/go/bin:" + v
		}
		out = append(out, e)
	}
	return out
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (scripts/install-deps.sh installs it: make deps): %v", tool, err)
		}
	}
}
