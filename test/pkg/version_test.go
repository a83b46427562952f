package pkg

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

func pkgVersion(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := runCmd(time.Minute, nil, filepath.Join(harness.RepoRoot(t), "scripts", "pkg-version.sh"), args...)
	return strings.TrimSpace(out), err
}

// TestPkgVersionForms: git describe output (and the commit count, without a tag) to the
// package version.
func TestPkgVersionForms(t *testing.T) {
	for _, c := range []struct{ describe, commits, want string }{
		{"v1.2.3-0-gabc1234", "", "1.2.3"},
		{"v1.2.3-4-gabc1234", "", "1.2.3+git4.abc1234"},
		{"v1.2.3-4-gabc1234-dirty", "", "1.2.3+git4.abc1234.dirty"},
		{"v1.2.3-0-gabc1234-dirty", "", "1.2.3+dirty"},
		{"v1.2.3-rc1-0-gabc1234", "", "1.2.3~rc1"},
		{"v1.2.3-rc1-2-gabc1234", "", "1.2.3~rc1+git2.abc1234"},
		{"v2.0_beta-0-gabc1234", "", "2.0~beta"},
		{"abc1234", "21", "0.0.0+git21.abc1234"},
		{"abc1234-dirty", "21", "0.0.0+git21.abc1234.dirty"},
	} {
		got, err := pkgVersion(t, c.describe, c.commits)
		if err != nil || got != c.want {
			t.Errorf("pkg-version.sh %s %s = %q (%v), want %q", c.describe, c.commits, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "not a describe", "vfoo-0-gabc1234"} {
		if got, err := pkgVersion(t, bad); err == nil {
			t.Errorf("pkg-version.sh %q = %q, want an error", bad, got)
		}
	}
}

// TestPkgVersionsValidAndOrdered: every form is a valid version for dpkg and rpm, and both
// order them as releases go (pre-release, release, commits after it, next release).
func TestPkgVersionsValidAndOrdered(t *testing.T) {
	requireTools(t, "dpkg", "rpm")
	var order []string
	for _, d := range []struct{ describe, commits string }{
		{"abc1234", "9"},
		{"abc1234", "10"},
		{"v0.1.0-rc1-0-gabc1234", ""},
		{"v0.1.0-rc1-3-gabc1234", ""},
		{"v0.1.0-0-gabc1234", ""},
		{"v0.1.0-0-gabc1234-dirty", ""},
		{"v0.1.0-2-gabc1234", ""},
		{"v0.1.0-2-gabc1234-dirty", ""},
		{"v0.1.0-10-g0123abc", ""},
		{"v0.1.1-0-gabc1234", ""},
	} {
		v, err := pkgVersion(t, d.describe, d.commits)
		if err != nil {
			t.Fatalf("pkg-version.sh %s %s: %v", d.describe, d.commits, err)
		}
		if out, err := runCmd(time.Minute, nil, "dpkg", "--validate-version", v); err != nil {
			t.Errorf("dpkg rejects %q: %s", v, out)
		}
		order = append(order, v)
	}
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if _, err := runCmd(time.Minute, nil, "dpkg", "--compare-versions", a, "lt", b); err != nil {
			t.Errorf("dpkg: %s is not older than %s", a, b)
		}
		out, err := runCmd(time.Minute, nil, "rpm", "--eval", fmt.Sprintf(`%%{lua:print(rpm.vercmp(%q, %q))}`, a, b))
		if err != nil || strings.TrimSpace(out) != "-1" {
			t.Errorf("rpm: %s is not older than %s (vercmp %q, %v)", a, b, out, err)
		}
	}
}

// TestPkgVersionFromGit: without arguments the version comes from this checkout: it names
// HEAD's commit unless HEAD is exactly a release tag.
func TestPkgVersionFromGit(t *testing.T) {
	root := harness.RepoRoot(t)
	v, err := pkgVersion(t)
	if err != nil {
		t.Fatalf("pkg-version.sh: %v", err)
	}
	if out, err := runCmd(time.Minute, nil, "dpkg", "--validate-version", v); err != nil {
		t.Errorf("dpkg rejects %q: %s", v, out)
	}
	sha := strings.TrimSpace(mustRun(t, time.Minute, "git", "-C", root, "rev-parse", "--short=7", "HEAD"))
	_, atTag := runCmd(time.Minute, nil, "git", "-C", root, "describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD")
	if atTag != nil && !strings.Contains(v, "+git") {
		t.Errorf("version %q of a checkout not at a tag does not say +git", v)
	}
	if atTag != nil && !strings.Contains(v, sha) {
		t.Errorf("version %q does not name HEAD (%s)", v, sha)
	}
}
