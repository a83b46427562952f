package plug

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
)

func vpcTarget(tap, mac, lsp string) target {
	return target{spec: portspec.PortSpec{Tap: tap, MAC: mac, VPCPort: lsp, SrcCheck: portspec.SrcCheckOff, VLAN: 1}, bridge: "brvpc"}
}

func brTarget(tap, mac, bridge string) target {
	return target{spec: portspec.PortSpec{Tap: tap, MAC: mac, Bridge: bridge, SrcCheck: portspec.SrcCheckMAC, VLAN: 1}, bridge: bridge}
}

// hostnetHolder is an interface hostnet plugged for domain, on brvpc.
func hostnetHolder(name, domain string, dead bool) holder {
	return hostnetHolderOn(name, domain, "brvpc", dead)
}

// hostnetHolderOn is an interface hostnet plugged for domain, on bridge.
func hostnetHolderOn(name, domain, bridge string, dead bool) holder {
	port, iface := ovsdb.UUID("port-"+name), ovsdb.UUID("iface-"+name)
	return holder{name: name, dead: dead, obs: observed{
		port: port, portIfaces: []ovsdb.UUID{iface}, iface: iface, bridge: bridge,
		portExt:  map[string]string{KeyOwner: OwnerVM, KeyDomainName: domain},
		ifaceExt: map[string]string{KeyOwner: OwnerVM, KeyDomainName: domain},
	}}
}

// foreignHolder is an interface another tool created on brvpc.
func foreignHolder(name string) holder {
	port, iface := ovsdb.UUID("port-"+name), ovsdb.UUID("iface-"+name)
	return holder{name: name, obs: observed{
		port: port, portIfaces: []ovsdb.UUID{iface}, iface: iface, bridge: "brvpc",
		portExt: map[string]string{}, ifaceExt: map[string]string{KeyIfaceID: "lsp-1"},
	}}
}

func TestPlanClaimsIfaceID(t *testing.T) {
	nic := vpcTarget("vnet1", "52:54:00:00:00:01", "lsp-1")
	cases := []struct {
		name    string
		targets []target
		holders map[string][]holder
		evict   map[int][]string
		errs    []string // fragments every one of which the error must contain; nil: no error
	}{
		{name: "no holder", targets: []target{nic}},
		{name: "not a VPC NIC", targets: []target{{spec: portspec.PortSpec{Tap: "vnet0", Bridge: "br0"}, bridge: "br0"}},
			holders: map[string][]holder{"lsp-1": {hostnetHolder("vnet9", "other", false)}}},
		{name: "the NIC's own rows", targets: []target{nic},
			holders: map[string][]holder{"lsp-1": {hostnetHolder("vnet1", "vm1", false)}}},
		{name: "another tap of the same plug", targets: []target{nic, vpcTarget("vnet2", "52:54:00:00:00:02", "lsp-2")},
			holders: map[string][]holder{"lsp-1": {hostnetHolder("vnet2", "vm1", false)}}},
		{name: "dead hostnet port is evicted", targets: []target{nic},
			holders: map[string][]holder{"lsp-1": {hostnetHolder("vnet0", "vm1", true)}},
			evict:   map[int][]string{0: {"vnet0"}}},
		{name: "live hostnet port refuses", targets: []target{nic},
			holders: map[string][]holder{"lsp-1": {hostnetHolder("vnet7", "vm2", false)}},
			errs: []string{"interface 52:54:00:00:00:01 (vnet1): vpc-port lsp-1", "vnet7 (bridge brvpc, domain vm2)", "its VM runs",
				"hostnet-plug del --tap vnet7", "another vpc-port"}},
		{name: "foreign port refuses", targets: []target{nic},
			holders: map[string][]holder{"lsp-1": {foreignHolder("ext0")}},
			errs:    []string{"ext0 (bridge brvpc)", "not a hostnet port", "ovs-vsctl remove Interface ext0 external_ids iface-id"}},
		{name: "foreign port is never evicted, even marked dead", targets: []target{nic},
			holders: map[string][]holder{"lsp-1": {func() holder { h := foreignHolder("ext0"); h.dead = true; return h }()}},
			errs:    []string{"not a hostnet port"}},
		{name: "a live one among dead ones refuses", targets: []target{nic},
			holders: map[string][]holder{"lsp-1": {hostnetHolder("vnet0", "vm1", true), hostnetHolder("vnet7", "vm2", false)}},
			errs:    []string{"vnet7"}},
		{name: "two NICs of the plug with one vpc-port", targets: []target{nic, vpcTarget("vnet2", "52:54:00:00:00:02", "lsp-1")},
			errs: []string{"interface 52:54:00:00:00:02 (vnet2): vpc-port lsp-1 is also the vpc-port of interface 52:54:00:00:00:01 (vnet1)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evict, err := planClaims(tc.targets, "brvpc", byKey(tc.holders, "iface-id "))
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				got := map[int][]string{}
				for i, es := range evict {
					got[i] = evictedNames(es)
				}
				want := tc.evict
				if want == nil {
					want = map[int][]string{}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("evict = %v, want %v", got, want)
				}
				return
			}
			if !errors.Is(err, ErrIfaceIDInUse) {
				t.Fatalf("error %v, want ErrIfaceIDInUse", err)
			}
			for _, frag := range tc.errs {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q lacks %q", err, frag)
				}
			}
		})
	}
}

