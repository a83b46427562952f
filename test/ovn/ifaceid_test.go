package ovn_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/harness"
)

// TestUnplugReleasesReplugBinds: stopping a VM (the hook's stopped and
// release) removes its port and OVN releases the binding; starting it
// again binds it to the same chassis and traffic flows again.
func TestUnplugReleasesReplugBinds(t *testing.T) {
	l := newLab(t, "a", "b")
	ha, hb := l.hosts["a"], l.hosts["b"]
	va := ha.newVM(t, "vma", uuidA, "vnet0", "52:54:00:61:00:01", "10.77.1.1", "lsp-a")
	vb := hb.newVM(t, "vmb", uuidB, "vnet0", "52:54:00:61:00:02", "10.77.1.2", "lsp-b")
	l.addSwitch(t, "ls1", va, vb)
	va.mustHook(t, "start", "begin")
	vb.mustHook(t, "start", "begin")
	l.waitChassis(t, "lsp-a", ha.name)
	l.waitChassis(t, "lsp-b", hb.name)
	harness.ExpectReach(t, vb.ns, va.ip)

	va.mustHook(t, "stopped", "end")
	took := l.waitUnbound(t, "lsp-a")
	va.mustHook(t, "release", "end")
	t.Logf("lsp-a released %v after the stopped hook", took)
	if got := ha.ifacesWithID(t, "lsp-a"); len(got) != 0 {
		t.Errorf("interfaces still carrying lsp-a after stop: %q", got)
	}
	if b := l.ovn.Binding(t, "lsp-a"); b.Up {
		t.Errorf("lsp-a still up after stop: %s", b)
	}
	harness.ExpectNoReach(t, vb.ns, va.ip)

	va.mustHook(t, "start", "begin")
	took = l.waitChassis(t, "lsp-a", ha.name)
	t.Logf("lsp-a bound again %v after the start hook", took)
	harness.ExpectReach(t, vb.ns, va.ip)
	if got := ha.ifacesWithID(t, "lsp-a"); !slices.Equal(got, []string{"vnet0"}) {
		t.Errorf("interfaces carrying lsp-a after re-plug: %q", got)
	}
}

