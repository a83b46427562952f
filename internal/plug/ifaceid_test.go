package plug

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
)

func vpcTarget(tap, mac, lsp string) target {
	return target{spec: portspec.PortSpec{Tap: tap, MAC: mac, VPCPort: lsp, SrcCheck: portspec.SrcCheckOff, VLAN: 1}, bridge: "brvpc"}
}

// hostnetHolder is an interface hostnet plugged for domain, on brvpc.
func hostnetHolder(name, domain string, dead bool) holder {
	port, iface := ovsdb.UUID("port-"+name), ovsdb.UUID("iface-"+name)
	return holder{name: name, dead: dead, obs: observed{
		port: port, portIfaces: []ovsdb.UUID{iface}, iface: iface, bridge: "brvpc",
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

func TestPlanIfaceIDs(t *testing.T) {
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
			evict, err := planIfaceIDs(tc.targets, tc.holders)
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				got := map[int][]string{}
				for i, hs := range evict {
					got[i] = evictedNames(hs)
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

// The precondition names exactly the holders outside the plug and
// excludes the plug's own taps from its where.
func TestWaitHolders(t *testing.T) {
	ours := map[string]bool{"vnet1": true, "vnet2": true}
	op := waitHolders("lsp-1", ours, []holder{hostnetHolder("vnet1", "vm1", false), hostnetHolder("vnet0", "vm0", true)})
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
	b, _ = json.Marshal(waitHolders("lsp-1", ours, nil))
	if !strings.Contains(string(b), `"rows":[]`) {
		t.Errorf("wait op without holders: %s", b)
	}
}

func TestIsHolderRace(t *testing.T) {
	if !isHolderRace(&ovsdb.OpError{Op: "wait", Table: "Interface", Err: "timed out"}) {
		t.Error("a failed wait on Interface is the holder race")
	}
	if isHolderRace(&ovsdb.OpError{Op: "insert", Table: "Interface", Err: "constraint violation"}) || isHolderRace(errors.New("x")) {
		t.Error("other errors are not")
	}
}
