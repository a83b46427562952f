package plug

import (
	"context"
	"errors"
	"fmt"
	"sort"

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
		ovsdb.Select("Port", ownedCondition(), "_uuid", "name"),
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
	for _, row := range res[1].Rows {
		name, err := row.String("name")
		if err != nil {
			return nil, err
		}
		u, err := row.UUID("_uuid")
		if err != nil {
			return nil, err
		}
		portBridge[name] = bridgeOf[u]
		portRow[name] = u
	}

	var out []Port
	for _, row := range res[0].Rows {
		p, err := decodePort(row)
		if err != nil {
			return nil, err
		}
		p.Bridge, p.row = portBridge[p.Tap], portRow[p.Tap]
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tap < out[j].Tap })
	return out, nil
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
	return p, nil
}

// GC removes the VM ports hostnet owns whose device is gone or is another
// one (a VM that crashed, a host that rebooted), and their flows. Ports
// hostnet does not own are never looked at, and a port re-plugged since the
// listing (a new row) is not touched. It is meant for boot, before libvirtd
// starts VMs: the flows of a NIC are removed by its MAC.
func (e *Engine) GC(ctx context.Context) ([]Removal, error) {
	ports, err := e.List(ctx)
	if err != nil {
		return nil, err
	}
	var removals []Removal
	var ops []ovsdb.Operation
	flowMACs := map[string][]string{}
	for _, p := range ports {
		if !p.DeviceGone && !p.Stale {
			continue
		}
		if p.row == "" {
			// The Interface carries hostnet's marker, its Port does not:
			// half of it is someone else's, so none of it is removed.
			removals = append(removals, Removal{Tap: p.Tap, Bridge: p.Bridge, Reason: "its Port row is not a hostnet VM port"})
			continue
		}
		r := Removal{Tap: p.Tap, Bridge: p.Bridge, Removed: true, Reason: "device gone"}
		if p.Stale {
			r.Reason = "device replaced"
		}
		removals = append(removals, r)
		if p.row != "" {
			ops = append(ops, detachOps(p.row)...)
		}
		if e.ownsFlows(p.Bridge) && p.Spec.MAC != "" {
			flowMACs[p.Bridge] = append(flowMACs[p.Bridge], p.Spec.MAC)
		}
	}
	if len(ops) == 0 {
		return removals, nil
	}
	return removals, e.detach(ctx, ops, flowMACs, "gc")
}
