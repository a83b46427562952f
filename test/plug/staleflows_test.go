package plug_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/flows"
)

// TestFreshPlugClearsStaleFlows: flows an earlier unplug left under a MAC
// are gone after a start, whether the NIC has source checks (its flows are
// replaced) or not (they are cleared before the commit); the source-checked
// NIC's flows match its new OpenFlow port; stop removes them.
func TestFreshPlugClearsStaleFlows(t *testing.T) {
	h := newHost(t)
	off, mac := "52:54:00:00:05:01", "52:54:00:00:05:02"
	h.vm(t, "vnet51", off, "")
	h.vm(t, "vnet52", mac, "")
	for _, m := range []string{off, mac} {
		// A drop flow on a port number a new port could be given.
		h.ovs.Ofctl(t, "add-flow", "br0", fmt.Sprintf("cookie=%#x,priority=30000,in_port=4000,actions=drop", cookie(t, m)))
	}
	x := domainXML("vm5", uuidA,
		nic{mac: off, tap: "vnet51", attrs: `bridge="br0" vlan="100" src-check="off"`},
		nic{mac: mac, tap: "vnet52", attrs: `bridge="br0" vlan="100" src-check="mac"`})
	h.mustHook(t, "vm5", "start", "begin", x)

	if got := h.flowsOf(t, off); got != "" {
		t.Errorf("flows of the src-check=off NIC after start:\n%s", got)
	}
	ofport := h.get(t, "interface", "vnet52", "ofport")
	got := h.flowsOf(t, mac)
	if got == "" || strings.Contains(got, "in_port=4000") || !strings.Contains(got, "in_port="+ofport+",") {
		t.Errorf("flows of the src-check=mac NIC (OpenFlow port %s) after start:\n%s", ofport, got)
	}

	h.mustHook(t, "vm5", "stopped", "end", x)
	for _, m := range []string{off, mac} {
		if got := h.flowsOf(t, m); got != "" {
			t.Errorf("flows of %s after stop:\n%s", m, got)
		}
	}
}

func cookie(t *testing.T, mac string) uint64 {
	t.Helper()
	c, err := flows.Cookie(mac)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// flowsOf dumps br0's flows with the cookie of mac, one per line, without
// the counters.
func (h *host) flowsOf(t *testing.T, mac string) string {
	t.Helper()
	out := h.ovs.Ofctl(t, "--no-names", "--no-stats", "dump-flows", "br0", fmt.Sprintf("cookie=%#x/-1", cookie(t, mac)))
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "NXST_FLOW") && !strings.HasPrefix(l, "OFPST_FLOW") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}
