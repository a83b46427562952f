package vswitch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/ovsdb"
)

func uplinkSpec() BridgeSpec {
	return BridgeSpec{
		Name: "br0", DatapathType: "netdev", FailMode: "standalone", HWAddr: "02:00:00:00:00:01", MTU: 1400,
		ExternalIDs: map[string]string{"hostnet-hostprep": "uplink-bridge"}, Uplink: "eth0",
		Internal: []InternalPort{{Name: "br0-v100", Tag: 100, MAC: "02:00:00:00:00:01", MTU: 1400}},
	}
}

// converged is the snapshot of a database that already has uplinkSpec.
func converged() *Snapshot {
	return &Snapshot{
		Root: Root{UUID: "root"},
		Bridges: map[string]*Bridge{"br0": {UUID: "b0", Name: "br0", DatapathType: "netdev", FailMode: "standalone",
			OtherConfig: map[string]string{"hwaddr": "02:00:00:00:00:01"}}},
		Ports: map[string]*Port{
			"br0":      {UUID: "p0", Name: "br0", Bridge: "br0", Interfaces: []Interface{{UUID: "i0", Name: "br0", Type: "internal", MTURequest: 1400}}},
			"eth0":     {UUID: "p1", Name: "eth0", Bridge: "br0", Interfaces: []Interface{{UUID: "i1", Name: "eth0"}}},
			"br0-v100": {UUID: "p2", Name: "br0-v100", Bridge: "br0", Tag: 100, Interfaces: []Interface{{UUID: "i2", Name: "br0-v100", Type: "internal", MTURequest: 1400, MAC: "02:00:00:00:00:01"}}},
		},
	}
}