// TestDuplicateIfaceID: an iface-id lives on one interface per host. A
// second VM naming a vpc-port that a running VM's port carries is refused
// at an incoming migrate, at prepare and at start, and the running VM keeps its binding and its
// traffic; so is a port of another tool carrying it, which stays untouched.
// A dead hostnet port carrying it (a VM restarted on a new tap name after
// its stop was never cleaned up) is removed in the same transaction that
// plugs the new tap, and OVN binds the new one.
func TestDuplicateIfaceID(t *testing.T) {
	l := newLab(t, "a")
	h := l.hosts["a"]
	peer := h.newVM(t, "peer", uuidC, "vnet9", "52:54:00:62:00:09", "10.77.2.9", "lsp-peer")
	vm1 := h.newVM(t, "vm1", uuidA, "vnet0", "52:54:00:62:00:01", "10.77.2.1", "lsp-x")
	l.addSwitch(t, "ls1", peer, vm1)
	peer.mustHook(t, "start", "begin")
	vm1.mustHook(t, "start", "begin")
	l.waitChassis(t, "lsp-x", h.name)
	harness.ExpectReach(t, peer.ns, vm1.ip)

	// Another domain wants lsp-x while vm1 runs: refused before anything changes.
	vm2 := h.newVM(t, "vm2", uuidB, "vnet1", "52:54:00:62:00:02", "10.77.2.2", "lsp-x")
	for _, op := range []string{"migrate", "prepare", "start"} {
		r := vm2.hook(t, op, "begin")
		if r.code != 1 {
			t.Fatalf("hook %s begin of vm2 with vm1's vpc-port: exit %d, want 1 (refused); stderr %q", op, r.code, r.stderr)
		}
		for _, frag := range []string{"vpc-port lsp-x", "vnet0 (bridge brvpc, domain vm1)", "hostnet-plug del --tap vnet0"} {
			if !strings.Contains(r.stderr, frag) {
				t.Errorf("%s refusal %q does not name %q", op, r.stderr, frag)
			}
		}
		if lines := strings.Count(strings.TrimSpace(r.stderr), "\n"); lines != 0 {
			t.Errorf("%s refusal is %d lines, libvirt shows one: %q", op, lines+1, r.stderr)
		}
	}
	if got := h.ovs.Vsctl(t, "--if-exists", "get", "Interface", "vnet1", "_uuid"); got != "" {
		t.Errorf("the refused start left an interface vnet1: %s", got)
	}
	if got := h.ifacesWithID(t, "lsp-x"); !slices.Equal(got, []string{"vnet0"}) {
		t.Errorf("interfaces carrying lsp-x after the refusal: %q, want [vnet0]", got)
	}
	if b := l.ovn.Binding(t, "lsp-x"); b.Chassis != h.name || !b.Up {
		t.Errorf("lsp-x after the refusal: %s", b)
	}
	harness.ExpectReach(t, peer.ns, vm1.ip)

	// A port of another tool carrying an iface-id: refused, and left alone.
	h.ovs.Vsctl(t, "add-port", "brvpc", "ext0", "--", "set", "Interface", "ext0", "type=internal", "external_ids:iface-id=lsp-ext")
	before := h.ovs.Vsctl(t, "list", "Interface", "ext0")
	vm3 := h.newVM(t, "vm3", "0d0d0d0d-0000-4000-8000-00000000000d", "vnet3", "52:54:00:62:00:03", "10.77.2.3", "lsp-ext")
	r := vm3.hook(t, "start", "begin")
	if r.code != 1 || !strings.Contains(r.stderr, "ext0 (bridge brvpc) carries it and is not a hostnet port") {
		t.Errorf("start with another tool's iface-id: exit %d, stderr %q; want a refusal naming ext0", r.code, r.stderr)
	}
	if after := h.ovs.Vsctl(t, "list", "Interface", "ext0"); after != before {
		t.Errorf("ext0 changed:\nbefore %s\nafter  %s", before, after)
	}

	// vm1 dies without its stop hook (the tap is gone, its row stays), then
	// starts again on a new tap.
	h.ns.IP(t, "link", "del", "vnet0")
	if got := h.ifacesWithID(t, "lsp-x"); !slices.Equal(got, []string{"vnet0"}) {
		t.Fatalf("interfaces carrying lsp-x after vm1 died: %q, want the dead [vnet0]", got)
	}
	t.Logf("lsp-x with its tap gone: %s", l.ovn.Binding(t, "lsp-x"))
	vm1again := h.newVM(t, "vm1", uuidA, "vnet2", vm1.mac, vm1.ip, "lsp-x")
	nRecords := len(h.dbRecords(t))
	vm1again.mustHook(t, "start", "begin")
	if got := h.ifacesWithID(t, "lsp-x"); !slices.Equal(got, []string{"vnet2"}) {
		t.Errorf("interfaces carrying lsp-x after the restart: %q, want [vnet2]", got)
	}
	took := h.waitInstalled(t, "vnet2")
	l.waitChassis(t, "lsp-x", h.name)
	t.Logf("OVN bound lsp-x to the new tap %v after the start hook", took)
	// One transaction removed the dead port and added the new one.
	var plugRecs []string
	for _, rec := range h.dbRecords(t)[nRecords:] {
		if strings.Contains(rec, `table Port insert row "vnet2"`) {
			plugRecs = append(plugRecs, rec)
		}
	}
	if len(plugRecs) != 1 || !strings.Contains(plugRecs[0], `table Port row "vnet0"`) || !strings.Contains(plugRecs[0], "delete row") {
		t.Errorf("want one transaction that deletes port vnet0 and inserts vnet2, got:\n%s", strings.Join(plugRecs, "\n---\n"))
	}
	log, err := os.ReadFile(h.logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"evicted":["vnet0"]`) {
		t.Errorf("the hook log does not record the removal of vnet0:\n%s", log)
	}
	harness.ExpectReach(t, peer.ns, vm1.ip)
}

// dbRecords returns the transactions in h's OVS database log, one string each.
func (h *hv) dbRecords(t *testing.T) []string {
	t.Helper()
	out, err := h.ovs.Run("ovsdb-tool", "-mm", "show-log", h.ovs.Rundir+"/conf.db")
	if err != nil {
		t.Fatalf("ovsdb-tool show-log: %v", err)
	}
	return recordStart.Split(out, -1)[1:]
}

var recordStart = regexp.MustCompile(`(?m)^record \d+:`)
