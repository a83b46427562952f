package plug_test

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestStopWithVswitchdHung: ovs-vswitchd hangs (SIGSTOP) while a VM with
// source checks stops. OpenFlow cannot be reached, but the stop still
// exits 0 within its deadline, the port is gone from OVSDB and the bridge
// records the MAC whose flows stayed (the OpenFlow part only gets a share
// of the deadline). Once ovs-vswitchd runs again, the next start of that
// MAC clears the flows, here for a NIC without source checks, which
// installs none of its own.
func TestStopWithVswitchdHung(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:65:01"
	h.vm(t, "vnet0", mac, "")
	checked := domainXML("vm", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100" src-check="mac"`})
	h.mustHook(t, "vm", "start", "begin", checked)
	if h.flowsOf(t, mac) == "" {
		t.Fatal("no flows after start: the test shows nothing")
	}
	h.ns.IP(t, "link", "del", "vnet0") // qemu is gone at stopped end, and its tap with it

	h.ovs.FreezeVswitchd(t)
	r := h.runHook(t, "vm", "stopped", "end", checked)
	const bound = 2*time.Second + 1500*time.Millisecond // ovs_timeout plus process start
	if r.code != 0 || r.took > bound {
		t.Errorf("stopped end with ovs-vswitchd hung: exit %d after %v (want 0 within %v); stderr %q", r.code, r.took, bound, r.stderr)
	}
	if got := h.get(t, "port", "vnet0", "_uuid"); got != "" {
		t.Errorf("port vnet0 is still in OVSDB after the stop: %s", got)
	}
	if got := h.get(t, "bridge", "br0", "external_ids"); !strings.Contains(got, "hostnet-flows-left-"+mac) {
		t.Errorf("br0 does not record the flows left behind: external_ids %s", got)
	}
	if log, err := os.ReadFile(h.logFile); err != nil || !strings.Contains(string(log), "did not apply the change in time") {
		t.Errorf("the stop does not report that ovs-vswitchd did not apply it (%v):\n%s", err, log)
	}

	h.ovs.ThawVswitchd(t)
	// A change of ours that ovs-vswitchd must apply: it has caught up
	// with the stop's once ovs-vsctl returns.
	h.ovs.Vsctl(t, "set", "Open_vSwitch", ".", "external_ids:hostnet-test=thawed")
	if h.flowsOf(t, mac) == "" {
		t.Fatal("the flows went away by themselves after the thaw: the test shows nothing")
	}
	h.vm(t, "vnet0", mac, "")
	h.mustHook(t, "vm", "start", "begin", domainXML("vm", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100" src-check="off"`}))
	if got := h.flowsOf(t, mac); got != "" {
		t.Errorf("flows of %s after the next start:\n%s", mac, got)
	}
	if got := h.get(t, "bridge", "br0", "external_ids"); strings.Contains(got, "hostnet-flows-left") {
		t.Errorf("the record outlived the start that cleared the flows: %s", got)
	}
}
