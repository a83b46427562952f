package plug

import (
	"errors"
	"reflect"
	"testing"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
)

// Flows whose owner no port on the bridge holds are orphans; a port with
// a spec that does not parse keeps everything on its OpenFlow port, and a
// flow matching no port is kept (only its cookie could remove it).
func TestOrphanFlows(t *testing.T) {
	const a, b, c, d = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:0c", "52:54:00:00:00:0d"
	port := func(mac string, ofport int64, br string) Port {
		return Port{Tap: "t" + mac[len(mac)-1:], Bridge: br, OFPort: ofport, Spec: portspec.PortSpec{MAC: mac}}
	}
	broken := Port{Tap: "tx", Bridge: "br0", OFPort: 9, SpecError: errors.New("bad spec")}
	ports := []Port{port(a, 5, "br0"), port(b, 6, "br1"), broken, port(d, -1, "br0")}
	owners := map[FlowOwner]int{
		{MAC: a, OFPort: 5}:  7, // live
		{MAC: c, OFPort: 5}:  7, // the NIC's MAC before it changed
		{MAC: b, OFPort: 6}:  3, // that port is on br1
		{MAC: c, OFPort: 9}:  2, // the broken port's number: kept
		{MAC: d, OFPort: 4}:  7, // its device is gone: the number it had
		{MAC: a, OFPort: 0}:  1, // no in_port: only its cookie could remove it, with a's live flows
		{MAC: c, OFPort: 0}:  1, // no in_port: kept all the same
		{MAC: c, OFPort: -1}: 1, // in_port=LOCAL
	}
	got := orphanFlows("br0", owners, ports)
	want := []Swept{
		{Bridge: "br0", Owner: FlowOwner{MAC: c, OFPort: -1}, Flows: 1},
		{Bridge: "br0", Owner: FlowOwner{MAC: d, OFPort: 4}, Flows: 7},
		{Bridge: "br0", Owner: FlowOwner{MAC: c, OFPort: 5}, Flows: 7},
		{Bridge: "br0", Owner: FlowOwner{MAC: b, OFPort: 6}, Flows: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("orphans:\n got %+v\nwant %+v", got, want)
	}
}

// A plug retires the flows its rows had under another MAC or on another
// bridge, and nothing else.
func TestRetiredFlows(t *testing.T) {
	const oldMAC, newMAC = "52:54:00:00:00:01", "52:54:00:00:00:02"
	row := func(mac, br string, ofport int64) observed {
		ext := map[string]string{KeyOwner: OwnerVM}
		iext := map[string]string{KeyOwner: OwnerVM, KeyAttachedMAC: mac}
		return observed{port: "p", portIfaces: []ovsdb.UUID{"i"}, iface: "i", portExt: ext, ifaceExt: iext, bridge: br, ofport: ofport}
	}
	nic := func(mac, br string) target {
		return target{spec: portspec.PortSpec{Tap: "vnet0", MAC: mac, Bridge: br}, bridge: br}
	}
	foreign := row(oldMAC, "br0", 5)
	foreign.portExt = map[string]string{}
	cfg := config.Defaults()
	e := &Engine{Config: &cfg}
	for _, tc := range []struct {
		name string
		t    target
		obs  observed
		want map[string][]FlowOwner
	}{
		{"MAC changed", nic(newMAC, "br0"), row(oldMAC, "br0", 5), map[string][]FlowOwner{"br0": {{MAC: oldMAC, OFPort: 5}}}},
		{"moved to another bridge", nic(oldMAC, "br1"), row(oldMAC, "br0", 5), map[string][]FlowOwner{"br0": {{MAC: oldMAC, OFPort: 5}}}},
		{"device gone: by MAC alone", nic(newMAC, "br0"), row(oldMAC, "br0", -1), map[string][]FlowOwner{"br0": {{MAC: oldMAC, OFPort: 0}}}},
		{"unchanged", nic(oldMAC, "br0"), row(oldMAC, "br0", 5), map[string][]FlowOwner{}},
		{"no rows", nic(newMAC, "br0"), observed{}, map[string][]FlowOwner{}},
		{"not hostnet's", nic(newMAC, "br0"), foreign, map[string][]FlowOwner{}},
		{"the OVN bridge: no flows of hostnet's", nic(newMAC, "br0"), row(oldMAC, "brvpc", 5), map[string][]FlowOwner{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.retiredFlows([]target{tc.t}, state{taps: map[string]observed{"vnet0": tc.obs}})
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("retired %v, want %v", got, tc.want)
			}
		})
	}
}
