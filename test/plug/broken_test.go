package plug_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/tapdev"
	"github.com/hostnet/hostnet/test/harness"
)

// TestCLIAddFailedLeavesNothing: an add that ovs-vswitchd cannot carry out
// (the loopback device as the tap: it cannot open it) fails in one line
// and leaves no port behind, so show, gc and sync never meet it.
func TestCLIAddFailedLeavesNothing(t *testing.T) {
	h := newHost(t)
	r := h.plugCLI(t, "add", "--tap", "lo", "--mac", "52:54:00:00:66:01", "--bridge", "br0")
	if r.code != 1 || !strings.Contains(r.stderr, "lo") || !strings.Contains(r.stderr, "could not open the device") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("add --tap lo: exit %d, stderr %q; want one line saying ovs-vswitchd could not open lo", r.code, r.stderr)
	}
	t.Logf("add --tap lo: %s", r.stderr)
	if got := h.get(t, "port", "lo", "_uuid"); got != "" {
		t.Errorf("the failed add left port lo: %s", h.portRow(t, "lo"))
	}
	if got := h.ovs.Vsctl(t, "list-ports", "br0"); got != "eth0" {
		t.Errorf("br0 ports after the failed add: %q", got)
	}
}

// TestFailedRepairKeepsWhatExisted: a repair that fails after its commit
// (here: the flows cannot be installed) removes the port it created, and
// never one that was there before.
func TestFailedRepairKeepsWhatExisted(t *testing.T) {
	h := newHost(t)
	const mac0, mac1 = "52:54:00:00:67:01", "52:54:00:00:67:02"
	h.vm(t, "vnet0", mac0, "")
	h.vm(t, "vnet1", mac1, "")
	h.mustCLI(t, "add", "--tap", "vnet0", "--mac", mac0, "--bridge", "br0", "--vlan", "100")
	port0, flows0 := h.get(t, "port", "vnet0", "_uuid"), h.flowsOf(t, mac0)

	mgmt := filepath.Join(h.ovs.Rundir, "br0.mgmt")
	if err := os.Rename(mgmt, mgmt+".away"); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"add", "--tap", "vnet0", "--mac", mac0, "--bridge", "br0", "--vlan", "200"},
		{"add", "--tap", "vnet1", "--mac", mac1, "--bridge", "br0", "--vlan", "100"},
	} {
		if r := h.plugCLI(t, args...); r.code != 1 || !strings.Contains(r.stderr, "install source-check flows on br0") {
			t.Errorf("%v with br0's OpenFlow socket away: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if err := os.Rename(mgmt+".away", mgmt); err != nil {
		t.Fatal(err)
	}
	if got := h.get(t, "port", "vnet0", "_uuid"); got != port0 {
		t.Errorf("the failed repair removed or replaced the working port vnet0 (%s -> %q)", port0, got)
	}
	if got := h.flowsOf(t, mac0); got != flows0 {
		t.Errorf("vnet0's flows changed:\n%s\nbefore:\n%s", got, flows0)
	}
	if got := h.get(t, "port", "vnet1", "_uuid"); got != "" {
		t.Errorf("the failed add left the port it created, vnet1")
	}
}

// TestSyncIsolatesDomainlessNICs: sync repairs each domain in its own
// transaction, and each NIC that hostnet-plug add plugged without a domain
// on its own: one that cannot be plugged any more (its wire left
// host.conf) does not hold back the others.
func TestSyncIsolatesDomainlessNICs(t *testing.T) {
	h := newHost(t)
	const macW, macB = "52:54:00:00:68:01", "52:54:00:00:68:02"
	h.vm(t, "vnet1", macW, "")
	h.vm(t, "vnet2", macB, "")
	h.mustCLI(t, "add", "--tap", "vnet1", "--mac", macW, "--wire", "wire1")
	h.mustCLI(t, "add", "--tap", "vnet2", "--mac", macB, "--bridge", "br0", "--vlan", "300")
	flows := h.flowsOf(t, macB)
	h.ovs.Ofctl(t, "del-flows", "unix:"+h.ovs.Rundir+"/br0.mgmt", "cookie="+cookieOf(macB)+"/-1")
	h.ovs.Vsctl(t, "set", "port", "vnet2", "tag=999")
	// wire1 leaves host.conf.
	writeFile(t, h.conf, strings.Replace(fmt.Sprintf(hostConf, h.ovs.Rundir), "  - eth1/brpub/wire1\n", "", 1))

	r := h.plugCLI(t, "sync", "--libvirt-state", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "wire wire1 is not on this host") {
		t.Errorf("sync: exit %d, stderr %q; want a failure naming wire1", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "vnet2: updated on br0") {
		t.Errorf("sync did not repair vnet2:\n%s", r.stdout)
	}
	if got := h.get(t, "port", "vnet2", "tag"); got != "300" {
		t.Errorf("vnet2 tag after sync = %s, want 300", got)
	}
	if got := h.flowsOf(t, macB); got != flows {
		t.Errorf("vnet2's flows after sync:\n%s\nwant:\n%s", got, flows)
	}
}

// TestBrokenLegacyPort: a hostnet port on a device ovs-vswitchd cannot use
// (the loopback, as a failed add used to leave it, here with the MAC of a
// running VM on its bridge): show flags it and credits it with none of the
// other port's flows; sync skips it, and repairs the VM, evicting it as a
// dead holder of the VM's MAC; gc removes it, and leaves the VM's flows.
func TestBrokenLegacyPort(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:69:01"
	h.vm(t, "vnet0", mac, "")
	h.mustHook(t, "vm1", "start", "begin", domainXML("vm1", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100"`}))
	flows := h.flowsOf(t, mac)
	h.legacyLoPort(t, mac)

	show := h.mustCLI(t, "show")
	lines := map[string]string{}
	for _, l := range strings.Split(show, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines[f[0]] = strings.Join(f, " ")
		}
	}
	if want := "lo br0 - " + mac + " brtrunk mac 0/2 not a tap: ovs-vswitchd cannot use it: could not add network device lo"; !strings.HasPrefix(lines["lo"], want) ||
		!strings.HasSuffix(lines["lo"], "(gc removes it)") {
		t.Errorf("show's line for lo: %q, want it to start with %q\n%s", lines["lo"], want, show)
	}
	if !strings.HasSuffix(lines["vnet0"], " 2/2 ok") {
		t.Errorf("show's line for vnet0: %q", lines["vnet0"])
	}

	h.ovs.Ofctl(t, "del-flows", "unix:"+h.ovs.Rundir+"/br0.mgmt", "cookie="+cookieOf(mac)+"/-1")
	out := h.mustCLI(t, "sync", "--libvirt-state", t.TempDir())
	for _, w := range []string{"lo: skipped: not a tap", "vnet0: updated on br0", "vnet0: removed lo, a dead port that held mac " + mac + " on br0"} {
		if !strings.Contains(out, w) {
			t.Errorf("sync output lacks %q:\n%s", w, out)
		}
	}
	if got := h.flowsOf(t, mac); got != flows {
		t.Errorf("vnet0's flows after sync:\n%s\nwant:\n%s", got, flows)
	}

	h.legacyLoPort(t, mac)
	out = h.mustCLI(t, "gc")
	if !strings.Contains(out, "lo: removed from br0 (not a tap: ovs-vswitchd cannot use it: could not add network device lo") {
		t.Errorf("gc said:\n%s", out)
	}
	if got := h.ovs.Vsctl(t, "list-ports", "br0"); got != "eth0\nvnet0" {
		t.Errorf("br0 ports after gc: %q", got)
	}
	if got := h.flowsOf(t, mac); got != flows {
		t.Errorf("gc of lo touched vnet0's flows (same MAC):\n%s\nwant:\n%s", got, flows)
	}
}

// legacyLoPort adds the port a failed `hostnet-plug add --tap lo --mac
// MAC --bridge br0` used to leave: hostnet's marks, no OpenFlow port.
func (h *host) legacyLoPort(t *testing.T, mac string) {
	t.Helper()
	h.ovs.Vsctl(t, "add-port", "br0", "lo",
		"--", "set", "port", "lo", "external_ids:hostnet-owner=hostnet-vm", "external_ids:hostnet-bridge=br0",
		"--", "set", "interface", "lo", "external_ids:hostnet-owner=hostnet-vm", "external_ids:hostnet-bridge=br0",
		`external_ids:attached-mac="`+mac+`"`, `external_ids:hostnet-spec="mac=`+mac+` bridge=br0 vlan=1 src-check=mac"`,
		`external_ids:hostnet-ifindex="1"`) // lo is device 1 in every namespace
	if got := h.get(t, "interface", "lo", "error"); got == "[]" || got == "" {
		t.Fatalf("ovs-vswitchd opened lo (error %s): the test shows nothing", got)
	}
}

// TestIsEthernet: what tapdev.IsEthernet says of real devices: a tap (what
// libvirt creates for a VM) and a veth (what these tests use as taps) are
// Ethernet; a TUN device (layer 3) and the loopback are not.
func TestIsEthernet(t *testing.T) {
	harness.RequireRoot(t)
	ns := harness.NewNetns(t, "eth")
	ns.IP(t, "tuntap", "add", "dev", "tap0", "mode", "tap")
	ns.IP(t, "tuntap", "add", "dev", "tun0", "mode", "tun")
	harness.Veth(t, ns, "veth0", harness.NewNetns(t, "peer"), "eth0")
	want := map[string]bool{"tap0": true, "veth0": true, "tun0": false, "lo": false}
	got := map[string]bool{}
	if err := ns.Do(func() error {
		for dev := range want {
			eth, err := tapdev.IsEthernet(dev)
			if err != nil {
				return err
			}
			got[dev] = eth
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("IsEthernet: %v, want %v", got, want)
	}
}
