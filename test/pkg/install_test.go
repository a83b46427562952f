package pkg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

const hook = "/etc/libvirt/hooks/qemu.d/hostnet"

// The first-install note of the maintainer scripts (postinst; %post of the RPM).
const restartNote = "libvirtd reads\nhostnet: its hook directories only when it starts"

// Enablement that the .deb's postinst creates through deb-systemd-helper, and removal takes away.
var enablement = []string{
	"/etc/systemd/system/multi-user.target.wants/hostprep.service",
	"/etc/systemd/system/multi-user.target.wants/hostnet-gc.service",
	"/etc/systemd/system/ovs-vswitchd.service.wants/hostnet-reconcile.service",
	"/etc/systemd/system/ovs-vswitchd.service.wants",
	"/var/lib/systemd/deb-systemd-helper-enabled/hostprep.service.dsh-also",
	"/var/lib/systemd/deb-systemd-helper-enabled/hostnet-gc.service.dsh-also",
	"/var/lib/systemd/deb-systemd-helper-enabled/hostnet-reconcile.service.dsh-also",
	"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/hostprep.service",
	"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/hostnet-gc.service",
	"/var/lib/systemd/deb-systemd-helper-enabled/ovs-vswitchd.service.wants/hostnet-reconcile.service",
	"/var/lib/systemd/deb-systemd-helper-enabled/ovs-vswitchd.service.wants",
}

// What the purge removes besides the package's files: hostprep's state and the hook's log
// (written when there is no journal, as on this machine).
var purgedDirs = []string{"/var/lib/hostnet", "/var/log/hostnet"}

const hookLog = "/var/log/hostnet/hostnet.log"

// machine tracks what the install test changes on this machine, to check the package leaves
// nothing behind and to put back what was there.
type machine struct {
	before  map[string]fs.FileInfo // nil: the path was not there (or was moved aside)
	backups map[string]backup      // files moved aside
}

type backup struct {
	data []byte
	mode fs.FileMode
}

