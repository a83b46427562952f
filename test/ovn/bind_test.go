package ovn_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/harness"
)

const (
	uuidA = "0a0a0a0a-0000-4000-8000-00000000000a"
	uuidB = "0b0b0b0b-0000-4000-8000-00000000000b"
	uuidC = "0c0c0c0c-0000-4000-8000-00000000000c"
)

// TestTwoHostsBindAndPing: hostprep prepares two hypervisors for OVN, the
// hook plugs one VM on each with its vpc-port, and each Port_Binding gets
// its own host's chassis; the VMs ping each other through Geneve.
func TestTwoHostsBindAndPing(t *testing.T) {
	l := newLab(t, "a", "b")
	ha, hb := l.hosts["a"], l.hosts["b"]

	// What hostprep left for ovn-controller, read back independently.
	for _, h := range []*hv{ha, hb} {
		for key, want := range map[string]string{
			"ovn-bridge": "brvpc", "ovn-encap-type": "geneve", "ovn-encap-ip": h.ip,
			"ovn-bridge-datapath-type": "netdev", "ovn-remote": l.ovn.SBRemote(), "system-id": h.name,
		} {
			if got := strings.Trim(h.ovs.Vsctl(t, "get", "Open_vSwitch", ".", "external_ids:"+key), `"`); got != want {
				t.Errorf("%s: Open_vSwitch external_ids:%s = %q, want %q", h.name, key, got, want)
			}
		}
	}
	// Both chassis registered with their encap IP.
	for _, h := range []*hv{ha, hb} {
		got := l.ovn.Sbctl(t, "--bare", "--columns=ip", "find", "Encap", "chassis_name="+h.name)
		if got != h.ip {
			t.Errorf("SB Encap of %s: ip %q, want %q", h.name, got, h.ip)
		}
	}

	va := ha.newVM(t, "vma", uuidA, "vnet0", "52:54:00:60:00:01", "10.77.0.1", "lsp-a")
	vb := hb.newVM(t, "vmb", uuidB, "vnet0", "52:54:00:60:00:02", "10.77.0.2", "lsp-b")
	l.addSwitch(t, "ls1", va, vb)

	for _, v := range []*vm{va, vb} {
		r := v.mustHook(t, "start", "begin")
		took := l.waitChassis(t, v.lsp, v.host.name)
		t.Logf("%s: hook start took %v; Port_Binding %s got chassis %s %v after the hook", v.name, r.took, v.lsp, v.host.name, took)
		if got := v.host.ifacesWithID(t, v.lsp); len(got) != 1 || got[0] != v.tap {
			t.Errorf("%s: interfaces with iface-id %s: %q, want [%s]", v.host.name, v.lsp, got, v.tap)
		}
		// ovn-controller says it has installed the port's flows.
		if got := v.host.ovs.Vsctl(t, "get", "Interface", v.tap, "external_ids:ovn-installed"); got != `"true"` {
			t.Errorf("%s: %s external_ids:ovn-installed = %s, want \"true\"", v.host.name, v.tap, got)
		}
		// hostnet leaves OVN's bridge to OVN: none of its flows (cookie tag "HN") on brvpc.
		if got := v.host.ovs.Ofctl(t, "dump-flows", "brvpc", "cookie=0x484e000000000000/0xffff000000000000"); strings.Contains(got, "cookie=") {
			t.Errorf("%s: hostnet flows on the integration bridge:\n%s", v.host.name, got)
		}
	}
	// The tunnel is Geneve, towards the other host's br0 address.
	for _, pair := range [][2]*hv{{ha, hb}, {hb, ha}} {
		remote := pair[0].ovs.Vsctl(t, "--bare", "--columns=options", "find", "Interface", "type=geneve")
		if !strings.Contains(remote, "remote_ip="+pair[1].ip) && !strings.Contains(remote, `remote_ip="`+pair[1].ip+`"`) {
			t.Errorf("%s: geneve interface options %q, want remote_ip %s", pair[0].name, remote, pair[1].ip)
		}
	}

	harness.ExpectReach(t, va.ns, vb.ip)
	before := tunnelTx(t, ha)
	t.Logf("vma -> vmb through Geneve: %s", pingRTT(t, va.ns, vb.ip))
	t.Logf("vmb -> vma through Geneve: %s", pingRTT(t, vb.ns, va.ip))
	// The pings went through the tunnel: 5 requests and 5 replies left a.
	sent := tunnelTx(t, ha) - before
	if sent < 10 {
		t.Errorf("%s's Geneve port sent %d packets during 10 pings, want at least 10", ha.name, sent)
	}
	t.Logf("%s's Geneve port sent %d packets during the pings", ha.name, sent)
}

// tunnelTx reads the live tx counter of h's (only) Geneve port from
// OpenFlow (OVSDB's statistics column lags by seconds).
func tunnelTx(t *testing.T, h *hv) int {
	t.Helper()
	name := h.ovs.Vsctl(t, "--bare", "--columns=name", "find", "Interface", "type=geneve")
	out := h.ovs.Ofctl(t, "dump-ports", "brvpc", name)
	m := txPkts.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: no tx pkts for %q in:\n%s", h.name, name, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

var txPkts = regexp.MustCompile(`tx pkts=(\d+)`)