func opsJSON(t *testing.T, ops []ovsdb.Operation) string {
	t.Helper()
	b, err := json.Marshal(ops)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEnsureBridgeCreate(t *testing.T) {
	snap := &Snapshot{Root: Root{UUID: "root"}, Bridges: map[string]*Bridge{}, Ports: map[string]*Port{}}
	ops, changes, err := EnsureBridge(uplinkSpec(), snap)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, op := range ops {
		kinds = append(kinds, op.Kind()+" "+op.Table())
	}
	want := "insert Interface,insert Port,insert Interface,insert Port,insert Interface,insert Port,insert Bridge,mutate Open_vSwitch"
	if got := strings.Join(kinds, ","); got != want {
		t.Errorf("ops = %s\nwant %s", got, want)
	}
	js := opsJSON(t, ops)
	for _, frag := range []string{
		`"datapath_type":"netdev"`, `"fail_mode":"standalone"`, `["hwaddr","02:00:00:00:00:01"]`,
		`"mtu_request":1400`, `"tag":100`, `"mac":"02:00:00:00:00:01"`, `["hostnet-hostprep","uplink-bridge"]`,
		`"where":[["_uuid","==",["uuid","root"]]]`,
	} {
		if !strings.Contains(js, frag) {
			t.Errorf("transaction lacks %s:\n%s", frag, js)
		}
	}
	if len(changes) != 3 || !strings.HasPrefix(changes[0], "create bridge br0") {
		t.Errorf("changes = %q", changes)
	}
}

func TestEnsureBridgeConverged(t *testing.T) {
	ops, changes, err := EnsureBridge(uplinkSpec(), converged())
	if err != nil || len(ops) != 0 || len(changes) != 0 {
		t.Fatalf("converged bridge: ops %s, changes %q, err %v; want nothing", opsJSON(t, ops), changes, err)
	}
}

func TestEnsureBridgeDrift(t *testing.T) {
	snap := converged()
	delete(snap.Ports, "eth0") // the NIC was taken off by hand
	snap.Bridges["br0"].FailMode = "secure"
	snap.Bridges["br0"].OtherConfig["hwaddr"] = "02:00:00:00:00:99"
	snap.Bridges["br0"].OtherConfig["keep"] = "me"
	snap.Ports["br0"].Interfaces[0].MTURequest = 0
	snap.Ports["br0-v100"].Tag = 200
	ops, changes, err := EnsureBridge(uplinkSpec(), snap)
	if err != nil {
		t.Fatal(err)
	}
	js := opsJSON(t, ops)
	for _, frag := range []string{
		`"row":{"fail_mode":"standalone"}`,
		`["other_config","delete",["set",["hwaddr"]]]`, `["other_config","insert",["map",[["hwaddr","02:00:00:00:00:01"]]]]`,
		`"row":{"mtu_request":1400}`, `"row":{"tag":["set",[100]]}`,
		`["ports","insert",["set",[["named-uuid","p_uplink"]]]]`,
	} {
		if !strings.Contains(js, frag) {
			t.Errorf("transaction lacks %s:\n%s", frag, js)
		}
	}
	if strings.Contains(js, "keep") {
		t.Errorf("other keys of other_config must be left alone:\n%s", js)
	}
	if len(changes) != 5 {
		t.Errorf("changes = %q, want 5", changes)
	}
}

func TestEnsureBridgeUplinkTagCleared(t *testing.T) {
	snap := converged()
	snap.Ports["eth0"].Tag = 5
	ops, _, err := EnsureBridge(uplinkSpec(), snap)
	if err != nil {
		t.Fatal(err)
	}
	if js := opsJSON(t, ops); !strings.Contains(js, `"row":{"tag":["set",[]],"trunks":["set",[]],"vlan_mode":["set",[]]}`) {
		t.Errorf("uplink tag not cleared:\n%s", js)
	}
}

func TestEnsureBridgePortElsewhere(t *testing.T) {
	snap := converged()
	snap.Ports["eth0"].Bridge = "brX"
	_, _, err := EnsureBridge(uplinkSpec(), snap)
	if !errors.Is(err, ErrPortElsewhere) || !strings.Contains(err.Error(), "brX") {
		t.Fatalf("err = %v, want ErrPortElsewhere naming brX", err)
	}
	if _, _, err := EnsureBridge(uplinkSpec(), &Snapshot{}); !errors.Is(err, ErrNoRoot) {
		t.Fatalf("no root row: err = %v, want ErrNoRoot", err)
	}
}

func TestSetRootKeys(t *testing.T) {
	snap := &Snapshot{Root: Root{UUID: "root", ExternalIDs: map[string]string{"ovn-remote": "tcp:old:6642", "system-id": "chassis-7", "other": "x"}}}
	ops, changes, err := SetRootKeys(snap,
		map[string]string{"ovn-remote": "tcp:10.0.0.2:6642", "ovn-encap-type": "geneve"},
		map[string]string{"system-id": "host1"})
	if err != nil {
		t.Fatal(err)
	}
	js := opsJSON(t, ops)
	if strings.Contains(js, "host1") {
		t.Errorf("system-id overwritten:\n%s", js)
	}
	if !strings.Contains(js, `["external_ids","delete",["set",["ovn-remote"]]]`) ||
		!strings.Contains(js, `[["ovn-encap-type","geneve"],["ovn-remote","tcp:10.0.0.2:6642"]]`) {
		t.Errorf("unexpected ops:\n%s", js)
	}
	if len(changes) != 2 {
		t.Errorf("changes = %q", changes)
	}
	snap.Root.ExternalIDs = map[string]string{"ovn-remote": "tcp:10.0.0.2:6642", "ovn-encap-type": "geneve", "system-id": "x"}
	if ops, _, _ := SetRootKeys(snap, map[string]string{"ovn-remote": "tcp:10.0.0.2:6642", "ovn-encap-type": "geneve"},
		map[string]string{"system-id": "host1"}); len(ops) != 0 {
		t.Errorf("converged root: ops %s", opsJSON(t, ops))
	}
}

func TestRemoveAndDelete(t *testing.T) {
	snap := converged()
	if js := opsJSON(t, RemovePort(snap, "br0", "eth0")); !strings.Contains(js, `["ports","delete",["set",[["uuid","p1"]]]]`) {
		t.Errorf("RemovePort: %s", js)
	}
	if ops := RemovePort(snap, "br1", "eth0"); len(ops) != 0 {
		t.Errorf("RemovePort from a bridge that does not hold the port: %s", opsJSON(t, ops))
	}
	if js := opsJSON(t, DeleteBridge(snap, "br0")); !strings.Contains(js, `["bridges","delete",["set",[["uuid","b0"]]]]`) {
		t.Errorf("DeleteBridge: %s", js)
	}
	if ops := DeleteBridge(snap, "nope"); len(ops) != 0 {
		t.Errorf("DeleteBridge of a missing bridge: %s", opsJSON(t, ops))
	}
}