// TestDebInstalledEndToEnd installs the .deb on this machine with dpkg and checks what it
// installed (files, modes, contents, the only conffile, enabled units, systemd-analyze verify),
// runs the units' commands the way systemd would but without it on a simulated host (a
// namespace with a private OVS that host.conf points at), boots a VM under a private libvirtd
// that uses the machine's /etc/libvirt/hooks, so the installed hook plugs it, restarts
// ovs-vswitchd and runs the reconcile unit's command; then upgrades (the edited host.conf
// stays), removes (only host.conf is left) and purges (nothing is left).
func TestDebInstalledEndToEnd(t *testing.T) {
	harness.RequireRoot(t)
	requireTools(t, "make", "dpkg", "dpkg-deb", "dpkg-query", "deb-systemd-helper", "systemd-analyze", "nsenter")
	if st := dpkgStatus(t); st != "" {
		t.Fatalf("the hostnet package is on this machine already (%s); this test installs and purges it, so remove it first: dpkg -P hostnet", st)
	}
	v1 := buildPackages(t, "")
	v2 := buildPackages(t, v1.Version+".1")
	if _, err := runCmd(time.Minute, nil, "dpkg", "--compare-versions", v2.Version, "gt", v1.Version); err != nil {
		t.Fatalf("%s does not sort after %s", v2.Version, v1.Version)
	}
	m := newMachine(t, v1.Deb)

	// Install.
	out := dpkg(t, "-i", v1.Deb)
	if !strings.Contains(out, restartNote) {
		t.Errorf("dpkg -i printed no note about restarting libvirtd:\n%s", out)
	}
	if st := dpkgStatus(t); st != "install ok installed" {
		t.Fatalf("after dpkg -i the package is %q", st)
	}
	checkInstalledFiles(t, v1.Deb)
	if got := strings.TrimSpace(mustRun(t, time.Minute, "dpkg-query", "-W", "-f", "${Conffiles}", "hostnet")); !strings.HasPrefix(got, confPath+" ") || strings.Contains(got, "\n") {
		t.Errorf("the installed conffiles are %q, want %s alone", got, confPath)
	}
	checkEnabled(t, true)
	// systemd's own check of the installed units, against this machine's OVS and libvirt
	// units: syntax, executables, dependencies and ordering cycles. Warnings count.
	if out, err := runCmd(time.Minute, nil, "systemd-analyze", "verify", units[0], units[1], units[2], "hostnet-watch.service"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify of the installed units: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(mustRun(t, time.Minute, "/usr/sbin/hostnet-plug", "version")); got != "hostnet-plug "+v1.Version {
		t.Errorf("installed hostnet-plug says %q, want version %s", got, v1.Version)
	}

	t.Run("units and a VM on a simulated host", testInstalledOnHost)
	if t.Failed() {
		return // the cleanup purges the package
	}

	// Upgrade: the host.conf the lab wrote (an edited conffile) stays, silently.
	conf, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	hookInode, confInode := inode(t, hook), inode(t, confPath)
	out = dpkg(t, "-i", v2.Deb)
	if strings.Contains(out, restartNote) {
		t.Errorf("the upgrade repeated the first-install note:\n%s", out)
	}
	if got, _ := os.ReadFile(confPath); !bytes.Equal(got, conf) {
		t.Errorf("the upgrade changed the operator's host.conf:\n%s", got)
	}
	for _, suffix := range []string{".dpkg-dist", ".dpkg-new", ".dpkg-old"} {
		if _, err := os.Lstat(confPath + suffix); err == nil {
			t.Errorf("the upgrade left %s%s", confPath, suffix)
		}
	}
	if got := strings.TrimSpace(mustRun(t, time.Minute, "/usr/sbin/hostnet-plug", "version")); got != "hostnet-plug "+v2.Version {
		t.Errorf("after the upgrade hostnet-plug says %q, want version %s", got, v2.Version)
	}
	// The hook is a program, not a conffile: the upgrade replaced it (a new file, which dpkg
	// renames into place), while the edited host.conf is the same file as before.
	if after := inode(t, hook); after == hookInode {
		t.Errorf("the upgrade did not replace %s", hook)
	}
	if after := inode(t, confPath); after != confInode {
		t.Errorf("the upgrade replaced %s (same contents, but a new file)", confPath)
	}
	if got, want := sha256File(t, hook), debEntries(t, v2.Deb)[hook].sha256; got != want {
		t.Errorf("after the upgrade %s is not the new package's hook", hook)
	}
	checkEnabled(t, true)

	// Remove: only the operator's host.conf is left.
	dpkg(t, "-r", "hostnet")
	if st := dpkgStatus(t); st != "deinstall ok config-files" {
		t.Errorf("after dpkg -r the package is %q, want deinstall ok config-files", st)
	}
	if got, err := os.ReadFile(confPath); err != nil || !bytes.Equal(got, conf) {
		t.Errorf("after dpkg -r host.conf is %q (%v), want the operator's file", got, err)
	}
	// Logs stay until the purge, like the config.
	m.checkLeftOnly(t, map[string]bool{confPath: true, "/etc/hostnet": true, hookLog: false, "/var/log/hostnet": false})

	// Purge: nothing is left.
	dpkg(t, "-P", "hostnet")
	if st := dpkgStatus(t); st != "" {
		t.Errorf("after dpkg -P the package is %q, want unknown to dpkg", st)
	}
	m.checkLeftOnly(t, nil)
}

// checkInstalledFiles: every file of the package is on the machine with its mode, owner and
// contents, and dpkg -L lists exactly the package's files and directories.
func checkInstalledFiles(t *testing.T, deb string) {
	t.Helper()
	want := debEntries(t, deb)
	for p, mode := range packageFiles {
		info, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s is not installed: %v", p, err)
			continue
		}
		if !info.Mode().IsRegular() || info.Mode().Perm() != mode {
			t.Errorf("%s: %v, want a regular file of mode %v", p, info.Mode(), mode)
		}
		if uid, gid := owner(info); uid != 0 || gid != 0 {
			t.Errorf("%s is owned by %d:%d, want root", p, uid, gid)
		}
		if got := sha256File(t, p); got != want[p].sha256 {
			t.Errorf("%s differs from the package's file", p)
		}
	}
	var listed []string
	for _, p := range strings.Split(strings.TrimSpace(mustRun(t, time.Minute, "dpkg", "-L", "hostnet")), "\n") {
		if p != "/." {
			listed = append(listed, p)
		}
	}
	slices.Sort(listed)
	var fromDeb []string
	for p := range want {
		fromDeb = append(fromDeb, p)
	}
	slices.Sort(fromDeb)
	if !slices.Equal(listed, fromDeb) {
		t.Errorf("dpkg -L hostnet:\n%v\nwant:\n%v", listed, fromDeb)
	}
}

