package plug

import (
	"strconv"

	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
)

// external_ids keys hostnet writes on the Port and Interface rows of a VM
// NIC (DESIGN.md section 4). attached-mac, iface-id, iface-status and vm-id
// are the keys of the OVS integration guide, which OVN and other tools read.
const (
	KeyOwner       = "hostnet-owner" // on Port and Interface: OwnerVM
	KeyDomainUUID  = "hostnet-domain-uuid"
	KeyDomainName  = "hostnet-domain"
	KeySpec        = "hostnet-spec" // portspec.Encode: the whole NIC, so flows can be rebuilt from OVSDB alone
	KeyBridge      = "hostnet-bridge"
	KeyIfindex     = "hostnet-ifindex" // the tap's kernel device when plugged: tells a live tap from a new one of the same name
	KeyAttachedMAC = "attached-mac"
	KeyIfaceID     = "iface-id"
	KeyIfaceStatus = "iface-status"
	KeyVMID        = "vm-id"
)

// OwnerVM marks rows hostnet created for a VM NIC. hostnet changes and
// deletes only rows that carry it.
const OwnerVM = "hostnet-vm"

// KeyFlowsLeftPrefix starts a Bridge external_ids key, followed by a MAC,
// that an unplug writes when it removed a NIC's ports but could not remove
// its flows: OVSDB records what OpenFlow may still hold, so the next fresh
// plug of that MAC clears the flows without asking ovs-vswitchd otherwise.
const KeyFlowsLeftPrefix = "hostnet-flows-left-"

func flowsLeftKey(mac string) string { return KeyFlowsLeftPrefix + mac }

// portKeys and ifaceKeys are every key hostnet may set, removed before the
// new values are inserted so that a re-plug leaves no stale key behind while
// other tools' keys (ovn-controller's ovn-installed) survive.
var (
	portKeys  = ovsdb.Set{KeyOwner, KeyDomainUUID, KeyDomainName, KeyBridge}
	ifaceKeys = ovsdb.Set{KeyOwner, KeyDomainUUID, KeyDomainName, KeySpec, KeyBridge, KeyIfindex, KeyAttachedMAC, KeyIfaceID, KeyIfaceStatus, KeyVMID}
)

// target is a spec with the bridge it resolves to on this host and the
// ifindex of its tap.
type target struct {
	spec    portspec.PortSpec
	bridge  string
	ifindex int
}

func portExternalIDs(t target) ovsdb.Map {
	return ovsdb.Map{
		KeyOwner:      OwnerVM,
		KeyDomainUUID: t.spec.DomainUUID,
		KeyDomainName: t.spec.DomainName,
		KeyBridge:     t.bridge,
	}
}

func ifaceExternalIDs(t target) ovsdb.Map {
	m := ovsdb.Map{
		KeyOwner:       OwnerVM,
		KeyDomainUUID:  t.spec.DomainUUID,
		KeyDomainName:  t.spec.DomainName,
		KeySpec:        t.spec.Encode(),
		KeyBridge:      t.bridge,
		KeyIfindex:     strconv.Itoa(t.ifindex),
		KeyAttachedMAC: t.spec.MAC,
		KeyIfaceStatus: "active",
		KeyVMID:        t.spec.DomainUUID,
	}
	if t.spec.VPCPort != "" {
		m[KeyIfaceID] = t.spec.VPCPort
	}
	return m
}

// portVLANColumns writes every VLAN column, empty ones as empty sets, so a
// re-plug clears what an earlier plug set.
func portVLANColumns(s portspec.PortSpec) map[string]any {
	v := s.PortVLAN()
	cols := map[string]any{"tag": ovsdb.Set{}, "trunks": ovsdb.Set{}, "vlan_mode": ovsdb.Set{}}
	if v.Tag != 0 {
		cols["tag"] = v.Tag
	}
	if len(v.Trunks) > 0 {
		trunks := make(ovsdb.Set, len(v.Trunks))
		for i, n := range v.Trunks {
			trunks[i] = n
		}
		cols["trunks"] = trunks
	}
	if v.Mode != "" {
		cols["vlan_mode"] = v.Mode
	}
	return cols
}

// insertOps creates the Interface and Port of t; addPortsOps puts the Port
// on its bridge.
func insertOps(t target, n int) []ovsdb.Operation {
	iface, port := uuidName("iface", n), uuidName("port", n)
	portRow := portVLANColumns(t.spec)
	portRow["name"] = t.spec.Tap
	portRow["interfaces"] = ovsdb.NamedUUID(iface)
	portRow["external_ids"] = portExternalIDs(t)
	return []ovsdb.Operation{
		ovsdb.Insert("Interface", iface, map[string]any{
			"name":         t.spec.Tap,
			"type":         "",
			"external_ids": ifaceExternalIDs(t),
		}),
		ovsdb.Insert("Port", port, portRow),
	}
}

// addPortsOps adds new Ports (bridge to named UUIDs) to their bridges, one
// mutation per bridge: each rewrites the bridge's whole set of ports, which
// on a bridge with thousands of ports is the costly part of a commit.
func addPortsOps(ports map[string]ovsdb.Set, st state) []ovsdb.Operation {
	var ops []ovsdb.Operation
	for _, br := range sortedKeys(ports) {
		ops = append(ops, ovsdb.Mutate("Bridge", whereUUID(st.bridges[br]), ovsdb.MutateInsert("ports", ports[br])))
	}
	return ops
}

// updateOps rewrites an existing Port and Interface of t in place, keeping
// the rows (and so the open device and its OpenFlow port number).
func updateOps(t target, obs observed) []ovsdb.Operation {
	return []ovsdb.Operation{
		ovsdb.Update("Port", whereUUID(obs.port), portVLANColumns(t.spec)),
		ovsdb.Mutate("Port", whereUUID(obs.port),
			ovsdb.MutateDelete("external_ids", portKeys),
			ovsdb.MutateInsert("external_ids", portExternalIDs(t))),
		ovsdb.Update("Interface", whereUUID(obs.iface), map[string]any{"type": ""}),
		ovsdb.Mutate("Interface", whereUUID(obs.iface),
			ovsdb.MutateDelete("external_ids", ifaceKeys),
			ovsdb.MutateInsert("external_ids", ifaceExternalIDs(t))),
	}
}

// detachOps removes a Port from whichever bridge holds it; OVSDB then
// garbage-collects the Port and its Interface.
func detachOps(port ovsdb.UUID) []ovsdb.Operation {
	return []ovsdb.Operation{
		ovsdb.Mutate("Bridge", []ovsdb.Condition{ovsdb.Includes("ports", port)}, ovsdb.MutateDelete("ports", ovsdb.Set{port})),
	}
}

// moveOps moves an existing Port to another bridge in one transaction.
func moveOps(port, to ovsdb.UUID) []ovsdb.Operation {
	return append(detachOps(port),
		ovsdb.Mutate("Bridge", whereUUID(to), ovsdb.MutateInsert("ports", ovsdb.Set{port})))
}

func whereUUID(u ovsdb.UUID) []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.Equal("_uuid", u)}
}

func uuidName(kind string, n int) string { return kind + strconv.Itoa(n) }
