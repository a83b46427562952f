package hostprep

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// WireUser is a VM NIC hostnet plugged through a wire, as its port
// records it.
type WireUser struct {
	Tap    string
	Wire   string
	Bridge string // the bridge it was plugged into
}

// The external_ids of a VM's interface that hold its whole spec and its
// bridge (internal/plug writes them, DESIGN.md section 4).
const (
	vmSpecKey   = "hostnet-spec"
	vmBridgeKey = "hostnet-bridge"
)

// observeWireUsers reads the VM NICs hostnet plugged through a wire, in
// one read-only round trip: a wire that leaves host.conf while they run
// leaves them without a way back (a restart or re-plug of the VM names
// the wire).
func observeWireUsers(ctx context.Context, c *config.Config, db *vswitch.DB) ([]WireUser, error) {
	cctx, cancel := context.WithTimeout(ctx, c.OVSTimeout)
	defer cancel()
	res, err := db.Transact(cctx, ovsdb.Select("Interface",
		[]ovsdb.Condition{ovsdb.Includes("external_ids", ovsdb.Map{vmOwnerKey: vmOwner})}, "name", "external_ids"))
	if err != nil {
		return nil, fmt.Errorf("read hostnet's VM interfaces: %w", err)
	}
	var out []WireUser
	for _, row := range res[0].Rows {
		name, err := row.String("name")
		if err != nil {
			return nil, err
		}
		ext, err := row.Map("external_ids")
		if err != nil {
			return nil, err
		}
		// A spec that does not parse is hostnet-plug show's to report.
		if s, err := portspec.Decode(ext[vmSpecKey]); err == nil && s.Wire != "" {
			out = append(out, WireUser{Tap: name, Wire: s.Wire, Bridge: ext[vmBridgeKey]})
		}
	}
	return out, nil
}

// lostWireWarnings name the wires that running VM NICs use and host.conf
// no longer has (renamed, removed). The host is fine; those VMs cannot be
// started again or re-plugged here, and sync keeps only their source checks.
func lostWireWarnings(c *config.Config, obs *Observed) []string {
	lost, moved := map[string][]string{}, map[string][]string{}
	for _, u := range obs.WireUsers {
		if obs.Net.Link(u.Tap) == nil {
			continue // a dead port: gc's
		}
		switch br, ok := c.BridgeForWire(u.Wire); {
		case !ok:
			lost[u.Wire] = append(lost[u.Wire], u.Tap)
		case u.Bridge != "" && br != u.Bridge:
			moved[u.Wire] = append(moved[u.Wire], u.Tap)
		}
	}
	var out []string
	for _, wire := range slices.Sorted(maps.Keys(lost)) {
		out = append(out, fmt.Sprintf("wire %s is not in %s, but running VM NICs use it (%s; see hostnet-plug show): they cannot be started again or re-plugged on this host; "+
			"put the wire back in its entry, or move those VMs first", wire, c.Path, tapList(lost[wire])))
	}
	for _, wire := range slices.Sorted(maps.Keys(moved)) {
		br, _ := c.BridgeForWire(wire)
		out = append(out, fmt.Sprintf("wire %s is on bridge %s in %s, but running VM NICs were plugged through it on another bridge (%s; see hostnet-plug show): "+
			"the next hostnet-plug sync (each Open vSwitch restart runs one) moves them to %s's network; put the wire back on its bridge, or move those VMs first",
			wire, br, c.Path, tapList(moved[wire]), br))
	}
	return out
}

func tapList(taps []string) string {
	taps = slices.Clone(taps)
	slices.Sort(taps)
	return strings.Join(taps, ", ")
}
