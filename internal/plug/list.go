package plug

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
	"github.com/hostnet/hostnet/internal/tapdev"
)

// Port is one VM port hostnet owns, as OVSDB and the kernel see it.
type Port struct {
	row        ovsdb.UUID // the Port row, so gc removes exactly what it saw
	Tap        string
	Bridge     string // "" when no bridge holds it
	Spec       portspec.PortSpec
	SpecError  error // the stored spec does not parse (edited by hand)
	OFPort     int64
	Error      string // ovs-vswitchd's error for the interface
	DeviceGone bool   // no device carries the tap's name in this namespace
	// Stale means a device carries the name but is not the one the port
	// was plugged for (a new VM reused the name).
	Stale bool
	// NotATap means ovs-vswitchd reports an error for the port and its
	// device is not Ethernet, as no VM tap is (the loopback, a TUN
	// device): the port can never carry a VM's traffic.
	NotATap bool
	// VLANDrift says how the Port's tag, trunks and vlan_mode differ from
	// what its spec asks for (changed by hand), "" when they do not.
	VLANDrift string
}

// ownedCondition selects the rows hostnet created for VMs.
func ownedCondition() []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.Includes("external_ids", ovsdb.Map{KeyOwner: OwnerVM})}
}

// List returns every VM port hostnet owns, sorted by tap. Unlike the plug
// path it scans tables, so it is for show, gc and sync, not for the hook.
func (e *Engine) List(ctx context.Context) ([]Port, error) {
	res, err := e.DB.Transact(ctx,
		ovsdb.Select("Interface", ownedCondition(), "name", "external_ids", "ofport", "error"),
		ovsdb.Select("Port", ownedCondition(), "_uuid", "name", "tag", "trunks", "vlan_mode"),
		ovsdb.Select("Bridge", nil, "name", "ports"),
	)
	if err != nil {
		return nil, fmt.Errorf("list hostnet ports: %w", err)
	}
	bridgeOf := map[ovsdb.UUID]string{}
	for _, row := range res[2].Rows {
		name, err := row.String("name")
		if err != nil {
			return nil, err
		}
		ports, err := row.UUIDs("ports")
		if err != nil {
			return nil, err
		}
		for _, p := range ports {
			bridgeOf[p] = name
		}
	}
	portBridge := map[string]string{}
	portRow := map[string]ovsdb.UUID{}
	portVLAN := map[string]portspec.PortVLAN{}
	for _, row := range res[1].Rows {
		name, err := row.String("name")
		if err != nil {
			return nil, err
		}
		u, err := row.UUID("_uuid")
		if err != nil {
			return nil, err
		}
		v, err := decodePortVLAN(row)
		if err != nil {
			return nil, fmt.Errorf("port %s: %w", name, err)
		}
		portBridge[name], portRow[name], portVLAN[name] = bridgeOf[u], u, v
	}

	var out []Port
	for _, row := range res[0].Rows {
		p, err := decodePort(row)
		if err != nil {
			return nil, err
		}
		p.Bridge, p.row = portBridge[p.Tap], portRow[p.Tap]
		if have, ok := portVLAN[p.Tap]; ok && p.SpecError == nil {
			p.VLANDrift = vlanDrift(have, p.Spec.PortVLAN())
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tap < out[j].Tap })
	return out, nil
}

// decodePortVLAN reads a Port's tag, trunks and vlan_mode.
func decodePortVLAN(row ovsdb.Row) (portspec.PortVLAN, error) {
	var v portspec.PortVLAN
	tag, _, err := row.Int("tag")
	if err != nil {
		return v, err
	}
	trunks, err := row.Ints("trunks")
	if err != nil {
		return v, err
	}
	if v.Mode, err = row.String("vlan_mode"); err != nil {
		return v, err
	}
	v.Tag = int(tag)
	for _, n := range trunks {
		v.Trunks = append(v.Trunks, int(n))
	}
	return v, nil
}

// vlanDrift describes how have differs from want, "" when it does not.
func vlanDrift(have, want portspec.PortVLAN) string {
	have.Trunks, want.Trunks = slices.Sorted(slices.Values(have.Trunks)), slices.Sorted(slices.Values(want.Trunks))
	var diffs []string
	if have.Tag != want.Tag {
		diffs = append(diffs, fmt.Sprintf("tag %d, want %d", have.Tag, want.Tag))
	}
	if !slices.Equal(have.Trunks, want.Trunks) {
		diffs = append(diffs, fmt.Sprintf("trunks %v, want %v", have.Trunks, want.Trunks))
	}
	if have.Mode != want.Mode {
		diffs = append(diffs, fmt.Sprintf("vlan_mode %q, want %q", have.Mode, want.Mode))
	}
	return strings.Join(diffs, ", ")
}

