package harness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	ovsSchema  = "/usr/share/openvswitch/vswitch.ovsschema"
	ovsTimeout = 10 * time.Second // per ovs-vsctl/ovs-ofctl call
)

// OVS is a private Open vSwitch (ovsdb-server + ovs-vswitchd) running inside NS, with its
// database, sockets, pidfiles and logs in Rundir. Bridges must use datapath_type=netdev (no
// openvswitch kernel module here): AddBridge does that.
type OVS struct {
	Rundir string
	NS     *Netns
}

// StartOVS starts a private Open vSwitch inside ns. Teardown stops both daemons (by pidfile),
// waits for them, and on failure logs the tail of their logs and `ovs-vsctl show`.
func StartOVS(t testing.TB, ns *Netns) *OVS {
	t.Helper()
	for _, bin := range []string{"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install openvswitch-switch (%v)", bin, err)
		}
	}
	// A short path: sockets live here and unix socket paths are limited to 107 bytes.
	dir, err := os.MkdirTemp("", "hnovs")
	if err != nil {
		t.Fatalf("StartOVS: %v", err)
	}
	o := &OVS{Rundir: dir, NS: ns}
	t.Cleanup(func() { o.teardown(t) })
	mustRun(t, "ovsdb-tool", "create", filepath.Join(dir, "conf.db"), ovsSchema)
	o.startDB(t)
	o.Vsctl(t, "--no-wait", "init")
	o.startVswitchd(t)
	return o
}

// Env holds the OVS_* variables that point OVS tools (and hostnet's binaries) at this instance.
func (o *OVS) Env() []string {
	return []string{
		"OVS_RUNDIR=" + o.Rundir,
		"OVS_DBDIR=" + o.Rundir,
		"OVS_LOGDIR=" + o.Rundir,
		"OVS_SYSCONFDIR=" + o.Rundir,
	}
}

// DBSocket is the OVSDB unix socket (unix:PATH form for --db is "unix:" + DBSocket()).
func (o *OVS) DBSocket() string { return filepath.Join(o.Rundir, "db.sock") }

// Command runs args inside the namespace with Env set.
func (o *OVS) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := o.NS.Command(ctx, args...)
	cmd.Env = append(os.Environ(), o.Env()...)
	return cmd
}

// Run runs args inside the namespace with Env set, bounded by the OVS call timeout.
func (o *OVS) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ovsTimeout+5*time.Second)
	defer cancel()
	return run(o.Command(ctx, args...))
}

func (o *OVS) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := o.Run(args...)
	if err != nil {
		t.Fatalf("OVS %s: %v", o.Rundir, err)
	}
	return out
}

// Vsctl runs ovs-vsctl against this instance and returns its trimmed output.
func (o *OVS) Vsctl(t testing.TB, args ...string) string {
	t.Helper()
	return strings.TrimSpace(o.mustRun(t, append([]string{"ovs-vsctl", "--timeout=" + secs(ovsTimeout)}, args...)...))
}

// VsctlErr runs ovs-vsctl and returns its error, for expected failures.
func (o *OVS) VsctlErr(args ...string) (string, error) {
	return o.Run(append([]string{"ovs-vsctl", "--timeout=" + secs(ovsTimeout)}, args...)...)
}

// Ofctl runs ovs-ofctl against this instance (bridge management sockets live in Rundir).
func (o *OVS) Ofctl(t testing.TB, args ...string) string {
	t.Helper()
	return strings.TrimSpace(o.mustRun(t, append([]string{"ovs-ofctl", "--timeout=" + secs(ovsTimeout)}, args...)...))
}

// AddBridge creates a userspace-datapath bridge (standalone fail mode: NORMAL switching).
func (o *OVS) AddBridge(t testing.TB, name string) {
	t.Helper()
	o.Vsctl(t, "add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")
}

