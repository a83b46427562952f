package plug_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// TestMACChangeRetiresOldFlows: a NIC plugged again with another MAC
// (hostnet-plug add for its domain, the hook's reconnect with a changed
// domain XML) loses the old MAC's flows in the bundle that installs the
// new ones. The VM still sending as its old MAC and address is dropped,
// as its new MAC it passes; its stop leaves no hostnet flow behind.
func TestMACChangeRetiresOldFlows(t *testing.T) {
	h := newHost(t)
	const macs = "52:54:00:00:68:0"
	oldMAC, newMAC, newerMAC, peerMAC := macs+"1", macs+"2", macs+"3", macs+"9"
	vm := h.vm(t, "vnet0", oldMAC, "10.68.0.1/24")
	peer := h.vm(t, "vnet1", peerMAC, "10.68.0.9/24")
	h.mustCLI(t, "add", "--tap", "vnet1", "--mac", peerMAC, "--bridge", "br0", "--vlan", "100", "--src-check", "off")
	h.mustCLI(t, "add", "--tap", "vnet0", "--mac", oldMAC, "--bridge", "br0", "--vlan", "100", "--ip", "10.68.0.1", "--vm-uuid", uuidA, "--vm-name", "vm1")
	harness.ExpectReach(t, vm, "10.68.0.9")

	// The VM's NIC now has newMAC (hot-plugged again by an orchestrator).
	h.mustCLI(t, "add", "--tap", "vnet0", "--mac", newMAC, "--bridge", "br0", "--vlan", "100", "--ip", "10.68.0.1", "--vm-uuid", uuidA, "--vm-name", "vm1")
	expectMACFlows(t, h, oldMAC, newMAC)
	harness.ExpectNoReach(t, vm, "10.68.0.9") // still sending as oldMAC
	setMAC(t, vm, peer, newMAC)
	harness.ExpectReach(t, vm, "10.68.0.9")

	// libvirtd restarted; the domain's XML has another MAC for the NIC.
	xml := domainXML("vm1", uuidA, nic{mac: newerMAC, tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.68.0.1"}})
	h.mustHook(t, "vm1", "reconnect", "begin", xml)
	expectMACFlows(t, h, newMAC, newerMAC)
	harness.ExpectNoReach(t, vm, "10.68.0.9")
	setMAC(t, vm, peer, newerMAC)
	harness.ExpectReach(t, vm, "10.68.0.9")

	h.mustHook(t, "vm1", "stopped", "end", xml)
	if c := h.cookies(t, "br0"); c != "" {
		t.Errorf("hostnet flows left on br0 after the stop: %s", c)
	}
	h.expectNormalFlow(t, "br0")
}

// expectMACFlows fails unless br0 has flows of cur and none of old.
func expectMACFlows(t *testing.T, h *host, old, cur string) {
	t.Helper()
	if f := h.flows(t, "br0", cookieOf(old)); len(f) != 0 {
		t.Errorf("flows of the old MAC %s are left:\n%s", old, flowTexts(f))
	}
	if f := h.flows(t, "br0", cookieOf(cur)); len(f) == 0 {
		t.Errorf("no flows of the NIC's MAC %s", cur)
	}
}

// setMAC gives the VM's NIC mac and makes both ends forget the old one.
func setMAC(t *testing.T, vm, peer *harness.Netns, mac string) {
	t.Helper()
	vm.IP(t, "link", "set", "eth0", "address", mac)
	vm.IP(t, "neigh", "flush", "dev", "eth0")
	peer.IP(t, "neigh", "flush", "dev", "eth0")
}

// TestSyncSweepsOrphanFlows: hostnet flows that belong to no port (left
// by an earlier version when a MAC changed, or by an unplug that could not
// remove them) are removed by sync, and by gc; the flows of live ports
// and the bridge's NORMAL flow stay.
func TestSyncSweepsOrphanFlows(t *testing.T) {
	h := newHost(t)
	const live, gone = "52:54:00:00:69:01", "52:54:00:00:69:02"
	h.vm(t, "vnet0", live, "")
	h.mustCLI(t, "add", "--tap", "vnet0", "--mac", live, "--bridge", "br0", "--vlan", "100", "--vm-uuid", uuidA)
	ofport := strings.TrimSpace(h.get(t, "interface", "vnet0", "ofport"))
	liveFlows := flowTexts(h.flows(t, "br0", cookieOf(live)))

	for _, cmd := range []string{"sync", "gc"} {
		mgmt := "unix:" + h.ovs.Rundir + "/br0.mgmt"
		for _, f := range []string{
			"cookie=" + cookieOf(gone) + ",priority=30100,in_port=" + ofport + ",dl_src=" + gone + ",actions=NORMAL", // the NIC's MAC before it changed
			"cookie=" + cookieOf(gone) + ",priority=30100,in_port=77,dl_src=" + gone + ",actions=NORMAL",             // a port that is gone
			"cookie=" + cookieOf(live) + ",priority=30100,in_port=78,dl_src=" + live + ",actions=NORMAL",             // the live MAC on another port
		} {
			h.ovs.Ofctl(t, "add-flow", mgmt, f)
		}
		out := h.mustCLI(t, cmd)
		if want := "br0: removed 1 flow(s) of MAC " + gone + " on OpenFlow port 77, which no hostnet port has"; !strings.Contains(out, want) {
			t.Errorf("%s said\n%s\nwant a line %q", cmd, out, want)
		}
		if f := h.flows(t, "br0", cookieOf(gone)); len(f) != 0 {
			t.Errorf("%s left the flows of no port:\n%s", cmd, flowTexts(f))
		}
		if got := flowTexts(h.flows(t, "br0", cookieOf(live))); got != liveFlows {
			t.Errorf("%s: the live port's flows are\n%s\nwant\n%s", cmd, got, liveFlows)
		}
		h.expectNormalFlow(t, "br0")
	}
}

// TestSyncKeepsChecksOfPortsItCannotReplug: a VM's wire is renamed in
// host.conf while it runs (hostprep check warns), then ovs-vswitchd loses
// its flows. sync cannot
// re-plug the NIC (its wire is not on this host any more) and says so, but
// puts its source checks back on the bridge the port is on: they fail
// closed, not open.
func TestSyncKeepsChecksOfPortsItCannotReplug(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:6a:01"
	h.vm(t, "vnet0", mac, "")
	xml := domainXML("vm1", uuidA, nic{mac: mac, tap: "vnet0", attrs: `wire="wire1" vlan="100"`, ips: []string{"10.70.0.1"}})
	h.mustHook(t, "vm1", "start", "begin", xml)
	want := flowTexts(h.flows(t, "brpub", cookieOf(mac)))
	if want == "" {
		t.Fatal("no source-check flows after the start")
	}

	conf := strings.Replace(fmt.Sprintf(hostConf, h.ovs.Rundir), "wire1", "wire7", 1)
	if err := os.WriteFile(h.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// hostprep check warns about the wire the running VM still uses.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	check := h.ns.Command(ctx, harness.Binary(t, "./hostprep"), "--config", h.conf, "check")
	out, _ := check.CombinedOutput()
	if want := "warning: wire wire1 is not in " + h.conf + ", but running VM NICs use it (vnet0;"; !strings.Contains(string(out), want) {
		t.Errorf("hostprep check said\n%s\nwant a line containing %q", out, want)
	}

	h.ovs.Ofctl(t, "del-flows", "unix:"+h.ovs.Rundir+"/brpub.mgmt", "cookie="+cookieOf(mac)+"/-1")

	r := h.plugCLI(t, "sync")
	if r.code != 1 || !strings.Contains(r.stderr, "wire wire1 is not on this host") {
		t.Errorf("sync: exit %d, stderr %q; want 1 and the missing wire named", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "vnet0: its re-plug failed; its source checks were reinstalled on brpub") {
		t.Errorf("sync said %q", r.stdout)
	}
	if got := flowTexts(h.flows(t, "brpub", cookieOf(mac))); got != want {
		t.Errorf("flows after sync:\n%s\nwant\n%s", got, want)
	}
	h.expectNormalFlow(t, "brpub")
}

// TestSweepSparesPortsOfUnknownMAC: a live port whose stored spec was
// edited into garbage keeps every flow on its OpenFlow port through sync
// and gc, even when a hostnet-cookie flow of its MAC on the bridge's LOCAL
// port is swept (before, that sweep deleted by cookie alone and took the
// VM's source checks with it); a flow that matches no port stays.
func TestSweepSparesPortsOfUnknownMAC(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:6b:01"
	h.vm(t, "vnet0", mac, "")
	h.mustCLI(t, "add", "--tap", "vnet0", "--mac", mac, "--bridge", "br0", "--vlan", "100", "--ip", "10.71.0.1", "--vm-uuid", uuidA)
	want := flowTexts(h.flows(t, "br0", cookieOf(mac)))
	h.ovs.Vsctl(t, "set", "interface", "vnet0", "external_ids:hostnet-spec=garbage")
	mgmt := "unix:" + h.ovs.Rundir + "/br0.mgmt"
	portless := "cookie=" + cookieOf(mac) + ",priority=4,dl_src=" + mac + ",actions=drop"
	for _, cmd := range []string{"sync", "gc"} {
		h.ovs.Ofctl(t, "add-flow", mgmt, "cookie="+cookieOf(mac)+",priority=5,in_port=LOCAL,actions=drop")
		h.ovs.Ofctl(t, "add-flow", mgmt, portless)
		r := h.plugCLI(t, cmd)
		if !strings.Contains(r.stdout, "br0: removed 1 flow(s) of MAC "+mac+" on the bridge's LOCAL port") {
			t.Errorf("%s: exit %d, said %q %q; want the LOCAL flow removed", cmd, r.code, r.stdout, r.stderr)
		}
		got := h.flows(t, "br0", cookieOf(mac))
		var kept []flow
		for _, f := range got {
			if !strings.Contains(f.text, "priority=4,") {
				kept = append(kept, f)
			}
		}
		if flowTexts(kept) != want || len(kept) == len(got) {
			t.Errorf("%s: flows of %s are\n%s\nwant the VM's\n%s\nand the portless one", cmd, mac, flowTexts(got), want)
		}
	}
}

// TestShowVLANDrift: a port whose VLAN settings were changed by hand is
// not "ok" in show (table and JSON) until sync puts them back.
func TestShowVLANDrift(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:6c:01"
	h.vm(t, "vnet0", mac, "")
	h.mustCLI(t, "add", "--tap", "vnet0", "--mac", mac, "--bridge", "br0", "--vlan", "100", "--src-check", "off", "--vm-uuid", uuidA)
	h.ovs.Vsctl(t, "set", "port", "vnet0", "vlan_mode=trunk", "--", "clear", "port", "vnet0", "tag")
	const want = `VLAN settings differ: tag 0, want 100, vlan_mode "trunk", want "access" (sync repairs it)`
	if out := h.mustCLI(t, "show"); !strings.Contains(out, want) {
		t.Errorf("show:\n%s\nwant the state %q", out, want)
	}
	if out := h.mustCLI(t, "show", "--json"); !strings.Contains(out, `"state": "VLAN settings differ: tag 0, want 100`) {
		t.Errorf("show --json:\n%s", out)
	}
	h.mustCLI(t, "sync")
	if out := h.mustCLI(t, "show"); !strings.Contains(out, "access 100") || !strings.HasSuffix(strings.TrimSpace(out), "ok") {
		t.Errorf("show after sync:\n%s", out)
	}
}
