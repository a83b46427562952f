package pkg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// The simulated host of the install test: eth0 trunked to a switch with peers on VLAN 100
// and 200 (same subnet, so isolation means something).
const (
	hostIP    = "10.30.0.10"
	peerIP100 = "10.130.0.2"
	peerIP200 = "10.130.0.3"
	guestIP   = "10.130.0.11"
	guestName = "pkgvm"
	guestTap  = "pkgvm-0"
	guestMAC  = "52:54:00:50:00:01"
)

type hostLab struct {
	ns      *harness.Netns
	ovs     *harness.OVS
	peer100 *harness.Netns
	lv      *harness.Libvirt
	dir     string
}

func newHostLab(t *testing.T) *hostLab {
	t.Helper()
	l := &hostLab{dir: t.TempDir()}
	l.ns = harness.NewNetns(t, "hv")
	l.ovs = harness.StartOVS(t, l.ns)
	sw := harness.NewSwitch(t)
	sw.TrunkTo(t, l.ns, "eth0")
	l.ns.AddAddr(t, "eth0", hostIP+"/24")
	l.peer100 = sw.AddPeer(t, 100, peerIP100+"/24")
	sw.AddPeer(t, 200, peerIP200+"/24")
	return l
}

// env is what systemd would not give but this host needs: the private OVS's run directory,
// for ovs-vsctl (hostnet's binaries read it from host.conf once writeConf ran).
func (l *hostLab) env() []string { return l.ovs.Env() }

// run runs argv in the host's namespace with extra environment.
func (l *hostLab) run(env []string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := l.ns.Command(ctx, argv...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeConf writes the installed /etc/hostnet/host.conf for this host.
func (l *hostLab) writeConf(t *testing.T) {
	t.Helper()
	state := filepath.Join(l.dir, "state")
	conf := fmt.Sprintf(`# host.conf of hostnet's package test (test/pkg)
networks:
  - eth0/br0/%s
ovs_datapath_type: netdev
ovs_rundir: %s
state_dir: %s
`, hostIP, l.ovs.Rundir, state)
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runUnit runs a unit's ExecStartPre and ExecStart commands in order in the host's namespace,
// as systemd starts a oneshot unit, and returns their output; a failing command fails the test.
func (l *hostLab) runUnit(t *testing.T, u unitFile) string {
	t.Helper()
	var all strings.Builder
	for _, key := range []string{"ExecStartPre", "ExecStart"} {
		for _, argv := range u.commands(t, key) {
			start := time.Now()
			out, err := l.run(l.env(), argv...)
			all.WriteString(out)
			if err != nil {
				t.Fatalf("%s: %s=%s: %v\n%s", filepath.Base(u.path), key, strings.Join(argv, " "), err, out)
			}
			t.Logf("%s: %s=%s: %s", filepath.Base(u.path), key, strings.Join(argv, " "), time.Since(start).Round(time.Millisecond))
		}
	}
	return all.String()
}

// runUnitInLibvirt runs a unit's ExecStart commands where libvirtd runs (its network and mount
// namespaces: /run/libvirt is the private libvirtd's, as on a real host).
func (l *hostLab) runUnitInLibvirt(t *testing.T, u unitFile) string {
	t.Helper()
	pid := readPid(t, filepath.Join(l.lv.Dir, "libvirtd.pid"))
	var all strings.Builder
	for _, argv := range u.commands(t, "ExecStart") {
		out, err := runCmd(3*time.Minute, l.env(), "nsenter", append([]string{"-t", strconv.Itoa(pid), "-m", "-n", "--"}, argv...)...)
		all.WriteString(out)
		if err != nil {
			t.Fatalf("%s: ExecStart=%s: %v\n%s", filepath.Base(u.path), strings.Join(argv, " "), err, out)
		}
	}
	return all.String()
}

// checkWaitsForDB: with the OVS database down, the unit's wait is still waiting after 2 s and
// succeeds once the database is back.
func (l *hostLab) checkWaitsForDB(t *testing.T, argv []string) {
	t.Helper()
	l.ovs.StopDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := l.ns.Command(ctx, argv...)
	cmd.Env = append(os.Environ(), l.env()...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("%v returned (%v) while the OVS database was down; it should wait:\n%s", argv, err, out.String())
	case <-time.After(2 * time.Second):
	}
	l.ovs.StartDB(t)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%v failed after the database came back: %v\n%s", argv, err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%v still waits 20 s after the database came back", argv)
	}
}

// checkWaitBound runs the unit's wait against a run directory where no OVS answers: it must
// fail, after its bound. It returns a complaint, or "".
func (l *hostLab) checkWaitBound(argv []string, bound time.Duration) string {
	empty := filepath.Join(l.dir, "no-ovs")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return err.Error()
	}
	start := time.Now()
	out, err := runCmd(bound+time.Minute, []string{"OVS_RUNDIR=" + empty, "OVS_DBDIR=" + empty}, argv[0], argv[1:]...)
	took := time.Since(start)
	switch {
	case err == nil:
		return fmt.Sprintf("%v succeeded with no OVS to wait for:\n%s", argv, out)
	case took < bound-time.Second || took > bound+20*time.Second:
		return fmt.Sprintf("%v gave up after %s, want about %s", argv, took.Round(time.Millisecond), bound)
	}
	return ""
}

