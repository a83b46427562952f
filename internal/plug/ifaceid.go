package plug

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hostnet/hostnet/internal/ovsdb"
)

// ErrIfaceIDInUse means another interface on this host carries the
// iface-id a VPC NIC needs. ovn-controller binds a logical port to one
// interface per chassis; with two, the binding goes to either and may flap
// between them, so a host carries each iface-id once.
var ErrIfaceIDInUse = errors.New("iface-id already in use on this host")

// holder is an interface whose external_ids:iface-id is a VPC NIC's
// vpc-port: the NIC's own tap, or another interface of the host.
type holder struct {
	obs  observed // its rows, as for a tap name
	name string
	// dead: the device it was plugged for is gone, or the name now belongs
	// to another device (hostnet ports only: a port of another tool is
	// never judged).
	dead bool
}

// describe names a holder in messages: name, bridge and domain.
func (h holder) describe() string {
	var parts []string
	if h.obs.bridge != "" {
		parts = append(parts, "bridge "+h.obs.bridge)
	}
	if d := h.obs.portExt[KeyDomainName]; d != "" && h.obs.owned() {
		parts = append(parts, "domain "+d)
	}
	if len(parts) == 0 {
		return h.name
	}
	return h.name + " (" + strings.Join(parts, ", ") + ")"
}

// planIfaceIDs decides what a plug of targets does about the other
// interfaces carrying their iface-ids (holders, by iface-id):
//   - a dead hostnet port is evicted: removed in the plug's own
//     transaction, so OVN sees the binding move from one interface to the
//     other and never two at once (a VM restarted on a new tap name before
//     gc swept the old port);
//   - a live hostnet port, or any port of another tool, refuses the plug:
//     hostnet never takes a working binding away from a running VM, and
//     never touches what it does not own;
//   - two NICs of one plug with the same vpc-port are refused.
//
// It returns the holders to evict, by target index. It is pure.
func planIfaceIDs(targets []target, holders map[string][]holder) (map[int][]holder, error) {
	evict := map[int][]holder{}
	var errs []error
	first := map[string]int{}
	ours := tapsOf(targets)
	for i, t := range targets {
		id := t.spec.VPCPort
		if id == "" {
			continue
		}
		if j, dup := first[id]; dup {
			errs = append(errs, fmt.Errorf("%s: vpc-port %s is also the vpc-port of %s; %w: give each NIC its own logical port",
				t.spec.Label(), id, targets[j].spec.Label(), ErrIfaceIDInUse))
			continue
		}
		first[id] = i
		for _, h := range holders[id] {
			switch {
			case ours[h.name]:
				// Rows of a tap of this plug: it rewrites or replaces them.
			case h.obs.owned() && h.dead:
				evict[i] = append(evict[i], h)
			case h.obs.owned():
				errs = append(errs, fmt.Errorf("%s: vpc-port %s: %w: OVS interface %s carries it and its VM runs; "+
					"OVN binds a logical port to one interface per host: stop that VM or unplug it (hostnet-plug del --tap %s) first, or give this NIC another vpc-port",
					t.spec.Label(), id, ErrIfaceIDInUse, h.describe(), h.name))
			default:
				errs = append(errs, fmt.Errorf("%s: vpc-port %s: %w: OVS interface %s carries it and is not a hostnet port, so hostnet leaves it alone; "+
					"remove it or its iface-id (ovs-vsctl remove Interface %s external_ids iface-id), or give this NIC another vpc-port",
					t.spec.Label(), id, ErrIfaceIDInUse, h.describe(), h.name))
			}
		}
	}
	return evict, errors.Join(errs...)
}

// ifaceIDsOf lists the distinct vpc-ports of targets, sorted.
func ifaceIDsOf(targets []target) []string {
	seen := map[string]bool{}
	var ids []string
	for _, t := range targets {
		if id := t.spec.VPCPort; id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// holderCondition selects the interfaces carrying iface-id id.
func holderCondition(id string) []ovsdb.Condition {
	return []ovsdb.Condition{ovsdb.Includes("external_ids", ovsdb.Map{KeyIfaceID: id})}
}

// waitHolders makes the plug's transaction fail, changing nothing, unless
// the interfaces carrying iface-id id under names other than the plug's
// taps (ours) are still exactly those observed: another plug may have
// taken the iface-id since they were read.
func waitHolders(id string, ours map[string]bool, observed []holder) ovsdb.Operation {
	rows := []map[string]any{}
	for _, h := range observed {
		if !ours[h.name] {
			rows = append(rows, map[string]any{"name": h.name})
		}
	}
	where := holderCondition(id)
	for _, tap := range sortedKeys(ours) {
		where = append(where, ovsdb.NotEqual("name", tap))
	}
	return ovsdb.WaitUntilEqual("Interface", where, []string{"name"}, rows)
}

// tapsOf is the set of the targets' tap names.
func tapsOf(targets []target) map[string]bool {
	taps := map[string]bool{}
	for _, t := range targets {
		if t.spec.Tap != "" {
			taps[t.spec.Tap] = true
		}
	}
	return taps
}

// isHolderRace reports whether a plug failed on a waitHolders precondition.
func isHolderRace(err error) bool {
	var opErr *ovsdb.OpError
	return errors.As(err, &opErr) && opErr.Op == "wait" && opErr.Table == "Interface"
}

// evictedNames lists the names of holders, for outcomes and logs.
func evictedNames(hs []holder) []string {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.name
	}
	return names
}
