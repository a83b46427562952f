package hostprep

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/plug"
	"github.com/hostnet/hostnet/internal/portspec"
)

// WireUser is a VM NIC hostnet plugged through a wire, as its port
// records it.
type WireUser struct {
	Tap    string
	Wire   string
	Bridge string // the bridge it was plugged into
}

// wireUser reads a hostnet VM interface's stored spec: a NIC plugged
// through a wire, whose wire must stay in host.conf while it runs (a
// restart or re-plug of the VM names the wire). A spec that does not
// parse is hostnet-plug show's to report.
func wireUser(name string, ext map[string]string) (WireUser, bool) {
	s, err := portspec.Decode(ext[plug.KeySpec])
	if err != nil || s.Wire == "" {
		return WireUser{}, false
	}
	return WireUser{Tap: name, Wire: s.Wire, Bridge: ext[plug.KeyBridge]}, true
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
