package hostprep_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/harness"
)

const wireConf = `
networks:
  - eth1/brpub/wire1
  - eth2/brstore/wire2
ovs_datapath_type: netdev
`

// wireAddr returns the one 169.254.0.0/16 address of dev.
func (h *host) wireAddr(dev string) string {
	h.t.Helper()
	var found []string
	for _, a := range h.addrs(dev) {
		if strings.HasPrefix(a, "169.254.") {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		h.t.Fatalf("%s has link-local IPv4 addresses %q, want exactly one", dev, found)
	}
	return found[0]
}

func TestWireForm(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	sw := harness.NewSwitch(t)
	sw.TrunkTo(t, h.ns, "eth1")
	store := harness.NewNetns(t, "store")
	harness.Veth(t, h.ns, "eth2", store, "eth0")
	h.writeConf(wireConf)
	h.apply()

	pub, stor := h.wireAddr("brpub"), h.wireAddr("brstore")
	for _, a := range []string{pub, stor} {
		p := netip.MustParsePrefix(a)
		b := p.Addr().As4()
		if p.Bits() != 32 || a == "169.254.169.254/32" || b[2] == 0 || b[2] == 255 || b[3] == 0 || b[3] == 255 {
			t.Errorf("wire address %s: want a /32 in 169.254.1.1-169.254.254.254, not the metadata address", a)
		}
	}
	if pub == stor {
		t.Errorf("brpub and brstore share %s", pub)
	}
	for dev, a := range map[string]string{"brpub": pub, "brstore": stor} {
		out := h.ns.Exec(t, "ip", "-4", "addr", "show", "dev", dev)
		if !strings.Contains(out, a+" scope link") {
			t.Errorf("%s: %s is not a link-scope address:\n%s", dev, a, out)
		}
	}
	for _, nic := range []string{"eth1", "eth2"} {
		if got := h.vsctl("port-to-br", nic); got != map[string]string{"eth1": "brpub", "eth2": "brstore"}[nic] {
			t.Errorf("%s is a port of %s", nic, got)
		}
	}
	for _, dev := range []string{"eth1", "brpub"} {
		if got := h.ns.Exec(t, "sysctl", "-n", "net.ipv6.conf."+dev+".accept_ra", "net.ipv6.conf."+dev+".autoconf"); got != "0\n0\n" {
			t.Errorf("%s IPv6 autoconf sysctls = %q, want 0 0", dev, got)
		}
	}

	// Stable across runs, and across a rebuild from scratch.
	if r := h.apply(); !strings.Contains(r.stderr, "no changes") {
		t.Errorf("second apply:\n%s", r)
	}
	h.vsctl("del-br", "brpub", "--", "del-br", "brstore")
	h.apply()
	if a, b := h.wireAddr("brpub"), h.wireAddr("brstore"); a != pub || b != stor {
		t.Errorf("after rebuilding the bridges: brpub %s brstore %s, before %s %s", a, b, pub, stor)
	}

	// status reports the wires, what a scheduler reads.
	r := h.run("status", "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"wire": "wire1"`) || !strings.Contains(r.stdout, `"address": "`+pub+`"`) {
		t.Errorf("status --json:\n%s", r)
	}

	// Another NIC named for brpub (eth3, cabled to the same switch) is
	// refused, and nothing changes: next to eth1 it would make a loop, and
	// hostprep does not take eth1 off. Doing what the refusal says (take
	// eth1 off first) swaps them; and back.
	sw.TrunkTo(t, h.ns, "eth3")
	h.settle()
	netBefore, ovsBefore := h.netState(), h.ovsState()
	swapped := strings.Replace(wireConf, "eth1/brpub", "eth3/brpub", 1)
	h.writeConf(swapped)
	want := `networks[0] "eth3/brpub/wire1": brpub already has uplink eth1; hostprep does not swap a bridge's uplink, ` +
		`and eth3 next to eth1 would make a loop when both reach the same network: keep eth1 in this entry, ` +
		`or take it off first (ovs-vsctl del-port brpub eth1: brpub carries no host IP, but its VMs are cut off until apply adds eth3)`
	for _, cmd := range []string{"check", "apply"} {
		r := h.run(cmd)
		if lines := problemLines(r.stderr); r.code != 1 || len(lines) != 1 || lines[0] != want {
			t.Errorf("%s with another NIC for brpub: want exit 1 and the one line\n  %s\ngot %s", cmd, want, r)
		}
	}
	equalOrDiff(t, "netlink state", netBefore, h.netState())
	equalOrDiff(t, "OVS database", ovsBefore, h.ovsState())
	for _, c := range []struct{ conf, old, nic string }{{swapped, "eth1", "eth3"}, {wireConf, "eth3", "eth1"}} {
		h.vsctl("del-port", "brpub", c.old)
		h.writeConf(c.conf)
		h.apply()
		if got := h.vsctl("port-to-br", c.nic); got != "brpub" {
			t.Errorf("after the swap to %s: %s is a port of %q, want brpub", c.nic, c.nic, got)
		}
		if got := h.wireAddr("brpub"); got != pub {
			t.Errorf("after the swap to %s: brpub has %s, before %s", c.nic, got, pub)
		}
	}

	// A VM plugged into brpub (by libvirt or the hook; here by hand) on
	// VLAN 100 reaches a machine on VLAN 100 behind the switch, and not
	// one on VLAN 200.
	peer100 := sw.AddPeer(t, 100, "10.1.0.2/24")
	peer200 := sw.AddPeer(t, 200, "10.1.0.3/24")
	vm := harness.NewNetns(t, "vm")
	harness.Veth(t, vm, "eth0", h.ns, "vnet0")
	vm.AddAddr(t, "eth0", "10.1.0.10/24")
	h.vsctl("add-port", "brpub", "vnet0", "tag=100")
	harness.ExpectReach(t, vm, "10.1.0.2")
	harness.ExpectNoReach(t, peer200, "10.1.0.10")
	harness.ExpectReach(t, peer100, "10.1.0.10")
}