// checkEnabled: the units' enablement symlinks point at the installed units (or are all gone).
func checkEnabled(t *testing.T, enabled bool) {
	t.Helper()
	for _, link := range enablement[:3] {
		unit := filepath.Join("/usr/lib/systemd/system", filepath.Base(link))
		target, err := os.Stat(link)
		switch {
		case enabled && err != nil:
			t.Errorf("%s: %v (the unit is not enabled)", link, err)
		case enabled:
			installed, err := os.Stat(unit)
			if err != nil || !os.SameFile(target, installed) {
				t.Errorf("%s does not lead to the installed %s (%v)", link, unit, err)
			}
		case !enabled:
			if _, err := os.Lstat(link); err == nil {
				t.Errorf("%s is still there", link)
			}
		}
	}
}

// testInstalledOnHost is the systemd-less boot of a simulated host with the installed files.
func testInstalledOnHost(t *testing.T) {
	l := newHostLab(t)

	// The example host.conf as installed loads, and hostprep check judges the host by it: no
	// uplinks, the VPC bridge to make with the default kernel datapath, which a host without
	// the openvswitch module (this kind of machine, DESIGN.md section 6) cannot have.
	out, err := l.run(l.env(), "/usr/sbin/hostprep", "check")
	switch {
	case err == nil && strings.Contains(out, "brvpc"):
		t.Logf("installed hostprep check with the shipped host.conf: the plan:\n%s", out)
	case err != nil && strings.Contains(out, "ovs_datapath_type: system: the Open vSwitch kernel datapath is missing"):
		t.Logf("installed hostprep check with the shipped host.conf refuses the kernel datapath this host lacks:\n%s", out)
	default:
		t.Fatalf("installed hostprep check with the shipped host.conf: %v\n%s", err, out)
	}

	// host.conf for this host, as an operator would write it (the hook, which libvirtd runs
	// without our environment, finds the private OVS through ovs_rundir).
	l.writeConf(t)

	hostprep := readUnit(t, "/usr/lib/systemd/system/hostprep.service")
	gc := readUnit(t, "/usr/lib/systemd/system/hostnet-gc.service")
	reconcile := readUnit(t, "/usr/lib/systemd/system/hostnet-reconcile.service")

	// The bounded wait: it gives up after its bound when no OVS answers (run alongside).
	wait := hostprep.commands(t, "ExecStartPre")[0]
	bound := ovsWaitBound(t, wait)
	boundDone := make(chan string, 1)
	go func() { boundDone <- l.checkWaitBound(wait, bound) }()

	// ... and carries on as soon as the database is back.
	l.checkWaitsForDB(t, wait)

	// hostprep.service: ExecStartPre, then ExecStart, in the host's namespace.
	l.runUnit(t, hostprep)
	if got := l.ovs.Vsctl(t, "port-to-br", "eth0"); got != "br0" {
		t.Errorf("after hostprep.service eth0 is on %q, want br0", got)
	}
	if addrs := l.ns.IP(t, "-br", "addr", "show", "dev", "br0"); !strings.Contains(addrs, hostIP+"/24") {
		t.Errorf("after hostprep.service br0 has %q, want %s/24", addrs, hostIP)
	}
	if got := l.ovs.Vsctl(t, "br-exists", "brvpc"); got != "" {
		t.Errorf("brvpc: %q", got)
	}

	// hostnet-gc.service sweeps a port whose VM is gone (plugged by the installed hostnet-plug).
	l.ns.IP(t, "tuntap", "add", "dev", "stale0", "mode", "tap")
	if out, err := l.run(l.env(), "/usr/sbin/hostnet-plug", "add", "--tap", "stale0", "--mac", "52:54:00:66:00:01", "--bridge", "br0", "--vlan", "100"); err != nil {
		t.Fatalf("installed hostnet-plug add: %v\n%s", err, out)
	}
	l.ns.IP(t, "link", "del", "stale0")
	if out := l.runUnit(t, gc); !strings.Contains(out, "stale0: removed") {
		t.Errorf("hostnet-gc.service did not report removing stale0:\n%s", out)
	}
	if ports := l.ovs.Vsctl(t, "list-ports", "br0"); strings.Contains(ports, "stale0") {
		t.Errorf("stale0 is still on br0 after hostnet-gc.service: %v", ports)
	}

	// A VM under libvirtd with the machine's hook directory: the installed hook plugs it.
	l.startLibvirt(t)
	l.bootGuest(t)

	// hostnet-reconcile.service after an ovs-vswitchd restart: the flows come back.
	flows := l.nicFlows(t)
	if flows == 0 {
		t.Fatalf("the guest's NIC has no source-check flows on br0")
	}
	l.ovs.RestartVswitchd(t)
	if got := l.nicFlows(t); got != 0 {
		t.Fatalf("%d flows of the NIC survived an ovs-vswitchd restart; the reconcile test needs them gone", got)
	}
	out = l.runUnitInLibvirt(t, reconcile)
	if !strings.Contains(out, guestTap) {
		t.Errorf("hostnet-reconcile.service did not re-plug %s:\n%s", guestTap, out)
	}
	if got := l.nicFlows(t); got != flows {
		t.Errorf("after hostnet-reconcile.service the NIC has %d flows, want %d", got, flows)
	}
	harness.ExpectReach(t, l.peer100, guestIP)

	l.lv.Destroy(t, guestName)
	if ports := l.ovs.Vsctl(t, "list-ports", "br0"); strings.Contains(ports, guestTap) {
		t.Errorf("%s is still on br0 after the guest was destroyed: %v", guestTap, ports)
	}

	if msg := <-boundDone; msg != "" {
		t.Error(msg)
	}
}

