package plug

import (
	"context"
	"errors"

	"github.com/hostnet/hostnet/internal/ovsdb"
)

// plugNew is the common VM start: no row yet under any of the taps' names,
// and no other port with a NIC's MAC on its bridge. It commits without
// reading the Port and Interface tables first, because a lookup scans them
// (2 ms on a bridge with 2,000 ports, for every NIC), and lets the
// transaction check instead: an insert under a taken name fails on the
// unique name indexes, and a wait per MAC claim fails if any interface
// holds it; either way nothing is changed. done is false when the careful
// path must run: rows exist under a tap's name (stale, or not hostnet's,
// which it tells apart), a port holds a NIC's MAC (dead, evicted, or live,
// refused), or a bridge is missing (which it reports with every other
// problem).
func (e *Engine) plugNew(ctx context.Context, targets []target, claims []claim) (outcomes []Outcome, done bool, err error) {
	st, err := observe(ctx, e.DB, nil, bridgesOf(targets), nil)
	if err != nil {
		return nil, true, err
	}
	if checkTargets(targets, st) != nil {
		return nil, false, nil
	}
	outcomes = make([]Outcome, len(targets))
	ops := claimOps(plugComment(Fresh, targets), claims, tapsOf(targets), nil)
	newPorts := map[string]ovsdb.Set{}
	for i, t := range targets {
		outcomes[i] = Outcome{Spec: t.spec, Bridge: t.bridge, Action: Created}
		ops = append(ops, insertOps(t, i)...)
		newPorts[t.bridge] = append(newPorts[t.bridge], ovsdb.NamedUUID(uuidName("port", i)))
	}
	ops = append(ops, addPortsOps(newPorts, st)...)
	ops = append(ops, forgetFlowsLeft(targets, st)...)
	if err := e.clearFlows(ctx, targets, st, outcomes, nil); err != nil {
		return nil, true, err
	}
	outcomes, err = e.commit(ctx, targets, ops, outcomes, Fresh, claims, nil)
	if errors.Is(err, errNameTaken) || errors.Is(err, errClaimRace) {
		return nil, false, nil
	}
	return outcomes, true, err
}
