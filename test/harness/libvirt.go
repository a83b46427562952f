package harness

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// LibvirtOptions configures a private libvirtd.
type LibvirtOptions struct {
	// Hooks maps a hook name to an executable copied to hooks/qemu.d/NAME before libvirtd
	// starts (libvirtd reads its hook directories only at start).
	Hooks map[string]string
	// RealHooks keeps the machine's /etc/libvirt/hooks visible to the private libvirtd (for
	// packaging tests of an installed hook) instead of a private, empty one plus Hooks.
	RealHooks bool
	// Binds maps a directory of the machine (say /etc/hostnet) to a directory of the test
	// that libvirtd and its hooks see in its place: libvirtd runs hooks with a minimal
	// environment, so a hook finds its config at its default path. Missing mount points are
	// created (empty directories).
	Binds map[string]string
	// Env is added to the environment of libvirtd and virtlogd, e.g. OVS_RUNDIR so that
	// libvirt's own `ovs-vsctl` calls (<virtualport type='openvswitch'/>) reach a private
	// OVS. Hooks never see it: libvirtd runs them with a minimal environment.
	Env []string
}

// Libvirt is a private libvirtd + virtlogd inside NS and a private mount namespace: its
// /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt and /etc/libvirt are
// bind mounts of directories under Dir, so it touches nothing of the machine's libvirt. Taps
// and qemu live in NS: an OVS started with StartOVS(t, NS) sees the taps.
type Libvirt struct {
	Dir   string // run/ lib/ log/ cache/ etc/ (with etc/hooks/qemu.d/), consoles, pidfiles
	NS    *Netns
	URI   string // for virsh -c
	mntns string // libvirtd's mount namespace, to find every process it left behind
	// mntnsRef holds that namespace open until teardown is done with it: a
	// freed namespace's inode number is soon reused by another one (every
	// `ip netns exec` makes one), and mntns would then name strangers'
	// processes to kill.
	mntnsRef *os.File
	// madeMountPoints are the Binds targets StartLibvirt had to create on
	// the machine (say /etc/hostnet): teardown removes them again.
	madeMountPoints []string

	stopReaper chan struct{}
	reaperDone chan struct{}
}

// The mount points of the machine that the private daemons see replaced.
var libvirtMounts = []struct{ sub, target string }{
	{"run", "/run/libvirt"},
	{"lib", "/var/lib/libvirt"},
	{"log", "/var/log/libvirt"},
	{"cache", "/var/cache/libvirt"},
}

const qemuConf = `# private libvirtd of a hostnet test: qemu runs as root, unconfined, in the test's namespaces
user = "root"
group = "root"
dynamic_ownership = 0
namespaces = [ ]
security_driver = "none"
cgroup_controllers = [ ]
`

const libvirtdConf = `log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
`

