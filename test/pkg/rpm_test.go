package pkg

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// entry is one file of a package: mode (permission bits; dirs have fs.ModeDir) and, for a
// regular file, the sha256 of its contents.
type entry struct {
	mode   fs.FileMode
	sha256 string
}

// debEntries extracts a .deb with dpkg-deb and reads its files.
func debEntries(t *testing.T, deb string) map[string]entry {
	t.Helper()
	dir := t.TempDir()
	mustRun(t, time.Minute, "dpkg-deb", "-x", deb, dir)
	out := map[string]entry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{mode: info.Mode() & (fs.ModePerm | fs.ModeDir | fs.ModeSymlink)}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			e.sha256 = hex.EncodeToString(sum[:])
		}
		out[strings.TrimPrefix(p, dir)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rpmQuery runs an rpm query on a package file with a database of the test's own: rpm opens
// (and on Debian creates) one even to read a package, by default in the home directory.
func rpmQuery(t *testing.T, args ...string) string {
	t.Helper()
	return mustRun(t, time.Minute, "rpm", append([]string{"--dbpath", filepath.Join(distDir, "rpmdb")}, args...)...)
}

// rpmEntries reads an RPM's files with `rpm -qp --dump` (path size mtime digest mode ...).
func rpmEntries(t *testing.T, rpm string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	for _, line := range strings.Split(strings.TrimSpace(rpmQuery(t, "-qp", "--dump", rpm)), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			t.Fatalf("rpm --dump line %q", line)
		}
		m, err := strconv.ParseUint(f[4], 8, 32)
		if err != nil {
			t.Fatalf("rpm --dump mode %q: %v", f[4], err)
		}
		e := entry{mode: fs.FileMode(m & 0o777)}
		switch m & 0o170000 {
		case 0o040000:
			e.mode |= fs.ModeDir
		case 0o100000:
			e.sha256 = f[3]
		default:
			t.Fatalf("rpm %s: %s is neither a file nor a directory", rpm, f[0])
		}
		out[f[0]] = e
	}
	return out
}

