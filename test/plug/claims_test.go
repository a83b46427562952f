package plug_test

import (
	"os"
	"strings"
	"testing"
)

// TestDuplicateMACRefused: source-check flows are found by a cookie made of
// the MAC, so a bridge carries a MAC on one hostnet port only. A second
// NIC with a running VM's MAC on its bridge is refused at prepare, at
// start and by hostnet-plug add, in one line naming the MAC, the bridge,
// the other tap and its domain; the running VM's port and flows stay byte
// for byte, and unplugging the refused tap does not touch them.
func TestDuplicateMACRefused(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:60:01"
	h.vm(t, "vnet0", mac, "10.60.0.1/24")
	vm1 := domainXML("vm1", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.60.0.1"}})
	h.mustHook(t, "vm1", "start", "begin", vm1)
	flows0, row0 := flowTexts(h.flows(t, "br0", cookieOf(mac))), h.portRow(t, "vnet0")
	if flows0 == "" {
		t.Fatal("vm1 has no flows: the test shows nothing")
	}
	wantFrags := []string{"MAC " + mac + " on bridge br0", "vnet0 (bridge br0, domain vm1)", "its own MAC", "hostnet-plug del --tap vnet0"}
	expectRefusal := func(what string, r hookResult) {
		t.Helper()
		if r.code != 1 {
			t.Fatalf("%s: exit %d, want 1 (refused); stderr %q", what, r.code, r.stderr)
		}
		for _, frag := range wantFrags {
			if !strings.Contains(r.stderr, frag) {
				t.Errorf("%s: refusal %q does not name %q", what, r.stderr, frag)
			}
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
			t.Errorf("%s: refusal is %d lines, want one: %q", what, n+1, r.stderr)
		}
	}

	h.vm(t, "vnet1", mac, "")
	evil := domainXML("evil", uuidB, nic{mac: mac, tap: "vnet1", attrs: `bridge="br0" vlan="200" src-check="off"`})
	for _, op := range []string{"prepare", "start"} {
		expectRefusal("hook "+op, h.runHook(t, "evil", op, "begin", evil))
	}
	h.vm(t, "tapz", mac, "")
	expectRefusal("hostnet-plug add", h.plugCLI(t, "add", "--tap", "tapz", "--mac", mac, "--bridge", "br0", "--src-check", "off"))

	for _, tap := range []string{"vnet1", "tapz"} {
		if got := h.get(t, "port", tap, "_uuid"); got != "" {
			t.Errorf("a refused plug left port %s", tap)
		}
	}
	if out := h.mustCLI(t, "del", "--tap", "tapz"); !strings.Contains(out, "tapz: left alone: no port") {
		t.Errorf("del --tap tapz said %q", out)
	}
	h.mustHook(t, "evil", "stopped", "end", evil)
	if got := flowTexts(h.flows(t, "br0", cookieOf(mac))); got != flows0 {
		t.Errorf("vm1's flows changed:\nbefore:\n%s\nafter:\n%s", flows0, got)
	}
	if got := h.portRow(t, "vnet0"); got != row0 {
		t.Errorf("vm1's port changed:\nbefore:\n%s\nafter:\n%s", row0, got)
	}
	if show := h.mustCLI(t, "show"); !strings.Contains(show, "vnet0") || strings.Count(show, "\n") != 2 {
		t.Errorf("show after the refusals:\n%s", show)
	}
}

// TestDeadMACHolderEvicted: a VM dies without its stop hook (its tap is
// gone, its port and flows stay), and a NIC with its MAC is plugged on the
// same bridge under another tap. The dead port is removed in the plug's
// own transaction, and the MAC's flows are the new port's alone: none for
// a start with src-check off, the new port's for an add with checks.
func TestDeadMACHolderEvicted(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:61:01"
	h.vm(t, "vnet0", mac, "")
	h.mustHook(t, "vm1", "start", "begin", domainXML("vm1", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100"`}))
	h.ns.IP(t, "link", "del", "vnet0")

	h.vm(t, "vnet1", mac, "")
	again := domainXML("vm1", uuidA, nic{mac: mac, tap: "vnet1", attrs: `bridge="br0" vlan="100" src-check="off"`})
	h.mustHook(t, "vm1", "prepare", "begin", again)
	nRecords := len(h.dbRecords(t))
	h.mustHook(t, "vm1", "start", "begin", again)
	if got := h.get(t, "port", "vnet0", "_uuid"); got != "" {
		t.Errorf("the dead port vnet0 is still there")
	}
	var plugRecs []string
	for _, rec := range h.dbRecords(t)[nRecords:] {
		if strings.Contains(rec, `table Port insert row "vnet1"`) {
			plugRecs = append(plugRecs, rec)
		}
	}
	if len(plugRecs) != 1 || !strings.Contains(plugRecs[0], `table Port row "vnet0"`) || !strings.Contains(plugRecs[0], "delete row") {
		t.Errorf("want one transaction that deletes port vnet0 and inserts vnet1, got:\n%s", strings.Join(plugRecs, "\n---\n"))
	}
	if got := h.flowsOf(t, mac); got != "" {
		t.Errorf("the dead port's flows outlived it (vnet1 has src-check off):\n%s", got)
	}
	if log, err := os.ReadFile(h.logFile); err != nil || !strings.Contains(string(log), `"evicted":["vnet0"]`) {
		t.Errorf("the hook log does not record the removal of vnet0 (%v):\n%s", err, log)
	}

	// The same through hostnet-plug add, with source checks: vnet1 dies too.
	h.ns.IP(t, "link", "del", "vnet1")
	h.vm(t, "vnet2", mac, "")
	out := h.mustCLI(t, "add", "--tap", "vnet2", "--mac", mac, "--bridge", "br0", "--vlan", "100")
	if !strings.Contains(out, "vnet2: removed vnet1, a dead port that held mac "+mac+" on br0") {
		t.Errorf("add said %q", out)
	}
	if got := h.get(t, "port", "vnet1", "_uuid"); got != "" {
		t.Errorf("the dead port vnet1 is still there")
	}
	ofport := h.get(t, "interface", "vnet2", "ofport")
	if got := h.flowsOf(t, mac); got == "" || !onlyPort(got, ofport) {
		t.Errorf("flows of %s after the add (vnet2 is OpenFlow port %s):\n%s", mac, ofport, got)
	}
}

// TestSameMACOnTwoBridges: the claim is per bridge. One MAC on br0 and on
// brpub (two L2 networks) plugs twice, and each keeps its own flows when
// the other goes; on the OVN integration bridge hostnet claims no MAC
// (OVN checks VPC ports' addresses).
func TestSameMACOnTwoBridges(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:62:01"
	for _, tap := range []string{"vnet0", "vnet1", "vnet2", "vnet3"} {
		h.vm(t, tap, mac, "")
	}
	a := domainXML("a", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	b := domainXML("b", uuidB, nic{mac: mac, tap: "vnet1", attrs: `wire="wire1" src-check="mac"`})
	c := domainXML("c", uuidC, nic{mac: mac, tap: "vnet2", attrs: `vpc-port="lsp-62"`})
	d := domainXML("d", "dddddddd-0000-4000-8000-000000000004", nic{mac: mac, tap: "vnet3", attrs: `vpc-port="lsp-63"`})
	for name, x := range map[string]string{"a": a, "b": b, "c": c, "d": d} {
		h.mustHook(t, name, "prepare", "begin", x)
		h.mustHook(t, name, "start", "begin", x)
	}
	flowsA := flowTexts(h.flows(t, "br0", cookieOf(mac)))
	if flowsA == "" || len(h.flows(t, "brpub", cookieOf(mac))) == 0 {
		t.Fatalf("want flows of %s on br0 and brpub; br0:\n%s", mac, flowsA)
	}
	h.mustHook(t, "b", "stopped", "end", b)
	if got := flowTexts(h.flows(t, "br0", cookieOf(mac))); got != flowsA {
		t.Errorf("stopping b changed a's flows on br0:\n%s\nbefore:\n%s", got, flowsA)
	}
	if got := h.flows(t, "brpub", cookieOf(mac)); len(got) != 0 {
		t.Errorf("b's flows outlived it:\n%s", flowTexts(got))
	}
}

// TestConcurrentMACClaims: two domains started at the same moment with the
// same MAC on br0. Each start commits without looking up other ports (the
// fast path); each round exactly one succeeds and one port has the MAC on
// br0, whether the loser's commit found the winner's port (then it read
// it and refused) or it read OVSDB before the winner committed (then its
// precondition failed at commit).
func TestConcurrentMACClaims(t *testing.T) {
	h := newHost(t)
	const mac = "52:54:00:00:63:01"
	h.vm(t, "vnet0", mac, "")
	h.vm(t, "vnet1", mac, "")
	xmls := [2]string{
		domainXML("one", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100"`}),
		domainXML("two", uuidB, nic{mac: mac, tap: "vnet1", attrs: `bridge="br0" vlan="100"`}),
	}
	raceStarts(t, h, xmls, "external_ids:attached-mac=\""+mac+"\"")
}

// TestStartRefusesRunningVMsTap: a domain whose start names the tap of
// another running VM's port (the port hostnet plugged for that very
// device) is refused at prepare and at start, its reconnect and a
// hostnet-plug add of that tap change nothing, and the other VM's port and
// flows stay; its stop then leaves them alone. A tap re-created under the
// same name (a new device) is still a stale row that a start replaces.
func TestStartRefusesRunningVMsTap(t *testing.T) {
	h := newHost(t)
	const mac, evilMAC = "52:54:00:00:64:01", "52:54:00:00:64:0e"
	h.vm(t, "vnet0", mac, "")
	vm1 := domainXML("vm1", uuidA, nic{mac: mac, tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	h.mustHook(t, "vm1", "start", "begin", vm1)
	row0, flows0 := h.portRow(t, "vnet0"), flowTexts(h.flows(t, "br0", cookieOf(mac)))

	evil := domainXML("evil", uuidB, nic{mac: evilMAC, tap: "vnet0", attrs: `bridge="br0" vlan="200"`})
	for _, op := range []string{"prepare", "start"} {
		r := h.runHook(t, "evil", op, "begin", evil)
		if r.code != 1 {
			t.Fatalf("%s of a domain naming vm1's tap: exit %d, want 1; stderr %q", op, r.code, r.stderr)
		}
		for _, frag := range []string{"tap vnet0 is the port of another running domain vm1 (" + uuidA + ")", "another <target dev>"} {
			if !strings.Contains(r.stderr, frag) {
				t.Errorf("%s refusal %q does not name %q", op, r.stderr, frag)
			}
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
			t.Errorf("%s refusal is %d lines: %q", op, n+1, r.stderr)
		}
	}
	// A repair fixes rows in place and must not rewrite them for another
	// domain either: reconnect logs and exits 0, hostnet-plug add refuses
	// with or without the other domain's uuid and tells how to change vm1's.
	if r := h.runHook(t, "evil", "reconnect", "begin", evil); r.code != 0 {
		t.Errorf("reconnect of a domain naming vm1's tap: exit %d, want 0; stderr %q", r.code, r.stderr)
	}
	for _, uuid := range []string{"", uuidB} {
		args := []string{"add", "--tap", "vnet0", "--mac", evilMAC, "--bridge", "br0", "--vlan", "200"}
		if uuid != "" {
			args = append(args, "--vm-uuid", uuid)
		}
		r := h.plugCLI(t, args...)
		if r.code != 1 {
			t.Fatalf("hostnet-plug %v on vm1's tap: exit %d, want 1; stderr %q", args, r.code, r.stderr)
		}
		for _, frag := range []string{"tap vnet0 is the port of another running domain vm1 (" + uuidA + ")", "hostnet-plug add --vm-uuid " + uuidA} {
			if !strings.Contains(r.stderr, frag) {
				t.Errorf("hostnet-plug %v refusal %q does not name %q", args, r.stderr, frag)
			}
		}
	}
	h.mustHook(t, "evil", "stopped", "end", evil)
	if got := h.portRow(t, "vnet0"); got != row0 {
		t.Errorf("vm1's port changed:\nbefore:\n%s\nafter:\n%s", row0, got)
	}
	if got := flowTexts(h.flows(t, "br0", cookieOf(mac))); got != flows0 {
		t.Errorf("vm1's flows changed:\n%s\nbefore:\n%s", got, flows0)
	}

	// vm1 dies without its stop; the name comes back as a new device.
	h.ns.IP(t, "link", "del", "vnet0")
	h.vm(t, "vnet0", evilMAC, "")
	h.mustHook(t, "evil", "prepare", "begin", evil)
	h.mustHook(t, "evil", "start", "begin", evil)
	if got := h.get(t, "interface", "vnet0", "external_ids:hostnet-domain"); got != "evil" {
		t.Errorf("vnet0 belongs to %q after evil's start on a new device, want evil", got)
	}
}
