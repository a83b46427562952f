package hostprep_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/harness"
)

// expectNoChange runs apply on a converged host and proves it changed
// nothing: exit 0, "no changes", no netlink event, and the same netlink
// state and OVS database (next_cfg included: every OVS change hostprep
// makes increments it) before and after.
func (h *host) expectNoChange(what string) result {
	h.t.Helper()
	h.settle()
	netBefore, ovsBefore := h.netState(), h.ovsState()
	stop := h.monitor()
	r := h.run("apply")
	events := stop()
	if r.code != 0 || !strings.Contains(r.stderr, "no changes") {
		h.t.Errorf("%s: apply on a converged host:\n%s", what, r)
	}
	if events != "" {
		h.t.Errorf("%s: apply on a converged host made netlink changes:\n%s", what, events)
	}
	equalOrDiff(h.t, what+": netlink state", netBefore, h.netState())
	equalOrDiff(h.t, what+": OVS database", ovsBefore, h.ovsState())
	return r
}

func (h *host) status() (int, map[string]any) {
	h.t.Helper()
	r := h.run("status", "--json")
	var s map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		h.t.Fatalf("status --json: %v\n%s", err, r)
	}
	return r.code, s
}

func entryState(s map[string]any, i int) string {
	es, _ := s["entries"].([]any)
	if i >= len(es) {
		return ""
	}
	e, _ := es[i].(map[string]any)
	st, _ := e["state"].(string)
	return st
}

func TestIdempotentAndDrift(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	gw := ipHost(t, h)
	peer := harness.NewNetns(t, "peer")
	harness.Veth(t, h.ns, "eth1", peer, "eth0")
	h.writeConf(`
networks:
  - eth0/br0/` + hostIP + `
  - eth1/brpub/wire1
ovs_datapath_type: netdev
`)
	h.apply()
	nicMAC := h.mustLink("eth0").Address
	wire := h.wireAddr("brpub")
	routes := h.routes()
	r := h.expectNoChange("second apply")
	t.Logf("apply on the converged host: %v", r.duration)
	if code, s := h.status(); code != 0 || s["ok"] != true {
		t.Errorf("status of the converged host: exit %d %v", code, s)
	}

	drifts := []struct {
		name   string
		entry  int
		break_ func()
		check  func()
	}{
		{"address re-added on the NIC", 0,
			func() { h.ns.IP(t, "addr", "add", hostIP+"/24", "dev", "eth0") },
			func() {
				if got := h.addrs("eth0"); len(got) != 0 {
					t.Errorf("eth0 still carries %q", got)
				}
				if got := h.addrs("br0"); !slices.Contains(got, hostIP+"/24") {
					t.Errorf("br0 addresses %q", got)
				}
			}},
		{"NIC taken off the bridge", 0,
			func() { h.vsctl("del-port", "br0", "eth0") },
			func() {
				if got := h.vsctl("port-to-br", "eth0"); got != "br0" {
					t.Errorf("eth0 is on %q", got)
				}
			}},
		// ovs-vswitchd puts the pinned MAC back by taking the device down
		// and up, which flushes its routes: the record of the move brings
		// them back.
		{"bridge MAC changed", 0,
			func() {
				h.ns.IP(h.t, "link", "set", "br0", "address", "02:aa:bb:cc:dd:ee")
				h.waitLink("br0", func(l ipLink) bool { return l.Address == nicMAC && slices.Contains(l.Flags, "UP") })
			},
			func() {
				if got := h.mustLink("br0").Address; got != nicMAC {
					t.Errorf("br0 address %s, want %s", got, nicMAC)
				}
			}},
		{"hwaddr changed in OVS", 0,
			func() { h.vsctl("set", "bridge", "br0", "other-config:hwaddr=02:aa:bb:cc:dd:ee") },
			func() {
				if got := h.vsctl("get", "bridge", "br0", "other-config:hwaddr"); got != `"`+nicMAC+`"` {
					t.Errorf("hwaddr %s, want %s", got, nicMAC)
				}
				if got := h.mustLink("br0").Address; got != nicMAC {
					t.Errorf("br0 address %s, want %s", got, nicMAC)
				}
			}},
		{"bridge MTU changed in OVS", 0,
			func() { h.vsctl("set", "interface", "br0", "mtu_request=1300") },
			func() {
				if got := h.mustLink("br0").MTU; got != 1400 {
					t.Errorf("br0 mtu %d, want 1400", got)
				}
			}},
		{"wire address removed", 1,
			func() { h.ns.IP(t, "addr", "del", wire, "dev", "brpub") },
			func() {
				if got := h.wireAddr("brpub"); got != wire {
					t.Errorf("wire address %s, want %s", got, wire)
				}
			}},
	}
	for _, d := range drifts {
		t.Run(d.name, func(t *testing.T) {
			h.t = t
			d.break_()
			if code, s := h.status(); code != 1 || entryState(s, d.entry) != "drift" {
				t.Errorf("status after the drift: exit %d, entry %d state %q, want 1 and drift", code, d.entry, entryState(s, d.entry))
			}
			h.apply()
			d.check()
			checkRoutes(t, "routes", h.routes(), routes)
			harness.ExpectReach(t, gw.NS, hostIP)
			h.expectNoChange("apply after the repair")
		})
	}
}
