package plug

import (
	"context"
	"errors"
	"fmt"

	"github.com/hostnet/hostnet/internal/portspec"
	"github.com/hostnet/hostnet/internal/tapdev"
)

// SyncReport is what a sync did.
type SyncReport struct {
	Plugged []Outcome
	Skipped []Removal // ports left for gc: device gone or replaced, or a spec that does not parse
	Swept   []Swept   // flows of no port, removed
	// Kept are live ports whose re-plug failed (their wire or bridge left
	// host.conf, say) and whose flows were reinstalled as OVSDB records
	// them, on the bridge they are on: source checks fail closed.
	Kept []Outcome
}

// Sync re-plugs every live NIC in place and reinstalls its flows: after
// ovs-vswitchd restarts (flows are gone), or when someone changed or
// deleted a port by hand. The NICs come from OVSDB (each port stores its
// whole spec) and from running, the NICs of the running domains read from
// libvirt's status files, which win for the same tap and bring back ports
// deleted from OVSDB, then removes the flows no port owns (SweepFlows). It
// never calls libvirt. One domain's failure does not stop the others.
func (e *Engine) Sync(ctx context.Context, running []portspec.PortSpec) (SyncReport, error) {
	var report SyncReport
	ports, err := e.List(ctx)
	if err != nil {
		return report, err
	}
	byTap := map[string]portspec.PortSpec{}
	var order []string
	add := func(s portspec.PortSpec) {
		if _, seen := byTap[s.Tap]; !seen {
			order = append(order, s.Tap)
		}
		byTap[s.Tap] = s
	}
	for _, p := range ports {
		switch {
		case p.DeviceGone:
			report.Skipped = append(report.Skipped, Removal{Tap: p.Tap, Bridge: p.Bridge, Reason: "device gone (gc removes it)"})
		case p.Stale:
			report.Skipped = append(report.Skipped, Removal{Tap: p.Tap, Bridge: p.Bridge, Reason: "device replaced (gc removes it)"})
		case p.NotATap:
			report.Skipped = append(report.Skipped, Removal{Tap: p.Tap, Bridge: p.Bridge, Reason: "not a tap: ovs-vswitchd cannot use it (gc removes it): " + p.Error})
		case p.SpecError != nil:
			report.Skipped = append(report.Skipped, Removal{Tap: p.Tap, Bridge: p.Bridge, Reason: p.SpecError.Error()})
		default:
			add(p.Spec)
		}
	}
	for _, s := range running {
		if s.Tap == "" {
			continue
		}
		if _, err := tapdev.Ifindex(s.Tap); err != nil {
			continue // not running here after all
		}
		add(s)
	}

	var errs []error
	var failed []string
	for _, g := range syncGroups(order, byTap) {
		outcomes, err := e.Plug(ctx, g, Repair)
		if err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", groupLabel(g[0]), err))
			for _, s := range g {
				failed = append(failed, s.Tap)
			}
			continue
		}
		report.Plugged = append(report.Plugged, outcomes...)
	}
	kept, err := e.keepFlows(ctx, ports, failed)
	report.Kept = kept
	errs = append(errs, err)
	swept, err := e.SweepFlows(ctx)
	report.Swept = swept
	return report, errors.Join(append(errs, err)...)
}

// syncGroups splits the NICs (taps in order) into the plugs sync runs, one
// transaction each, so a broken one cannot block the rest: a domain's NICs
// together, and each NIC without a domain (hostnet-plug add without
// --vm-uuid) alone: nothing ties those to one another.
func syncGroups(order []string, byTap map[string]portspec.PortSpec) [][]portspec.PortSpec {
	index := map[string]int{}
	var groups [][]portspec.PortSpec
	for _, tap := range order {
		s := byTap[tap]
		key := "domain " + s.DomainUUID
		if s.DomainUUID == "" {
			key = "tap " + tap
		}
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], s)
	}
	return groups
}

// groupLabel names a sync group in messages.
func groupLabel(s portspec.PortSpec) string {
	if s.DomainUUID == "" {
		return "tap " + s.Tap + " (no domain: plugged by hostnet-plug add)"
	}
	return "domain " + domainLabel(s)
}

func domainLabel(s portspec.PortSpec) string {
	if s.DomainName != "" {
		return s.DomainName
	}
	return s.DomainUUID
}

// keepFlows reinstalls the flows of the live ports among taps (whose
// re-plug failed) as OVSDB records them, on the bridge each is on: after
// ovs-vswitchd restarted, a port sync cannot re-plug would otherwise run
// with no source check at all.
func (e *Engine) keepFlows(ctx context.Context, ports []Port, taps []string) ([]Outcome, error) {
	if e.Flows == nil || len(taps) == 0 {
		return nil, nil
	}
	byTap := map[string]Port{}
	for _, p := range ports {
		byTap[p.Tap] = p
	}
	byBridge := map[string][]FlowNIC{}
	for _, tap := range taps {
		p, ok := byTap[tap]
		if !ok || p.DeviceGone || p.Stale || p.NotATap || p.SpecError != nil || p.OFPort <= 0 || !e.ownsFlows(p.Bridge) {
			continue
		}
		byBridge[p.Bridge] = append(byBridge[p.Bridge], FlowNIC{Spec: p.Spec, OFPort: p.OFPort})
	}
	var kept []Outcome
	var errs []error
	for _, br := range sortedKeys(byBridge) {
		if err := e.Flows.Replace(ctx, br, byBridge[br], nil); err != nil {
			errs = append(errs, fmt.Errorf("keep the source checks of ports sync could not re-plug on %s: %w", br, err))
			continue
		}
		for _, n := range byBridge[br] {
			kept = append(kept, Outcome{Spec: n.Spec, Bridge: br, Action: Updated, OFPort: n.OFPort})
		}
	}
	return kept, errors.Join(errs...)
}