// StartLibvirt starts a private libvirtd in ns and waits until it answers. Teardown destroys
// every domain (so hooks see stopped/release), stops libvirtd and virtlogd, kills any process
// left in their mount namespace (qemu), and on failure logs libvirtd's and qemu's logs and the
// consoles.
func StartLibvirt(t testing.TB, ns *Netns, opts LibvirtOptions) *Libvirt {
	t.Helper()
	for _, bin := range []string{"libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "unshare"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install libvirt-daemon-system, libvirt-clients and qemu-system-x86 (%v)", bin, err)
		}
	}
	if opts.RealHooks && len(opts.Hooks) > 0 {
		t.Fatalf("StartLibvirt: RealHooks and Hooks exclude each other (install hooks into /etc/libvirt/hooks instead)")
	}
	dir, err := os.MkdirTemp("", "hnlv")
	if err != nil {
		t.Fatalf("StartLibvirt: %v", err)
	}
	l := &Libvirt{Dir: dir, NS: ns, URI: "qemu:///system?socket=" + filepath.Join(dir, "run", "libvirt-sock")}
	t.Cleanup(func() { l.teardown(t) })

	hookDir := filepath.Join(dir, "etc", "hooks", "qemu.d")
	for _, d := range []string{"run", "lib", "log", "cache", "etc/hooks/qemu.d"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatalf("StartLibvirt: %v", err)
		}
	}
	capsCache(filepath.Join(dir, "cache"), true)
	for file, text := range map[string]string{"qemu.conf": qemuConf, "libvirtd.conf": libvirtdConf} {
		if err := os.WriteFile(filepath.Join(dir, "etc", file), []byte(text), 0o644); err != nil {
			t.Fatalf("StartLibvirt: %v", err)
		}
	}
	for name, src := range opts.Hooks {
		if err := copyExecutable(src, filepath.Join(hookDir, name)); err != nil {
			t.Fatalf("StartLibvirt: install hook %s from %s: %v", name, src, err)
		}
	}

	var script strings.Builder
	script.WriteString("set -e\n")
	if opts.RealHooks {
		if _, err := os.Stat("/etc/libvirt/hooks"); err != nil {
			t.Fatalf("StartLibvirt with RealHooks: %v (install the package that provides the hook first)", err)
		}
		fmt.Fprintf(&script, "mount --bind /etc/libvirt/hooks %s\n", filepath.Join(dir, "etc", "hooks"))
	}
	for _, m := range libvirtMounts {
		// The mount points belong to libvirt's packages; create them if a package did not.
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			t.Fatalf("StartLibvirt: %v", err)
		}
		fmt.Fprintf(&script, "mount --bind %s %s\n", filepath.Join(dir, m.sub), m.target)
	}
	for target, src := range opts.Binds {
		if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
			l.madeMountPoints = append(l.madeMountPoints, target)
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			t.Fatalf("StartLibvirt: bind mount point: %v", err)
		}
		fmt.Fprintf(&script, "mount --bind %s %s\n", src, target)
	}
	if err := os.MkdirAll("/etc/libvirt", 0o755); err != nil {
		t.Fatalf("StartLibvirt: %v", err)
	}
	// rbind: with RealHooks, etc/hooks is itself a mount.
	fmt.Fprintf(&script, "mount --rbind %s /etc/libvirt\n", filepath.Join(dir, "etc"))
	fmt.Fprintf(&script, "virtlogd -d -p %s\nlibvirtd -d -p %s\n", l.pidfile("virtlogd"), l.pidfile("libvirtd"))

	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := ns.Command(ctx, "unshare", "-m", "--propagation", "private", "sh", "-c", script.String())
	cmd.Env = append(os.Environ(), opts.Env...)
	if _, err := run(cmd); err != nil {
		t.Fatalf("start libvirtd in %s: %v\n%s", ns, err, tail(filepath.Join(dir, "log", "libvirtd.log"), 30))
	}
	l.waitReady(t)
	return l
}

func (l *Libvirt) pidfile(daemon string) string { return filepath.Join(l.Dir, daemon+".pid") }