// Plug creates a veth pair: nic inside ns, the other end a port of bridge in the OVS
// namespace with the given column settings (e.g. "tag=100", "trunks=100,200"; none = a trunk
// of all VLANs, native VLAN 0). It returns the port name.
func (o *OVS) Plug(t testing.TB, bridge string, ns *Netns, nic string, portSettings ...string) string {
	t.Helper()
	port := o.NS.nextIfname("hp")
	Veth(t, ns, nic, o.NS, port)
	args := []string{"add-port", bridge, port}
	if len(portSettings) > 0 {
		args = append(args, "--", "set", "port", port)
		args = append(args, portSettings...)
	}
	o.Vsctl(t, args...)
	return port
}

// AddPeer creates a namespace whose eth0 carries cidr and is an access port of bridge on vlan
// (0: untagged frames only). It plays a VM or a machine on that VLAN.
func (o *OVS) AddPeer(t testing.TB, bridge string, vlan int, cidr string) *Netns {
	t.Helper()
	ns := NewNetns(t, "v"+strconv.Itoa(vlan))
	setting := "trunks=0"
	if vlan > 0 {
		setting = "tag=" + strconv.Itoa(vlan)
	}
	o.Plug(t, bridge, ns, "eth0", setting)
	ns.AddAddr(t, "eth0", cidr)
	return ns
}

func (o *OVS) pidfile(daemon string) string { return filepath.Join(o.Rundir, daemon+".pid") }

func (o *OVS) startDB(t testing.TB) {
	t.Helper()
	o.mustRun(t, "ovsdb-server", filepath.Join(o.Rundir, "conf.db"),
		"--remote=punix:"+o.DBSocket(),
		"--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
		"--pidfile", "--detach", "--log-file")
}

func (o *OVS) startVswitchd(t testing.TB) {
	t.Helper()
	o.mustRun(t, "ovs-vswitchd", "unix:"+o.DBSocket(), "--pidfile", "--detach", "--log-file")
}

func (o *OVS) stop(t testing.TB, daemon string) {
	t.Helper()
	if err := stopPid(readPidfile(o.pidfile(daemon)), 5*time.Second); err != nil {
		t.Errorf("stop %s of OVS %s: %v", daemon, o.Rundir, err)
	}
}

// StopVswitchd stops ovs-vswitchd (the database keeps running), to test behaviour with OVS down.
func (o *OVS) StopVswitchd(t testing.TB) {
	t.Helper()
	o.stop(t, "ovs-vswitchd")
}

// StartVswitchd starts ovs-vswitchd again after StopVswitchd.
func (o *OVS) StartVswitchd(t testing.TB) {
	t.Helper()
	o.startVswitchd(t)
}

// RestartVswitchd stops ovs-vswitchd and starts it again on the same database, like a package
// upgrade or a crash restart: ports are re-created from OVSDB, OpenFlow flows are lost.
func (o *OVS) RestartVswitchd(t testing.TB) {
	t.Helper()
	o.stop(t, "ovs-vswitchd")
	o.startVswitchd(t)
}

// StopDB stops ovsdb-server, so OVSDB clients fail (or time out) as with OVS down.
func (o *OVS) StopDB(t testing.TB) {
	t.Helper()
	o.stop(t, "ovsdb-server")
}

// StartDB starts ovsdb-server again after StopDB (the database file is kept).
func (o *OVS) StartDB(t testing.TB) {
	t.Helper()
	o.startDB(t)
}

func (o *OVS) teardown(t testing.TB) {
	t.Helper()
	if t.Failed() {
		show, err := o.VsctlErr("show")
		if err != nil {
			show = err.Error()
		}
		t.Logf("OVS %s in %s at failure:\n--- ovs-vsctl show\n%s\n--- ovs-vswitchd.log (tail)\n%s\n--- ovsdb-server.log (tail)\n%s",
			o.Rundir, o.NS, show,
			tail(filepath.Join(o.Rundir, "ovs-vswitchd.log"), 40),
			tail(filepath.Join(o.Rundir, "ovsdb-server.log"), 15))
	}
	o.stop(t, "ovs-vswitchd")
	o.stop(t, "ovsdb-server")
	if err := os.RemoveAll(o.Rundir); err != nil {
		t.Errorf("remove OVS dir: %v", err)
	}
}

func secs(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
