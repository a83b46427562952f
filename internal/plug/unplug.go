package plug

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
)

// Removal is what an unplug did with one tap name.
type Removal struct {
	Tap     string
	Bridge  string
	Removed bool
	// Reason says why a tap was left alone: no port, not hostnet's, or
	// another domain's.
	Reason string
}

// Unplug removes the ports of the given NICs that hostnet owns and that
// belong to domainUUID (any domain when it is empty), with their flows, in
// one transaction. A tap name now used by another domain, or by a port
// hostnet does not own, is left alone and reported. With a domain, every
// other port hostnet plugged for it goes too: libvirt's release hook gets
// an XML without tap names, and a stop must leave nothing behind.
func (e *Engine) Unplug(ctx context.Context, domainUUID string, taps []string) ([]Removal, error) {
	if domainUUID != "" {
		more, err := e.portsOfDomain(ctx, domainUUID)
		if err != nil {
			return nil, err
		}
		taps = union(taps, more)
	}
	specs := make([]portspec.PortSpec, len(taps))
	for i, tap := range taps {
		specs[i] = portspec.PortSpec{Tap: tap}
	}
	return e.unplug(ctx, specs, domainUUID)
}

// portsOfDomain names the ports hostnet plugged for a domain.
func (e *Engine) portsOfDomain(ctx context.Context, domainUUID string) ([]string, error) {
	res, err := e.DB.Transact(ctx, ovsdb.Select("Port",
		[]ovsdb.Condition{ovsdb.Includes("external_ids", ovsdb.Map{KeyOwner: OwnerVM, KeyDomainUUID: domainUUID})}, "name"))
	if err != nil {
		return nil, fmt.Errorf("find ports of domain %s: %w", domainUUID, err)
	}
	var names []string
	for _, row := range res[0].Rows {
		name, err := row.String("name")
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string{}, a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (e *Engine) unplug(ctx context.Context, specs []portspec.PortSpec, domainUUID string) ([]Removal, error) {
	var taps []string
	for _, s := range specs {
		if s.Tap != "" {
			taps = append(taps, s.Tap)
		}
	}
	st, err := observe(ctx, e.DB, taps, nil, nil)
	if err != nil {
		return nil, err
	}
	removals := make([]Removal, 0, len(taps))
	var ops []ovsdb.Operation
	flowMACs := map[string][]string{}
	for _, tap := range taps {
		obs := st.taps[tap]
		r := Removal{Tap: tap, Bridge: obs.bridge}
		switch {
		case !obs.exists():
			r.Reason = "no port"
		case !obs.owned():
			r.Reason = "not a hostnet VM port"
		case domainUUID != "" && obs.portExt[KeyDomainUUID] != domainUUID:
			r.Reason = fmt.Sprintf("port now belongs to domain %s", obs.portExt[KeyDomainName])
		default:
			r.Removed = true
			ops = append(ops, detachOps(obs.port)...)
			if mac := obs.ifaceExt[KeyAttachedMAC]; mac != "" && e.ownsFlows(obs.bridge) {
				flowMACs[obs.bridge] = append(flowMACs[obs.bridge], mac)
			}
		}
		removals = append(removals, r)
	}
	if len(ops) == 0 {
		return removals, nil
	}
	return removals, e.detach(ctx, ops, flowMACs, "unplug "+strings.Join(taps, ", "))
}

// detach removes the flows of flowMACs (bridge to MACs), then runs the
// detach ops and waits until ovs-vswitchd has applied them.
func (e *Engine) detach(ctx context.Context, ops []ovsdb.Operation, flowMACs map[string][]string, what string) error {
	// Flows first: a drop flow left on an OpenFlow port number that a new
	// port reuses would cut that port off. Flows that cannot be removed are
	// recorded on their bridge, in the same transaction that removes the
	// ports, so the next plug of the MAC clears them (clearFlows).
	var flowErrs []error
	if e.Flows != nil {
		flowCtx, cancel := flowShare(ctx)
		defer cancel()
		for _, br := range sortedKeys(flowMACs) {
			if err := e.Flows.Remove(flowCtx, br, flowMACs[br]); err != nil {
				flowErrs = append(flowErrs, fmt.Errorf("remove flows of %s from %s: %w", strings.Join(flowMACs[br], ", "), br, err))
				left := ovsdb.Map{}
				for _, mac := range flowMACs[br] {
					left[flowsLeftKey(mac)] = what
				}
				ops = append(ops, ovsdb.Mutate("Bridge", []ovsdb.Condition{ovsdb.Equal("name", br)}, ovsdb.MutateInsert("external_ids", left)))
			}
		}
	}
	// Wait for ovs-vswitchd: a port of the same name plugged before it has
	// dropped this one would inherit the dead device. TransactApplied
	// commits first, so with ovs-vswitchd hung the rows (and the record)
	// are gone from OVSDB and only the wait fails (ErrNotApplied).
	ops = append([]ovsdb.Operation{ovsdb.Comment("hostnet: " + what)}, ops...)
	if _, err := e.DB.TransactApplied(ctx, ops...); err != nil {
		return errors.Join(append(flowErrs, fmt.Errorf("%s: %w", what, err))...)
	}
	return errors.Join(flowErrs...)
}

// flowShare bounds the OpenFlow part of a detach to half of what is left
// of ctx's deadline. ovs-ofctl waits for ovs-vswitchd, and a hung one
// (stopped, overloaded) would take the whole deadline: the OVSDB
// transaction that removes the ports and records the flows left behind
// needs only ovsdb-server, and must still run.
func flowShare(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(deadline)/2)
}
