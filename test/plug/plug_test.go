package plug_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/harness"
)

const (
	uuidA = "aaaaaaaa-0000-4000-8000-000000000001"
	uuidB = "bbbbbbbb-0000-4000-8000-000000000002"
	uuidC = "cccccccc-0000-4000-8000-000000000003"
)

// TestPlugUnplugReplug: start plugs with tag, trunks, vlan_mode and
// external_ids; a re-plug with other settings clears the old ones; stop
// removes the port.
func TestPlugUnplugReplug(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:01:01", "")

	access := domainXML("vm1", uuidA, nic{mac: "52:54:00:00:01:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	h.mustHook(t, "vm1", "prepare", "begin", access)
	if got := h.get(t, "port", "vnet0", "_uuid"); got != "" {
		t.Fatalf("prepare plugged the port: %s", got)
	}
	h.mustHook(t, "vm1", "start", "begin", access)
	for col, want := range map[string]string{"tag": "100", "trunks": "[]", "vlan_mode": "access"} {
		if got := h.get(t, "port", "vnet0", col); got != want {
			t.Errorf("after start: port vnet0 %s = %s, want %s", col, got, want)
		}
	}
	if got := h.ovs.Vsctl(t, "port-to-br", "vnet0"); got != "br0" {
		t.Errorf("vnet0 is on %q, want br0", got)
	}
	ids := h.get(t, "interface", "vnet0", "external_ids")
	for _, want := range []string{`attached-mac="52:54:00:00:01:01"`, `hostnet-domain=vm1`, `hostnet-domain-uuid="` + uuidA + `"`,
		`hostnet-owner=hostnet-vm`, `iface-status=active`, `vm-id="` + uuidA + `"`, `hostnet-spec="mac=52:54:00:00:01:01 bridge=br0 vlan=100 src-check=mac"`} {
		if !strings.Contains(ids, want) {
			t.Errorf("interface external_ids lack %s: %s", want, ids)
		}
	}
	if ofport := h.get(t, "interface", "vnet0", "ofport"); ofport == "-1" || ofport == "[]" {
		t.Errorf("vnet0 has no OpenFlow port: %s (error: %s)", ofport, h.get(t, "interface", "vnet0", "error"))
	}

	// reconnect with changed metadata: the trunk replaces the tag in place.
	trunk := domainXML("vm1", uuidA, nic{mac: "52:54:00:00:01:01", tap: "vnet0", attrs: `bridge="br0" trunks="200,300-301"`})
	before := h.get(t, "port", "vnet0", "_uuid")
	h.mustHook(t, "vm1", "reconnect", "begin", trunk)
	for col, want := range map[string]string{"tag": "[]", "trunks": "[200, 300, 301]", "vlan_mode": "trunk", "_uuid": before} {
		if got := h.get(t, "port", "vnet0", col); got != want {
			t.Errorf("after re-plug: port vnet0 %s = %s, want %s", col, got, want)
		}
	}

	// BRTRUNK clears everything.
	h.mustHook(t, "vm1", "reconnect", "begin", domainXML("vm1", uuidA, nic{mac: "52:54:00:00:01:01", tap: "vnet0", attrs: `bridge="br0"`}))
	for col, want := range map[string]string{"tag": "[]", "trunks": "[]", "vlan_mode": "[]"} {
		if got := h.get(t, "port", "vnet0", col); got != want {
			t.Errorf("after BRTRUNK re-plug: port vnet0 %s = %s, want %s", col, got, want)
		}
	}

	h.mustHook(t, "vm1", "stopped", "end", trunk)
	if got := h.get(t, "port", "vnet0", "_uuid"); got != "" {
		t.Errorf("port vnet0 still there after stopped: %s", got)
	}
	h.mustHook(t, "vm1", "release", "end", trunk)
}

// TestOneTransactionPerVM: a four-NIC start is one OVSDB transaction that
// carries every port with its settings.
func TestOneTransactionPerVM(t *testing.T) {
	h := newHost(t)
	var nics []nic
	for i, attrs := range []string{`bridge="br0" vlan="100"`, `wire="wire1"`, `bridge="br0" trunks="100,200-210"`, `vpc-port="lsp-1"`} {
		mac := "52:54:00:00:02:0" + string(rune('1'+i))
		tap := "vnet" + string(rune('1'+i))
		h.vm(t, tap, mac, "")
		nics = append(nics, nic{mac: mac, tap: tap, attrs: attrs})
	}
	before := h.dbRecords(t)
	h.mustHook(t, "vm4", "start", "begin", domainXML("vm4", uuidA, nics...))
	after := h.dbRecords(t)[len(before):]

	var withPorts []string
	for _, rec := range after {
		if strings.Contains(rec, `table Port insert row "vnet`) {
			withPorts = append(withPorts, rec)
		}
	}
	if len(withPorts) == 1 && !strings.Contains(withPorts[0], `"hostnet: plug vnet1, vnet2, vnet3, vnet4 of vm4"`) {
		t.Errorf("the transaction does not say who made it:\n%s", withPorts[0])
	}
	if len(withPorts) != 1 {
		t.Fatalf("want the four ports in one transaction, found %d transactions touching them:\n%s", len(withPorts), strings.Join(withPorts, "\n"))
	}
	for _, tap := range []string{"vnet1", "vnet2", "vnet3", "vnet4"} {
		if !strings.Contains(withPorts[0], `table Port insert row "`+tap+`"`) {
			t.Errorf("the transaction does not create %s:\n%s", tap, withPorts[0])
		}
	}
	for tap, br := range map[string]string{"vnet1": "br0", "vnet2": "brpub", "vnet3": "br0", "vnet4": "brvpc"} {
		if got := h.ovs.Vsctl(t, "port-to-br", tap); got != br {
			t.Errorf("%s is on %s, want %s", tap, got, br)
		}
	}
	if got := h.get(t, "interface", "vnet4", "external_ids:iface-id"); got != "lsp-1" {
		t.Errorf("vnet4 iface-id = %s, want lsp-1", got)
	}
}

// dbRecords returns the transactions in the database log, one string each.
func (h *host) dbRecords(t *testing.T) []string {
	t.Helper()
	out, err := h.ovs.Run("ovsdb-tool", "-mm", "show-log", h.ovs.Rundir+"/conf.db")
	if err != nil {
		t.Fatalf("ovsdb-tool show-log: %v", err)
	}
	return recordStart.Split(out, -1)[1:]
}

var recordStart = regexp.MustCompile(`(?m)^record \d+:`)

// TestVLANIsolation: VMs on VLAN 100 reach each other, not the VM on 200.
func TestVLANIsolation(t *testing.T) {
	h := newHost(t)
	a := h.vm(t, "vnet0", "52:54:00:00:03:01", "10.3.0.1/24")
	h.vm(t, "vnet1", "52:54:00:00:03:02", "10.3.0.2/24")
	h.vm(t, "vnet2", "52:54:00:00:03:03", "10.3.0.3/24")
	h.mustHook(t, "a", "start", "begin", domainXML("a", uuidA, nic{mac: "52:54:00:00:03:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`}))
	h.mustHook(t, "b", "start", "begin", domainXML("b", uuidB, nic{mac: "52:54:00:00:03:02", tap: "vnet1", attrs: `bridge="br0" vlan="100"`}))
	h.mustHook(t, "c", "start", "begin", domainXML("c", uuidC, nic{mac: "52:54:00:00:03:03", tap: "vnet2", attrs: `bridge="br0" vlan="200"`}))
	harness.ExpectReach(t, a, "10.3.0.2")
	harness.ExpectNoReach(t, a, "10.3.0.3")
}

// TestBRTrunkAndTrunkList: a VM that runs its own VLANs (played by a switch
// namespace behind the tap) on a VLAN-1 port passes tagged frames of every
// VLAN; on a trunks list, only those VLANs.
func TestBRTrunkAndTrunkList(t *testing.T) {
	h := newHost(t)
	// Access VMs on br0, on VLANs 100, 200 and 300.
	h.vm(t, "acc100", "52:54:00:00:04:01", "10.4.100.1/24")
	h.vm(t, "acc200", "52:54:00:00:04:02", "10.4.200.1/24")
	h.vm(t, "acc300", "52:54:00:00:04:03", "10.4.44.1/24")
	for _, a := range []struct{ name, tap, mac, vlan, uuid string }{
		{"a100", "acc100", "52:54:00:00:04:01", "100", uuidA},
		{"a200", "acc200", "52:54:00:00:04:02", "200", uuidB},
		{"a300", "acc300", "52:54:00:00:04:03", "300", uuidC},
	} {
		h.mustHook(t, a.name, "start", "begin", domainXML(a.name, a.uuid, nic{mac: a.mac, tap: a.tap, attrs: `bridge="br0" vlan="` + a.vlan + `"`}))
	}

	// The trunk VM: its "guest" is a switch with VLAN 100, 200 and 300 interfaces.
	guest := harness.NewSwitch(t)
	guest.TrunkTo(t, h.ns, "vnet9")
	in100 := guest.AddPeer(t, 100, "10.4.100.2/24")
	in200 := guest.AddPeer(t, 200, "10.4.200.2/24")
	in300 := guest.AddPeer(t, 300, "10.4.44.2/24")

	brtrunk := domainXML("trunkvm", "dddddddd-0000-4000-8000-000000000004", nic{mac: "52:54:00:00:04:09", tap: "vnet9", attrs: `bridge="br0" src-check="off"`})
	h.mustHook(t, "trunkvm", "start", "begin", brtrunk)
	harness.ExpectReach(t, in100, "10.4.100.1")
	harness.ExpectReach(t, in200, "10.4.200.1")
	harness.ExpectReach(t, in300, "10.4.44.1")

	// Limited to 100 and 200: 300 no longer passes.
	limited := domainXML("trunkvm", "dddddddd-0000-4000-8000-000000000004", nic{mac: "52:54:00:00:04:09", tap: "vnet9", attrs: `bridge="br0" trunks="100,200" src-check="off"`})
	h.mustHook(t, "trunkvm", "reconnect", "begin", limited)
	harness.ExpectReach(t, in100, "10.4.100.1")
	harness.ExpectReach(t, in200, "10.4.200.1")
	harness.ExpectNoReach(t, in300, "10.4.44.1")
}

// TestStaleRowReplaced: a VM died without its stopped hook (its port row
// stayed, its tap is gone); libvirt reuses the tap name for the next VM,
// whose start must give it a working port.
func TestStaleRowReplaced(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet1", "52:54:00:00:05:02", "10.5.0.2/24")
	h.mustHook(t, "peer", "start", "begin", domainXML("peer", uuidB, nic{mac: "52:54:00:00:05:02", tap: "vnet1", attrs: `bridge="br0" vlan="100"`}))

	h.vm(t, "vnet0", "52:54:00:00:05:01", "10.5.0.1/24")
	first := domainXML("crashed", uuidA, nic{mac: "52:54:00:00:05:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	h.mustHook(t, "crashed", "start", "begin", first)
	staleUUID := h.get(t, "port", "vnet0", "_uuid")
	// The VM dies: the tap goes, no hook runs.
	h.ns.IP(t, "link", "del", "vnet0")

	// Another VM gets the same tap name.
	vm := h.vm(t, "vnet0", "52:54:00:00:05:03", "10.5.0.3/24")
	next := domainXML("next", uuidC, nic{mac: "52:54:00:00:05:03", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	h.mustHook(t, "next", "start", "begin", next)
	if got := h.get(t, "port", "vnet0", "_uuid"); got == staleUUID || got == "" {
		t.Errorf("port vnet0 was not replaced: uuid %s (stale %s)", got, staleUUID)
	}
	if got := h.get(t, "interface", "vnet0", "external_ids:hostnet-domain"); got != "next" {
		t.Errorf("vnet0 belongs to %s, want next", got)
	}
	harness.ExpectReach(t, vm, "10.5.0.2")

	// The stopped hook of the crashed VM, arriving late, leaves next's port alone.
	h.mustHook(t, "crashed", "stopped", "end", first)
	if got := h.get(t, "interface", "vnet0", "external_ids:hostnet-domain"); got != "next" {
		t.Errorf("a late stopped of another domain removed vnet0: %q", got)
	}
}

// TestForeignPortsUntouched: a tap name that is a port hostnet does not own
// (another tool's port, the host's uplink, a bridge's own port) is refused
// and the port stays exactly as it was.
func TestForeignPortsUntouched(t *testing.T) {
	h := newHost(t)
	harness.Veth(t, h.ns, "other0", harness.NewNetns(t, "oth"), "eth0")
	h.ovs.Vsctl(t, "add-port", "br0", "other0", "tag=5", "--", "set", "interface", "other0", "external_ids:owner=someone-else")

	for _, tap := range []string{"other0", "eth0", "br0", "eth1"} {
		t.Run(tap, func(t *testing.T) {
			before := h.portRow(t, tap)
			xml := domainXML("intruder", uuidA, nic{mac: "52:54:00:00:06:01", tap: tap, attrs: `bridge="br0" vlan="100"`})
			for _, op := range [][2]string{{"prepare", "begin"}, {"start", "begin"}} {
				r := h.runHook(t, "intruder", op[0], op[1], xml)
				if r.code != 1 {
					t.Fatalf("%s %s with tap %s exited %d, want 1 (refused); stderr %q", op[0], op[1], tap, r.code, r.stderr)
				}
				if !strings.Contains(r.stderr, "not a hostnet VM port") || !strings.Contains(r.stderr, tap) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
					t.Errorf("refusal is not one clear line naming %s: %q", tap, r.stderr)
				}
			}
			// Stop and reconnect do not touch it either.
			h.mustHook(t, "intruder", "stopped", "end", xml)
			h.mustHook(t, "intruder", "reconnect", "begin", xml)
			if after := h.portRow(t, tap); after != before {
				t.Errorf("port %s changed:\nbefore:\n%s\nafter:\n%s", tap, before, after)
			}
		})
	}
}

// TestInjectionRefused: names and values that would be OVS or shell syntax
// are refused at prepare and at start, and nothing is created.
func TestInjectionRefused(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:07:01", "")
	cases := map[string]nic{
		"bridge with ovs-vsctl syntax": {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `bridge="br0 -- del-br br0"`},
		"vlan with a column":           {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `bridge="br0" vlan="100,trunks=5"`},
		"trunks with a column":         {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `bridge="br0" trunks="100 external_ids:x=y"`},
		"vpc-port with quotes":         {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `vpc-port="lsp&quot;,x=&quot;y"`},
		"tap with a comma":             {mac: "52:54:00:00:07:01", tap: "vnet0,tag=5", attrs: `bridge="br0"`},
		"ip with a flow":               {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `bridge="br0"`, ips: []string{"10.0.0.1,actions=normal"}},
		"unknown bridge":               {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `bridge="br9"`},
		"unknown wire":                 {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `wire="wire9"`},
		"OVN's bridge as a bridge":     {mac: "52:54:00:00:07:01", tap: "vnet0", attrs: `bridge="brvpc"`},
	}
	for name, n := range cases {
		t.Run(name, func(t *testing.T) {
			xml := domainXML("bad", uuidA, n)
			for _, op := range []string{"prepare", "start"} {
				r := h.runHook(t, "bad", op, "begin", xml)
				if r.code != 1 || r.stderr == "" {
					t.Errorf("%s: exit %d, stderr %q; want a refusal", op, r.code, r.stderr)
				}
			}
			if got := h.ovs.Vsctl(t, "list-ports", "br0"); got != "eth0" {
				t.Errorf("br0 ports = %q, want only eth0", got)
			}
			if got := h.ovs.Vsctl(t, "list-ports", "brvpc"); got != "" {
				t.Errorf("brvpc ports = %q, want none", got)
			}
			if got := h.ovs.Vsctl(t, "list-br"); got != "br0\nbrpub\nbrvpc" {
				t.Errorf("bridges = %q", got)
			}
		})
	}
}

// TestRepairReplacesDeadDevice: a repair (reconnect, hostnet-plug add)
// keeps a live port, but a row whose device was replaced under the same
// name is re-created, so the new device really gets traffic (ovs-vswitchd
// keeps reading the dead one, though it reports the new one's ifindex).
func TestRepairReplacesDeadDevice(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet1", "52:54:00:00:0e:02", "10.14.0.2/24")
	h.mustHook(t, "peer", "start", "begin", domainXML("peer", uuidB, nic{mac: "52:54:00:00:0e:02", tap: "vnet1", attrs: `bridge="br0" vlan="100"`}))
	h.vm(t, "vnet0", "52:54:00:00:0e:01", "10.14.0.1/24")
	xml := domainXML("vm", uuidA, nic{mac: "52:54:00:00:0e:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	h.mustHook(t, "vm", "start", "begin", xml)

	live := h.get(t, "port", "vnet0", "_uuid")
	h.mustHook(t, "vm", "reconnect", "begin", xml)
	if got := h.get(t, "port", "vnet0", "_uuid"); got != live {
		t.Fatalf("reconnect replaced a live port (%s -> %s)", live, got)
	}

	h.ns.IP(t, "link", "del", "vnet0")
	vm := h.vm(t, "vnet0", "52:54:00:00:0e:01", "10.14.0.1/24")
	h.mustHook(t, "vm", "reconnect", "begin", xml)
	if got := h.get(t, "port", "vnet0", "_uuid"); got == live {
		t.Errorf("reconnect kept the row of the dead device")
	}
	harness.ExpectReach(t, vm, "10.14.0.2")
}