// byKey turns holders by iface-id or MAC into holders by claim key.
func byKey(hs map[string][]holder, prefix string) map[string][]holder {
	out := map[string][]holder{}
	for k, v := range hs {
		out[prefix+k] = v
	}
	return out
}

func TestPlanClaimsMAC(t *testing.T) {
	const mac = "52:54:00:00:00:01"
	nic := brTarget("tapz", mac, "br0")
	cases := []struct {
		name    string
		targets []target
		holders map[string][]holder // by "MAC on BRIDGE"
		evict   map[int][]string
		errs    []string // fragments every one of which the error must contain; nil: no error
	}{
		{name: "no holder", targets: []target{nic}},
		{name: "the NIC's own rows", targets: []target{nic},
			holders: map[string][]holder{mac + " on br0": {hostnetHolderOn("tapz", "vm1", "br0", false)}}},
		{name: "dead hostnet port is evicted", targets: []target{nic},
			holders: map[string][]holder{mac + " on br0": {hostnetHolderOn("vnet0", "vm1", "br0", true)}},
			evict:   map[int][]string{0: {"vnet0"}}},
		{name: "live hostnet port refuses", targets: []target{nic},
			holders: map[string][]holder{mac + " on br0": {hostnetHolderOn("vnet0", "vm1", "br0", false)}},
			errs: []string{"interface 52:54:00:00:00:01 (tapz): MAC 52:54:00:00:00:01 on bridge br0: MAC already plugged on this bridge: OVS interface vnet0 (bridge br0, domain vm1) has it and its VM runs",
				"give this NIC its own MAC", "stop that VM or unplug it (hostnet-plug del --tap vnet0)"}},
		{name: "half-hostnet port refuses and is left alone", targets: []target{nic},
			holders: map[string][]holder{mac + " on br0": {func() holder { h := foreignHolder("vnet7"); h.dead = true; return h }()}},
			errs:    []string{"OVS interface vnet7 (bridge brvpc) is marked with it but is not a hostnet port", "ovs-vsctl del-port vnet7", "its own MAC"}},
		{name: "holders on another bridge do not count", targets: []target{nic},
			holders: map[string][]holder{mac + " on brpub": {hostnetHolderOn("vnet0", "vm1", "brpub", false)}}},
		{name: "no MAC claim on the OVN integration bridge", targets: []target{brTarget("tapz", mac, "brvpc")},
			holders: map[string][]holder{mac + " on brvpc": {hostnetHolderOn("vnet0", "vm1", "brvpc", false)}}},
		{name: "two NICs of the plug with one MAC on one bridge", targets: []target{nic, brTarget("tapy", mac, "br0")},
			errs: []string{"interface 52:54:00:00:00:01 (tapy): MAC 52:54:00:00:00:01 on bridge br0 is also the MAC of interface 52:54:00:00:00:01 (tapz)"}},
		{name: "two NICs of the plug with one MAC on two bridges", targets: []target{nic, brTarget("tapy", mac, "brpub")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evict, err := planClaims(tc.targets, "brvpc", byKey(tc.holders, "mac "))
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				got := map[int][]string{}
				for i, es := range evict {
					got[i] = evictedNames(es)
				}
				want := tc.evict
				if want == nil {
					want = map[int][]string{}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("evict = %v, want %v", got, want)
				}
				return
			}
			if !errors.Is(err, ErrMACInUse) || errors.Is(err, ErrIfaceIDInUse) {
				t.Fatalf("error %v, want ErrMACInUse only", err)
			}
			for _, frag := range tc.errs {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q lacks %q", err, frag)
				}
			}
		})
	}
}

// A dead port holding two claims of a plug is evicted once; its eviction
// names the first claim it held.
func TestPlanClaimsEvictsEachPortOnce(t *testing.T) {
	dead := hostnetHolderOn("vnet0", "vm1", "br0", true)
	a := vpcTarget("vnet1", "52:54:00:00:00:01", "lsp-1")
	b := brTarget("vnet2", "52:54:00:00:00:02", "br0")
	holders := map[string][]holder{"iface-id lsp-1": {dead}, "mac 52:54:00:00:00:02 on br0": {dead}}
	evict, err := planClaims([]target{a, b}, "brvpc", holders)
	if err != nil {
		t.Fatal(err)
	}
	var all []Eviction
	for i := range 2 {
		all = append(all, evictions(evict[i])...)
	}
	if want := []Eviction{{Tap: "vnet0", Claim: "iface-id lsp-1"}}; !reflect.DeepEqual(all, want) {
		t.Errorf("evictions %v, want %v", all, want)
	}
}