// newMachine records the state of every path the package, its scripts and its units touch.
// Files already at those paths (not from a package: dpkg -i would ask what to do with them,
// and the purge deletes the log) are moved aside and put back by the cleanup, which also
// purges the package if the test stops half-way.
func newMachine(t *testing.T, deb string) *machine {
	t.Helper()
	m := &machine{before: map[string]fs.FileInfo{}, backups: map[string]backup{}}
	for _, d := range purgedDirs {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if filepath.Join(d, e.Name()) != hookLog { // the log is moved aside below
				t.Fatalf("%s holds %s, from an earlier hostnet installation; the purge would delete it: move it away first", d, e.Name())
			}
		}
	}
	paths := append(slices.Clone(enablement), purgedDirs...)
	paths = append(paths, hookLog)
	for p := range debEntries(t, deb) {
		paths = append(paths, p)
	}
	t.Cleanup(func() { m.restore(t) })
	for _, p := range paths {
		info, err := os.Lstat(p)
		switch {
		case err == nil && info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			m.backups[p] = backup{data: b, mode: info.Mode().Perm()}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			m.before[p] = nil
			t.Logf("moved %s aside for the test; it is put back at the end", p)
		case err == nil:
			m.before[p] = info
		case errors.Is(err, fs.ErrNotExist):
			m.before[p] = nil
		default:
			t.Fatal(err)
		}
	}
	return m
}

// checkLeftOnly: of the paths that were not there before the test, only those in keep exist:
// those marked true must, those marked false may.
func (m *machine) checkLeftOnly(t *testing.T, keep map[string]bool) {
	t.Helper()
	for p, info := range m.before {
		if _, ok := keep[p]; info != nil || ok {
			continue
		}
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is still there", p)
		}
	}
	for p, must := range keep {
		if _, err := os.Lstat(p); must && err != nil {
			t.Errorf("%s is gone: %v", p, err)
		}
	}
}