func filesOnly(m map[string]entry) []string {
	var out []string
	for p, e := range m {
		if !e.mode.IsDir() {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// TestDebAndRPMHoldTheSameFiles: `make deb` and `make rpm` (rpmbuild from Debian's rpm package)
// build; `rpm -qlp` lists the files `dpkg -c` lists, with the same contents and modes, which are
// the package contract; host.conf is the only config file of both; both carry the version from
// git; the maintainer scripts and scriptlets are valid shell.
func TestDebAndRPMHoldTheSameFiles(t *testing.T) {
	requireTools(t, "make", "dpkg-deb", "rpm", "rpmbuild")
	b := buildPackages(t, "")

	// The listings, as the issue states it: rpm -qlp vs dpkg -c.
	var debList []string
	for _, line := range strings.Split(strings.TrimSpace(mustRun(t, time.Minute, "dpkg", "-c", b.Deb)), "\n") {
		f := strings.Fields(line)
		if name := f[len(f)-1]; !strings.HasPrefix(f[0], "d") {
			debList = append(debList, strings.TrimPrefix(name, "."))
		}
	}
	slices.Sort(debList)
	rpmAll := strings.Fields(rpmQuery(t, "-qlp", b.RPM))
	debEnt, rpmEnt := debEntries(t, b.Deb), rpmEntries(t, b.RPM)
	rpmFiles := filesOnly(rpmEnt)
	if !slices.Equal(debList, rpmFiles) {
		t.Errorf("files differ:\ndpkg -c:  %v\nrpm -qlp: %v", debList, rpmFiles)
	}
	var contract []string
	for p := range packageFiles {
		contract = append(contract, p)
	}
	slices.Sort(contract)
	if !slices.Equal(debList, contract) {
		t.Errorf("the .deb holds %v, want %v", debList, contract)
	}
	// rpm -qlp lists files and the directories the RPM owns; the .deb's tar has every parent.
	var rpmDirs []string
	for _, p := range rpmAll {
		if rpmEnt[p].mode.IsDir() {
			rpmDirs = append(rpmDirs, p)
		}
	}
	slices.Sort(rpmDirs)
	if want := slices.Sorted(slices.Values(packageDirs)); !slices.Equal(rpmDirs, want) {
		t.Errorf("the RPM owns the directories %v, want %v", rpmDirs, want)
	}
	for _, p := range contract {
		d, r := debEnt[p], rpmEnt[p]
		if d.mode != packageFiles[p] || r.mode != packageFiles[p] {
			t.Errorf("%s: mode %v in the .deb, %v in the RPM, want %v", p, d.mode, r.mode, packageFiles[p])
		}
		if d.sha256 == "" || d.sha256 != r.sha256 {
			t.Errorf("%s: contents differ between the .deb (sha256 %s) and the RPM (%s)", p, d.sha256, r.sha256)
		}
	}
	for _, d := range packageDirs {
		if e, ok := debEnt[d]; !ok || e.mode != fs.ModeDir|0o755 {
			t.Errorf("the .deb has %s as %v, want a 0755 directory", d, e.mode)
		}
	}

	// Config files.
	if got := strings.Fields(rpmQuery(t, "-qcp", b.RPM)); !slices.Equal(got, []string{confPath}) {
		t.Errorf("rpm -qcp: %v, want [%s]", got, confPath)
	}
	if got := strings.Fields(mustRun(t, time.Minute, "dpkg-deb", "-I", b.Deb, "conffiles")); !slices.Equal(got, []string{confPath}) {
		t.Errorf("the .deb's conffiles: %v, want [%s]", got, confPath)
	}

	// Versions.
	if got := strings.TrimSpace(mustRun(t, time.Minute, "dpkg-deb", "-f", b.Deb, "Version")); got != b.Version {
		t.Errorf(".deb Version %s, want %s", got, b.Version)
	}
	if got := rpmQuery(t, "-qp", "--qf", "%{VERSION}", b.RPM); got != b.Version {
		t.Errorf("RPM VERSION %s, want %s", got, b.Version)
	}
	if got := rpmQuery(t, "-qp", "--requires", b.RPM); !strings.Contains(got, "/usr/bin/ovs-vsctl") {
		t.Errorf("the RPM does not require /usr/bin/ovs-vsctl:\n%s", got)
	}

	// Scripts parse as shell (the .deb's run for real in the install test).
	scripts := t.TempDir()
	mustRun(t, time.Minute, "dpkg-deb", "-e", b.Deb, scripts)
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		mustRun(t, time.Minute, "sh", "-n", filepath.Join(scripts, s))
	}
	for _, tag := range []string{"POSTIN", "PREUN", "POSTUN"} {
		body := rpmQuery(t, "-qp", "--qf", "%{"+tag+"}", b.RPM)
		if body == "" || body == "(none)" {
			t.Errorf("the RPM has no %s scriptlet", tag)
			continue
		}
		f := filepath.Join(scripts, tag)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		mustRun(t, time.Minute, "sh", "-n", f)
	}
}

// rpmRoot is a private RPM root: install, upgrade and erase run there with --noscripts (the
// scriptlets call systemctl, which would act on this machine) and --nodeps (Debian's RPM
// database knows none of Debian's packages).
type rpmRoot string

func (r rpmRoot) rpm(t *testing.T, args ...string) string {
	t.Helper()
	return mustRun(t, 2*time.Minute, "rpm", append([]string{"--root", string(r)}, args...)...)
}

func (r rpmRoot) path(p string) string { return filepath.Join(string(r), p) }

// TestRPMFromSourceInstallsUpgradesErases: the spec's source build (what a RHEL-family builder
// runs: rpmbuild -tb on the tarball make rpm writes, %build calling go build) produces the
// same file set as make rpm, with working binaries stamped with the version. Installed into a
// private root, then upgraded to a newer make rpm package, an operator's host.conf is kept
// (%config(noreplace)); erasing leaves only host.conf.rpmsave of it all.
func TestRPMFromSourceInstallsUpgradesErases(t *testing.T) {
	requireTools(t, "make", "rpm", "rpmbuild")
	b := buildPackages(t, "")

	top := t.TempDir()
	start := time.Now()
	mustRun(t, 15*time.Minute, "rpmbuild", "-tb", "--nodeps", "--quiet",
		"--define", "_topdir "+top, "--define", "_dbpath "+filepath.Join(top, "rpmdb"), "--define", "hostnet_version "+b.Version, b.Tarball)
	t.Logf("rpmbuild -tb from the source tarball (go build inside): %s", time.Since(start).Round(time.Millisecond))
	fromSource := onlyFile(t, filepath.Join(top, "RPMS", "x86_64"), "hostnet-*.rpm")
	src, pre := rpmEntries(t, fromSource), rpmEntries(t, b.RPM)
	if !slices.Equal(filesOnly(src), filesOnly(pre)) {
		t.Fatalf("source-built RPM files %v, make rpm's %v", filesOnly(src), filesOnly(pre))
	}
	for p, e := range pre {
		if src[p].mode != e.mode {
			t.Errorf("%s: mode %v in the source-built RPM, %v in make rpm's", p, src[p].mode, e.mode)
		}
	}

	root := rpmRoot(t.TempDir())
	root.rpm(t, "--initdb")
	root.rpm(t, "-i", "--nodeps", "--noscripts", fromSource)
	for p, mode := range packageFiles {
		info, err := os.Stat(root.path(p))
		if err != nil || info.Mode().Perm() != mode || !info.Mode().IsRegular() {
			t.Errorf("installed %s: %v, %v; want a regular file of mode %v", p, info, err, mode)
		}
	}
	if got := mustRun(t, time.Minute, root.path("/usr/sbin/hostnet-plug"), "version"); strings.TrimSpace(got) != "hostnet-plug "+b.Version {
		t.Errorf("the source-built hostnet-plug says %q, want version %s", got, b.Version)
	}

	// The operator edits host.conf; an upgrade keeps it.
	operator := []byte("# the operator's host.conf\nnetworks:\n  - eth0/br0/192.0.2.10\n")
	if err := os.WriteFile(root.path(confPath), operator, 0o644); err != nil {
		t.Fatal(err)
	}
	next := b.Version + ".1"
	up := buildPackages(t, next)
	root.rpm(t, "-U", "--nodeps", "--noscripts", up.RPM)
	if got := strings.TrimSpace(root.rpm(t, "-q", "--qf", "%{VERSION}", "hostnet")); got != next {
		t.Errorf("after the upgrade the RPM database has %s, want %s", got, next)
	}
	if got := mustRun(t, time.Minute, root.path("/usr/sbin/hostnet-plug"), "version"); strings.TrimSpace(got) != "hostnet-plug "+next {
		t.Errorf("after the upgrade hostnet-plug says %q, want version %s", got, next)
	}
	if got, _ := os.ReadFile(root.path(confPath)); string(got) != string(operator) {
		t.Errorf("the upgrade changed the operator's host.conf:\n%s", got)
	}

	root.rpm(t, "-e", "--nodeps", "--noscripts", "hostnet")
	for p := range packageFiles {
		if _, err := os.Lstat(root.path(p)); err == nil {
			t.Errorf("%s is still there after rpm -e", p)
		}
	}
	if _, err := os.Stat(root.path("/etc/libvirt/hooks/qemu.d")); err == nil {
		t.Errorf("/etc/libvirt/hooks/qemu.d is still there after rpm -e")
	}
	if got, err := os.ReadFile(root.path(confPath + ".rpmsave")); err != nil || string(got) != string(operator) {
		t.Errorf("after rpm -e, host.conf.rpmsave = %q (%v); want the operator's file", got, err)
	}
}