func TestAllClaims(t *testing.T) {
	targets := []target{
		brTarget("vnet0", "52:54:00:00:00:02", "br0"),
		vpcTarget("vnet1", "52:54:00:00:00:01", "lsp-1"),
		brTarget("vnet2", "52:54:00:00:00:02", "br0"), // the same claim again: listed once
		brTarget("vnet3", "52:54:00:00:00:02", "brpub"),
	}
	var keys []string
	for _, c := range allClaims(targets, "brvpc") {
		keys = append(keys, c.key())
	}
	want := []string{"iface-id lsp-1", "mac 52:54:00:00:00:02 on br0", "mac 52:54:00:00:00:02 on brpub"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("claims %q, want %q", keys, want)
	}
	if hasIfaceID(allClaims(targets[:1], "brvpc")) || !hasIfaceID(allClaims(targets, "brvpc")) {
		t.Error("hasIfaceID is wrong")
	}
}

// The precondition names exactly the holders outside the plug and
// excludes the plug's own taps from its where.
func TestWaitClaim(t *testing.T) {
	ours := map[string]bool{"vnet1": true, "vnet2": true}
	id := claim{kind: claimIfaceID, value: "lsp-1"}
	op := waitClaim(id, ours, []holder{hostnetHolder("vnet1", "vm1", false), hostnetHolder("vnet0", "vm0", true)})
	b, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"columns":["name"],"op":"wait","rows":[{"name":"vnet0"}],"table":"Interface","timeout":0,"until":"==",` +
		`"where":[["external_ids","includes",["map",[["iface-id","lsp-1"]]]],["name","!=","vnet1"],["name","!=","vnet2"]]}`
	if string(b) != want {
		t.Errorf("wait op\n got %s\nwant %s", b, want)
	}
	// No holder outside the plug: the precondition is "none".
	b, _ = json.Marshal(waitClaim(id, ours, nil))
	if !strings.Contains(string(b), `"rows":[]`) {
		t.Errorf("wait op without holders: %s", b)
	}
	// A MAC claim: hostnet's interfaces with that MAC on that bridge.
	mac := claim{kind: claimMAC, value: "52:54:00:00:00:01", bridge: "br0"}
	b, _ = json.Marshal(waitClaim(mac, map[string]bool{"vnet1": true}, nil))
	want = `{"columns":["name"],"op":"wait","rows":[],"table":"Interface","timeout":0,"until":"==",` +
		`"where":[["external_ids","includes",["map",[["attached-mac","52:54:00:00:00:01"],["hostnet-bridge","br0"],["hostnet-owner","hostnet-vm"]]]],["name","!=","vnet1"]]}`
	if string(b) != want {
		t.Errorf("MAC wait op\n got %s\nwant %s", b, want)
	}
}

// claimOps puts claims[i]'s wait at operation i+1, and failedClaim finds
// the claim of a failed wait there.
func TestFailedClaim(t *testing.T) {
	claims := []claim{{kind: claimIfaceID, value: "lsp-1"}, {kind: claimMAC, value: "52:54:00:00:00:01", bridge: "br0"}}
	ops := claimOps(ovsdb.Comment("x"), claims, nil, nil)
	if len(ops) != 3 || ops[0].Kind() != "comment" || ops[1].Kind() != "wait" || ops[2].Kind() != "wait" {
		t.Fatalf("claimOps: %v", ops)
	}
	for i, c := range claims {
		got, ok := failedClaim(fmt.Errorf("plug: %w", &ovsdb.OpError{Index: i + 1, Op: "wait", Table: "Interface", Err: "timed out"}), claims)
		if !ok || got != c {
			t.Errorf("failed wait %d: claim %v %v, want %v", i+1, got, ok, c)
		}
	}
	for _, err := range []error{
		&ovsdb.OpError{Index: 3, Op: "wait", Table: "Interface", Err: "timed out"},
		&ovsdb.OpError{Index: 1, Op: "insert", Table: "Interface", Err: "constraint violation"},
		&ovsdb.OpError{Index: 0, Op: "wait", Table: "Interface", Err: "timed out"},
		errors.New("x"),
	} {
		if c, ok := failedClaim(err, claims); ok {
			t.Errorf("%v is not a claim's failed wait, got %v", err, c)
		}
	}
}