// startLibvirt starts a private libvirtd in the host's namespace that uses this machine's
// /etc/libvirt/hooks, where the package installed its hook.
func (l *hostLab) startLibvirt(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir("/etc/libvirt/hooks/qemu.d")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"hostnet"}) {
		t.Fatalf("/etc/libvirt/hooks/qemu.d holds %v; the test needs the package's hook alone there, so that a plugged port proves it ran", names)
	}
	l.lv = harness.StartLibvirt(t, l.ns, harness.LibvirtOptions{RealHooks: true})
}

// bootGuest boots a guest whose NIC is on br0, VLAN 100: it reaches the VLAN 100 peer and not
// the VLAN 200 one.
func (l *hostLab) bootGuest(t *testing.T) {
	t.Helper()
	kernel, initrd := harness.Guest(t)
	g := harness.GuestDomain{
		Name: guestName, UUID: "b0000000-0000-4000-8000-000000000001",
		Kernel: kernel, Initrd: initrd, Console: l.lv.ConsolePath(guestName),
		NICs: []harness.GuestNIC{{MAC: guestMAC, Tap: guestTap}},
		Metadata: fmt.Sprintf(`<hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1"><hostnet:interface mac=%q bridge="br0" vlan="100"/></hostnet:interfaces>`,
			guestMAC),
		Cmdline: harness.GuestCmdline(map[string]string{"eth0": guestIP + "/24"},
			fmt.Sprintf("hn_ping %s\nHN_PING_TRIES=3 hn_ping %s\n", peerIP100, peerIP200)),
	}
	start := time.Now()
	l.lv.StartGuest(t, g)
	console := l.lv.WaitConsole(t, g.Console, "HN-DONE", 90*time.Second)
	t.Logf("guest booted and pinged in %s", time.Since(start).Round(time.Millisecond))
	got := harness.PingResults(console)
	for target, want := range map[string]bool{peerIP100: true, peerIP200: false} {
		if r, ok := got[target]; !ok || r != want {
			t.Errorf("guest ping %s: reached=%v (reported %v), want %v\n%s", target, r, ok, want, console)
		}
	}
	if tag := l.ovs.Vsctl(t, "get", "port", guestTap, "tag"); tag != "100" {
		t.Errorf("%s tag = %s, want 100", guestTap, tag)
	}
	if dom := strings.Trim(l.ovs.Vsctl(t, "get", "port", guestTap, "external_ids:hostnet-domain"), `"`); dom != guestName {
		t.Errorf("%s belongs to domain %q, want %s (plugged by the installed hook)", guestTap, dom, guestName)
	}
}

// nicFlows counts the flows on br0 with a non-zero cookie: hostnet's per-NIC flows (the
// guest's NIC is the only hostnet port there).
func (l *hostLab) nicFlows(t *testing.T) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(l.ovs.Ofctl(t, "dump-flows", "br0"), "\n") {
		if strings.Contains(line, "cookie=0x") && !strings.Contains(line, "cookie=0x0,") {
			n++
		}
	}
	return n
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}

func owner(info fs.FileInfo) (uid, gid uint32) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return ^uint32(0), ^uint32(0)
	}
	return st.Uid, st.Gid
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
