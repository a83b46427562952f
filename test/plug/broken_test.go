package plug_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
