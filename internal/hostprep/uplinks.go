package hostprep

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/plug"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// An entry's bridge may already have an uplink: the NIC of the entry as it
// was before the operator changed it (rceth0/rcbr0/IP made rceth1/rcbr0/IP),
// or a NIC added by hand. hostprep never adds its NIC next to it: two
// uplinks on one standalone bridge loop the network as soon as both reach
// the same switch, and taking the old one off is no job for a boot step
// (on the host's bridge it cuts the host off; on a wire bridge it cuts the
// wire's VMs off if the new NIC is cabled elsewhere).

// BridgePort is a port of an entry's bridge, as the uplink check sees it.
type BridgePort struct {
	Name   string
	Ifaces []BridgeIface
}

// BridgeIface is one interface of a BridgePort.
type BridgeIface struct {
	Name        string
	Type        string // "" or "system": a kernel device; else internal, patch, a tunnel, ...
	AttachedMAC string // external_ids:attached-mac: set on a VM's NIC (by hostnet, libvirt, OpenStack)
}

// observePorts reads, in one read-only round trip, the ports of the
// entries' Open vSwitch bridges that exist (hostnet's VM ports left out by
// the query: a bridge may hold thousands) and, from every interface, the
// VM NICs hostnet plugged through a wire.
func observePorts(ctx context.Context, c *config.Config, db *vswitch.DB, snap *vswitch.Snapshot) (map[string][]BridgePort, []WireUser, error) {
	var bridges []string
	for _, e := range c.Networks {
		if snap.Bridges[e.Bridge] != nil {
			bridges = append(bridges, e.Bridge)
		}
	}
	notVM := []ovsdb.Condition{{"external_ids", "excludes", ovsdb.Map{plug.KeyOwner: plug.OwnerVM}}}
	var ops []ovsdb.Operation
	for _, b := range bridges {
		ops = append(ops, ovsdb.Select("Bridge", []ovsdb.Condition{ovsdb.Equal("name", b)}, "ports"))
	}
	ops = append(ops,
		ovsdb.Select("Port", notVM, "_uuid", "name", "interfaces"),
		ovsdb.Select("Interface", nil, "_uuid", "name", "type", "external_ids"))
	cctx, cancel := context.WithTimeout(ctx, c.OVSTimeout)
	defer cancel()
	res, err := db.Transact(cctx, ops...)
	if err != nil {
		return nil, nil, fmt.Errorf("read the ports of the Open vSwitch bridges %v: %w", bridges, err)
	}
	ifaces := map[ovsdb.UUID]BridgeIface{}
	var users []WireUser
	for _, row := range res[len(bridges)+1].Rows {
		u, err := row.UUID("_uuid")
		if err != nil {
			return nil, nil, err
		}
		var i BridgeIface
		if i.Name, err = row.String("name"); err != nil {
			return nil, nil, err
		}
		if i.Type, err = row.String("type"); err != nil {
			return nil, nil, err
		}
		ext, err := row.Map("external_ids")
		if err != nil {
			return nil, nil, err
		}
		if ext[plug.KeyOwner] == plug.OwnerVM {
			if w, ok := wireUser(i.Name, ext); ok {
				users = append(users, w)
			}
			continue
		}
		i.AttachedMAC = ext[plug.KeyAttachedMAC]
		ifaces[u] = i
	}
	ports := map[ovsdb.UUID]BridgePort{}
	for _, row := range res[len(bridges)].Rows {
		u, err := row.UUID("_uuid")
		if err != nil {
			return nil, nil, err
		}
		var p BridgePort
		if p.Name, err = row.String("name"); err != nil {
			return nil, nil, err
		}
		ius, err := row.UUIDs("interfaces")
		if err != nil {
			return nil, nil, err
		}
		for _, iu := range ius {
			if i, ok := ifaces[iu]; ok { // a VM's interface otherwise
				p.Ifaces = append(p.Ifaces, i)
			}
		}
		ports[u] = p
	}
	out := map[string][]BridgePort{}
	for k, b := range bridges {
		for _, row := range res[k].Rows {
			pus, err := row.UUIDs("ports")
			if err != nil {
				return nil, nil, fmt.Errorf("bridge %s: %w", b, err)
			}
			for _, pu := range pus {
				if p, ok := ports[pu]; ok {
					out[b] = append(out[b], p)
				}
			}
		}
	}
	return out, users, nil
}

// otherUplinks are the ports of the entry's bridge, other than its NIC,
// that join the bridge to a network: a kernel device that exists, is not a
// tap (a VM's or a program's end, not a cable) and is not a VM's NIC.
// Internal, patch and tunnel ports are not uplinks, nor is the port of a
// NIC that is gone (renamed or removed): it carries nothing.
func otherUplinks(c *config.Config, obs *Observed, e config.Entry) []string {
	var out []string
	isUplink := func(dev string) bool {
		l := obs.Net.Link(dev)
		return dev != e.NIC && dev != e.Bridge && l != nil && l.Kind != "tuntap"
	}
	if c.BridgeDriver == config.DriverLinuxBridge {
		for _, name := range slices.Sorted(maps.Keys(obs.Net.Links)) {
			if obs.Net.Links[name].Master == e.Bridge && isUplink(name) {
				out = append(out, name)
			}
		}
		return out
	}
	for _, p := range obs.BridgePorts[e.Bridge] {
		if p.Name == e.NIC || p.Name == e.Bridge {
			continue
		}
		for _, i := range p.Ifaces {
			if (i.Type == "" || i.Type == "system") && i.AttachedMAC == "" && isUplink(i.Name) {
				out = append(out, p.Name)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