// restore purges the package if it is still installed and puts back what was there before:
// moved-aside files, and directories that were there (empty ones the package took over, such
// as the mount points other tests use) and that the removal took away.
func (m *machine) restore(t *testing.T) {
	if dpkgStatus(t) != "" {
		if out, err := dpkgErr("-P", "hostnet"); err != nil {
			t.Errorf("cleanup: dpkg -P hostnet: %v\n%s", err, out)
		}
	}
	var dirs []string
	for p, info := range m.before {
		if info != nil && info.IsDir() {
			dirs = append(dirs, p)
		}
	}
	slices.Sort(dirs)
	for _, d := range dirs {
		if _, err := os.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(d, m.before[d].Mode().Perm()); err != nil {
				t.Errorf("cleanup: put back %s: %v", d, err)
			}
		}
	}
	for p, b := range m.backups {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Errorf("cleanup: put back %s: %v", p, err)
		}
		if err := os.WriteFile(p, b.data, b.mode); err != nil {
			t.Errorf("cleanup: put back %s: %v", p, err)
		}
	}
}

// dpkg runs dpkg with stdin closed (a question would fail, not hang) and fails on error.
func dpkg(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dpkgErr(args...)
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// dpkgErr runs dpkg, waiting (bounded) while another dpkg or apt holds the lock. When other
// processes have mounts on directories the removal deletes (guardedDirs), dpkg runs in a
// mount namespace of its own where each of them is bind-mounted onto itself: there, deleting
// one fails with EBUSY (dpkg warns and goes on, the purge reports it) instead of detaching the
// other processes' mounts. Those directories were there before the test, so nothing the test
// checks depends on their removal. On a machine where nothing else runs (CI runs this test
// last) dpkg runs plainly.
func dpkgErr(args ...string) (string, error) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		argv := append([]string{"dpkg"}, args...)
		if guard := guardedDirs(); len(guard) > 0 {
			script := "set -e\nfor d in " + strings.Join(guard, " ") + "; do mount --bind \"$d\" \"$d\"; done\nexec \"$@\"\n"
			argv = append([]string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"}, argv...)
		}
		out, err := runCmd(5*time.Minute, []string{"DEBIAN_FRONTEND=noninteractive"}, argv[0], argv[1:]...)
		if err == nil || !strings.Contains(out, "lock") || time.Now().After(deadline) {
			return out, err
		}
		time.Sleep(2 * time.Second)
	}
}

// dpkgStatus is the package's dpkg status ("install ok installed", "deinstall ok
// config-files"), or "" when dpkg does not know it.
func dpkgStatus(t *testing.T) string {
	t.Helper()
	out, err := runCmd(time.Minute, nil, "dpkg-query", "-W", "-f", "${Status}", "hostnet")
	if err != nil || strings.TrimSpace(out) == "unknown ok not-installed" {
		return ""
	}
	return strings.TrimSpace(out)
}

// guardedDirs are the directories that removal deletes and other processes use as mount
// points: other hostnet tests (and make demo) bind-mount their own /etc/hostnet and
// /var/log/hostnet into their private libvirtd's mount namespace, and deleting the directory
// would detach those mounts under them.
func guardedDirs() []string {
	var out []string
	for _, d := range append([]string{"/etc/hostnet"}, purgedDirs...) {
		if len(mountUsers([]string{d})) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// mountUsers lists processes whose mount namespace has a mount point at one of paths.
func mountUsers(paths []string) []int {
	var users []int
	procs, _ := filepath.Glob("/proc/[0-9]*/mountinfo")
	for _, f := range procs {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 4 && slices.Contains(paths, fields[4]) {
				var pid int
				fmt.Sscanf(filepath.Base(filepath.Dir(f)), "%d", &pid)
				users = append(users, pid)
				break
			}
		}
	}
	return users
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("%s: no inode", path)
	}
	return st.Ino
}
