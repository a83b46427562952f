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