// waitReady waits (bounded) for libvirtd's socket to answer. As soon as libvirtd's mount
// namespace is known it starts the reaper: a cold libvirtd probes qemu before it answers, and
// the probe's qemu dies as our zombie, which libvirtd would wait for until it gives up.
func (l *Libvirt) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		pid := readPidfile(l.pidfile("libvirtd"))
		if pid > 0 && l.mntns == "" {
			l.holdMntns(pid)
			l.startReaper()
		}
		out, err := l.VirshErr("version")
		if err == nil {
			return
		}
		if time.Now().After(deadline) || (pid > 0 && !alive(pid)) {
			t.Fatalf("private libvirtd in %s did not come up: %v\n--- libvirtd.log\n%s", l.NS, err,
				tail(filepath.Join(l.Dir, "log", "libvirtd.log"), 30)+"\n"+out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// VirshErr runs virsh against this libvirtd and returns output and error, for expected refusals.
func (l *Libvirt) VirshErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return run(exec.CommandContext(ctx, "virsh", append([]string{"-q", "-c", l.URI}, args...)...))
}

// Virsh runs virsh against this libvirtd and fails the test on error.
func (l *Libvirt) Virsh(t testing.TB, args ...string) string {
	t.Helper()
	out, err := l.VirshErr(args...)
	if err != nil {
		t.Fatalf("private libvirtd %s: %v", l.Dir, err)
	}
	return strings.TrimSpace(out)
}

// ConsolePath is the default serial console file of a domain.
func (l *Libvirt) ConsolePath(name string) string { return filepath.Join(l.Dir, name+".console") }

// DefineAndStart defines a domain from XML and starts it; it returns the domain's name.
func (l *Libvirt) DefineAndStart(t testing.TB, domainXML string) string {
	t.Helper()
	name, err := l.Define(domainXML)
	if err != nil {
		t.Fatalf("%v", err)
	}
	l.Virsh(t, "start", name)
	return name
}

// Define defines a domain from XML without starting it and returns its name.
func (l *Libvirt) Define(domainXML string) (string, error) {
	var d struct {
		Name string `xml:"name"`
	}
	if err := xml.Unmarshal([]byte(domainXML), &d); err != nil || d.Name == "" {
		return "", fmt.Errorf("domain XML without a <name> (%v):\n%s", err, domainXML)
	}
	file := filepath.Join(l.Dir, d.Name+".xml")
	if err := os.WriteFile(file, []byte(domainXML), 0o644); err != nil {
		return "", err
	}
	if _, err := l.VirshErr("define", file); err != nil {
		return "", err
	}
	return d.Name, nil
}

// StartGuest fills in the guest's kernel, initrd (Guest(t)) and console (ConsolePath) when
// empty, then defines and starts it. It returns the completed description.
func (l *Libvirt) StartGuest(t testing.TB, g GuestDomain) GuestDomain {
	t.Helper()
	if g.Kernel == "" || g.Initrd == "" {
		g.Kernel, g.Initrd = Guest(t)
	}
	if g.Console == "" {
		g.Console = l.ConsolePath(g.Name)
	}
	x, err := g.XML()
	if err != nil {
		t.Fatalf("%v", err)
	}
	l.DefineAndStart(t, x)
	return g
}

// Destroy stops a domain at once (virsh destroy); its hooks see stopped and release.
func (l *Libvirt) Destroy(t testing.TB, name string) {
	t.Helper()
	l.Virsh(t, "destroy", name)
}

// WaitConsole waits until the console file holds marker and returns the console text; on
// timeout it fails the test with the console and libvirtd's log.
func (l *Libvirt) WaitConsole(t testing.TB, consolePath, marker string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(consolePath)
		text := strings.ReplaceAll(string(b), "\r", "")
		if strings.Contains(text, marker) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("console %s: no %q within %s; console so far:\n%s\n--- libvirtd.log\n%s",
				consolePath, marker, timeout, text, tail(filepath.Join(l.Dir, "log", "libvirtd.log"), 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (l *Libvirt) teardown(t testing.TB) {
	t.Helper()
	if out, err := l.VirshErr("list", "--name"); err == nil {
		for _, name := range strings.Fields(out) {
			if _, err := l.VirshErr("destroy", name); err != nil {
				t.Logf("teardown: %v", err)
			}
		}
	}
	if t.Failed() {
		l.dumpLogs(t)
	}
	for _, d := range []string{"libvirtd", "virtlogd"} {
		if err := stopPid(readPidfile(l.pidfile(d)), 10*time.Second); err != nil {
			t.Errorf("teardown: stop %s: %v", d, err)
		}
	}
	l.killLeftovers(t)
	// The bind mounts died with the mount namespace: an empty mount point
	// made for them goes too (one that is not empty is someone's now).
	for _, p := range l.madeMountPoints {
		// The namespace (and its mount on p) goes once the kernel has
		// reaped its last process: until then rmdir says EBUSY.
		err := os.Remove(p)
		for deadline := time.Now().Add(5 * time.Second); errors.Is(err, unix.EBUSY) && time.Now().Before(deadline); err = os.Remove(p) {
			time.Sleep(50 * time.Millisecond)
		}
		switch {
		case err == nil, errors.Is(err, os.ErrNotExist):
		case errors.Is(err, unix.ENOTEMPTY):
			t.Logf("teardown: leave %s: something else put files there: %v", p, err)
		default:
			t.Errorf("teardown: remove the mount point %s made for this libvirtd: %v", p, err)
		}
	}
	capsCache(filepath.Join(l.Dir, "cache"), false)
	if err := os.RemoveAll(l.Dir); err != nil {
		t.Errorf("teardown: remove %s: %v", l.Dir, err)
	}
}

// holdMntns opens pid's mount namespace and names it by what the open file
// is (not by pid, which may be gone by now).
func (l *Libvirt) holdMntns(pid int) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	if err != nil {
		return
	}
	ns, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if err != nil || !strings.HasPrefix(ns, "mnt:") {
		f.Close()
		return
	}
	l.mntns, l.mntnsRef = ns, f
}

// killLeftovers kills every process still in libvirtd's mount namespace (qemu, hook children).
// Once none is left the namespace, and with it the bind mounts, is gone.
func (l *Libvirt) killLeftovers(t testing.TB) {
	t.Helper()
	pids := procsInMntns(l.mntns)
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	for _, pid := range pids {
		if !waitDead(pid, 5*time.Second) {
			t.Errorf("teardown: pid %d of the private libvirtd survived SIGKILL", pid)
		}
	}
	if l.stopReaper != nil {
		close(l.stopReaper)
		<-l.reaperDone
	}
	// Nothing looks the namespace up any more: let it go.
	if l.mntnsRef != nil {
		l.mntnsRef.Close()
		l.mntnsRef = nil
	}
	l.mntns = ""
}

func (l *Libvirt) dumpLogs(t testing.TB) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "private libvirtd %s in %s at failure:\n--- libvirtd.log (tail)\n%s\n", l.Dir, l.NS,
		tail(filepath.Join(l.Dir, "log", "libvirtd.log"), 40))
	qemuLogs, _ := filepath.Glob(filepath.Join(l.Dir, "log", "qemu", "*.log"))
	consoles, _ := filepath.Glob(filepath.Join(l.Dir, "*.console"))
	for _, f := range append(qemuLogs, consoles...) {
		fmt.Fprintf(&b, "--- %s (tail)\n%s\n", filepath.Base(f), tail(f, 30))
	}
	t.Log(b.String())
}

func copyExecutable(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// capsCache copies libvirt's qemu capability cache from (in) or to (out) a cache shared by all
// private libvirtds, ROOT/build/harness/libvirt-cache. A fresh libvirtd otherwise probes every
// qemu binary (about 7 s here); libvirtd itself revalidates the cached files (qemu and
// libvirtd binaries, kernel), so a stale copy costs one probe, never a wrong answer. Errors
// only cost time, so they are ignored.
func capsCache(cacheDir string, in bool) {
	root, err := repoRoot()
	if err != nil {
		return
	}
	shared := filepath.Join(root, "build", "harness", "libvirt-cache", "qemu", "capabilities")
	private := filepath.Join(cacheDir, "qemu", "capabilities")
	from, to := shared, private
	if !in {
		from, to = private, shared
	}
	files, _ := filepath.Glob(filepath.Join(from, "*.xml"))
	if len(files) == 0 || os.MkdirAll(to, 0o755) != nil {
		return
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// Write and rename, so a libvirtd starting in another test process never reads half a file.
		tmp, err := os.CreateTemp(to, ".caps-")
		if err != nil {
			continue
		}
		_, werr := tmp.Write(b)
		if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), filepath.Join(to, filepath.Base(f))) != nil {
			os.Remove(tmp.Name())
		}
	}
}
