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
}

// Sync re-plugs every live NIC in place and reinstalls its flows: after
// ovs-vswitchd restarts (flows are gone), or when someone changed or
// deleted a port by hand. The NICs come from OVSDB (each port stores its
// whole spec) and from running, the NICs of the running domains read from
// libvirt's status files, which win for the same tap and bring back ports
// deleted from OVSDB. It never calls libvirt. One domain's failure does not
// stop the others.
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

	// One transaction per domain: a broken domain cannot block the rest.
	groups := map[string][]portspec.PortSpec{}
	var domains []string
	for _, tap := range order {
		s := byTap[tap]
		if _, ok := groups[s.DomainUUID]; !ok {
			domains = append(domains, s.DomainUUID)
		}
		groups[s.DomainUUID] = append(groups[s.DomainUUID], s)
	}
	var errs []error
	for _, d := range domains {
		outcomes, err := e.Plug(ctx, groups[d], Repair)
		if err != nil {
			errs = append(errs, fmt.Errorf("sync domain %s: %w", domainLabel(groups[d][0]), err))
			continue
		}
		report.Plugged = append(report.Plugged, outcomes...)
	}
	return report, errors.Join(errs...)
}

func domainLabel(s portspec.PortSpec) string {
	switch {
	case s.DomainName != "":
		return s.DomainName
	case s.DomainUUID != "":
		return s.DomainUUID
	}
	return "(none: plugged by hostnet-plug add)"
}
