package plug_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/flows"
)

// TestFlowsLeftByAFailedUnplug: a stop that cannot reach the bridge over
// OpenFlow still removes the ports, and records on the bridge the MACs whose
// flows stay behind; the next start clears them, for a NIC without source
// checks (before its commit) as for one with (its flows replaced on its new
// OpenFlow port), and forgets the record; the next stop removes the flows.
func TestFlowsLeftByAFailedUnplug(t *testing.T) {
	h := newHost(t)
	off, mac := "52:54:00:00:05:01", "52:54:00:00:05:02"
	h.vm(t, "vnet51", off, "")
	h.vm(t, "vnet52", mac, "")
	x := domainXML("vm5", uuidA,
		nic{mac: off, tap: "vnet51", attrs: `bridge="br0" vlan="100" src-check="off"`},
		nic{mac: mac, tap: "vnet52", attrs: `bridge="br0" vlan="100" src-check="mac"`})
	h.mustHook(t, "vm5", "start", "begin", x)
	if got := h.flowsOf(t, off); got != "" {
		t.Errorf("flows of the src-check=off NIC after start:\n%s", got)
	}
	if h.flowsOf(t, mac) == "" {
		t.Fatalf("no flows for the src-check=mac NIC after start")
	}
	// A flow under the off NIC's MAC too, as if it had had source checks.
	h.ovs.Ofctl(t, "add-flow", "br0", fmt.Sprintf("cookie=%#x,priority=30000,in_port=4000,actions=drop", cookie(t, off)))

	// The bridge's OpenFlow socket out of reach: the stop cannot remove flows.
	mgmt := filepath.Join(h.ovs.Rundir, "br0.mgmt")
	if err := os.Rename(mgmt, mgmt+".away"); err != nil {
		t.Fatal(err)
	}
	h.mustHook(t, "vm5", "stopped", "end", x)
	if err := os.Rename(mgmt+".away", mgmt); err != nil {
		t.Fatal(err)
	}
	if got := h.get(t, "port", "vnet51", "_uuid") + h.get(t, "port", "vnet52", "_uuid"); got != "" {
		t.Errorf("ports left after stop: %s", got)
	}
	left := h.get(t, "bridge", "br0", "external_ids")
	for _, m := range []string{off, mac} {
		if !strings.Contains(left, "hostnet-flows-left-"+m) || h.flowsOf(t, m) == "" {
			t.Errorf("flows of %s: still there %v, recorded in br0 external_ids %s", m, h.flowsOf(t, m) != "", left)
		}
	}

	h.mustHook(t, "vm5", "start", "begin", x)
	if got := h.flowsOf(t, off); got != "" {
		t.Errorf("flows of the src-check=off NIC after the next start:\n%s", got)
	}
	ofport := h.get(t, "interface", "vnet52", "ofport")
	if got := h.flowsOf(t, mac); got == "" || !onlyPort(got, ofport) {
		t.Errorf("flows of the src-check=mac NIC (OpenFlow port %s) after the next start:\n%s", ofport, got)
	}
	if got := h.get(t, "bridge", "br0", "external_ids"); strings.Contains(got, "hostnet-flows-left") {
		t.Errorf("the record outlived the start that cleared the flows: %s", got)
	}

	h.mustHook(t, "vm5", "stopped", "end", x)
	for _, m := range []string{off, mac} {
		if got := h.flowsOf(t, m); got != "" {
			t.Errorf("flows of %s after stop:\n%s", m, got)
		}
	}
}

// onlyPort reports whether every flow matches in_port ofport.
func onlyPort(flows, ofport string) bool {
	for _, l := range strings.Split(flows, "\n") {
		if !strings.Contains(l+" ", "in_port="+ofport+",") && !strings.Contains(l, "in_port="+ofport+" ") {
			return false
		}
	}
	return true
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
