package plug

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Swept is what SweepFlows removed from one bridge for one owner.
type Swept struct {
	Bridge string
	Owner  FlowOwner
	Flows  int
}

// SweepFlows removes hostnet flows that belong to no port: flows of a MAC
// on an OpenFlow port that no hostnet port holds with that MAC now. They
// are what an earlier version left when a NIC's MAC changed, or what an
// unplug could not remove and nobody plugged again; left, they would let
// a VM send as an address it no longer has, or cut off whatever port
// reuses the number. Sync and gc run it.
//
// The flows are read before the ports: a flow hostnet installs follows
// its port's commit, so every flow in the dump has its port in the list
// that follows, and a VM start running meanwhile loses nothing.
func (e *Engine) SweepFlows(ctx context.Context) ([]Swept, error) {
	if e.Flows == nil {
		return nil, nil
	}
	before, err := e.List(ctx)
	if err != nil {
		return nil, err
	}
	owners := map[string]map[FlowOwner]int{}
	var errs []error
	for _, br := range e.flowBridges(before) {
		o, err := e.Flows.Owners(ctx, br)
		if err != nil {
			errs = append(errs, fmt.Errorf("read the flows of %s: %w", br, err))
			continue
		}
		owners[br] = o
	}
	ports, err := e.List(ctx)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	var swept []Swept
	for _, br := range sortedKeys(owners) {
		orphans := orphanFlows(br, owners[br], ports)
		if len(orphans) == 0 {
			continue
		}
		retire := make([]FlowOwner, len(orphans))
		for i, o := range orphans {
			retire[i] = o.Owner
		}
		if err := e.Flows.RemoveOwners(ctx, br, retire); err != nil {
			errs = append(errs, fmt.Errorf("remove flows of no port from %s (%s): %w", br, ownerList(retire), err))
			continue
		}
		swept = append(swept, orphans...)
	}
	return swept, errors.Join(errs...)
}

// orphanFlows are the owners of flows on bridge that no port there holds.
// A port whose stored spec does not parse keeps every flow on its OpenFlow
// port: its MAC is not known for sure. Flows on the bridge's LOCAL port
// (OFPort -1) are hostnet's by cookie only and go.
func orphanFlows(bridge string, owners map[FlowOwner]int, ports []Port) []Swept {
	live := map[FlowOwner]bool{}
	unknownMAC := map[int64]bool{}
	for _, p := range ports {
		if p.Bridge != bridge || p.OFPort <= 0 {
			continue
		}
		if p.SpecError != nil {
			unknownMAC[p.OFPort] = true
			continue
		}
		live[FlowOwner{MAC: p.Spec.MAC, OFPort: p.OFPort}] = true
	}
	var out []Swept
	for o, n := range owners {
		// A flow that matches no port (hostnet installs none) could only
		// be deleted by its cookie alone, which would take every flow of
		// that MAC, a live port's too (one whose spec was edited, say):
		// it stays.
		if o.OFPort != 0 && !live[o] && !unknownMAC[o.OFPort] {
			out = append(out, Swept{Bridge: bridge, Owner: o, Flows: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Owner.OFPort != out[j].Owner.OFPort {
			return out[i].Owner.OFPort < out[j].Owner.OFPort
		}
		return out[i].Owner.MAC < out[j].Owner.MAC
	})
	return out
}

// flowBridges are the bridges hostnet may keep flows on: those of
// host.conf's entries and those holding hostnet ports.
func (e *Engine) flowBridges(ports []Port) []string {
	seen := map[string]bool{}
	for _, n := range e.Config.Networks {
		seen[n.Bridge] = true
	}
	for _, p := range ports {
		if p.Bridge != "" {
			seen[p.Bridge] = true
		}
	}
	var out []string
	for br := range seen {
		if e.ownsFlows(br) {
			out = append(out, br)
		}
	}
	sort.Strings(out)
	return out
}