func decodePort(row ovsdb.Row) (Port, error) {
	var p Port
	var err error
	if p.Tap, err = row.String("name"); err != nil {
		return p, err
	}
	ext, err := row.Map("external_ids")
	if err != nil {
		return p, err
	}
	if p.OFPort, _, err = row.Int("ofport"); err != nil {
		return p, err
	}
	if p.Error, err = row.String("error"); err != nil {
		return p, err
	}
	p.Spec, p.SpecError = portspec.Decode(ext[KeySpec])
	if p.SpecError != nil {
		p.Spec.MAC = ext[KeyAttachedMAC]
	}
	p.Spec.Tap, p.Spec.DomainUUID, p.Spec.DomainName = p.Tap, ext[KeyDomainUUID], ext[KeyDomainName]

	now, err := tapdev.Ifindex(p.Tap)
	switch {
	case errors.Is(err, tapdev.ErrNoDevice):
		p.DeviceGone = true
	case err != nil:
		return p, err
	default:
		p.Stale = deviceChanged(target{spec: p.Spec, ifindex: now}, observed{ifaceExt: ext})
	}
	if !p.DeviceGone && !p.Stale {
		if p.NotATap, err = notATap(p.Tap, p.Error); err != nil {
			return p, err
		}
	}
	return p, nil
}

// notATap reports whether a port that ovs-vswitchd reports an error for
// has a device that is not Ethernet. Only errored ports are looked at: a
// working port is never judged by its device's kind.
func notATap(name, ifaceError string) (bool, error) {
	if ifaceError == "" {
		return false, nil
	}
	eth, err := tapdev.IsEthernet(name)
	if errors.Is(err, tapdev.ErrNoDevice) {
		return false, nil // gone since: gc sweeps it as such next time
	}
	return err == nil && !eth, err
}

// GC removes the VM ports hostnet owns whose device is gone or is another
// one (a VM that crashed, a host that rebooted), or is not a tap at all
// (NotATap: a port that never worked), and their flows. Ports hostnet does
// not own are never looked at, and a port re-plugged since the listing (a
// new row) is not touched. It is meant for boot, before libvirtd starts
// VMs: the flows of a NIC are removed by its MAC, unless a port that stays
// has that MAC on the bridge (two could, before hostnet claimed MACs).
func (e *Engine) GC(ctx context.Context) ([]Removal, error) {
	ports, err := e.List(ctx)
	if err != nil {
		return nil, err
	}
	kept := map[string]map[string]bool{} // bridge -> MACs of ports that stay
	for _, p := range ports {
		if !swept(p) || p.row == "" {
			if kept[p.Bridge] == nil {
				kept[p.Bridge] = map[string]bool{}
			}
			kept[p.Bridge][p.Spec.MAC] = true
		}
	}
	var removals []Removal
	var ops []ovsdb.Operation
	flowMACs := map[string][]string{}
	for _, p := range ports {
		if !swept(p) {
			continue
		}
		if p.row == "" {
			// The Interface carries hostnet's marker, its Port does not:
			// half of it is someone else's, so none of it is removed.
			removals = append(removals, Removal{Tap: p.Tap, Bridge: p.Bridge, Reason: "its Port row is not a hostnet VM port"})
			continue
		}
		r := Removal{Tap: p.Tap, Bridge: p.Bridge, Removed: true, Reason: "device gone"}
		switch {
		case p.Stale:
			r.Reason = "device replaced"
		case p.NotATap:
			r.Reason = "not a tap: ovs-vswitchd cannot use it: " + p.Error
		}
		removals = append(removals, r)
		ops = append(ops, detachOps(p.row)...)
		if e.ownsFlows(p.Bridge) && p.Spec.MAC != "" && !kept[p.Bridge][p.Spec.MAC] {
			flowMACs[p.Bridge] = append(flowMACs[p.Bridge], p.Spec.MAC)
		}
	}
	if len(ops) == 0 {
		return removals, nil
	}
	return removals, e.detach(ctx, ops, flowMACs, "gc")
}

// swept reports whether gc removes p.
func swept(p Port) bool { return p.DeviceGone || p.Stale || p.NotATap }
