package plug

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hostnet/hostnet/internal/ovsdb"
)

var (
	// ErrIfaceIDInUse means another interface on this host carries the
	// iface-id a VPC NIC needs. ovn-controller binds a logical port to one
	// interface per chassis; with two, the binding goes to either and may
	// flap between them, so a host carries each iface-id once.
	ErrIfaceIDInUse = errors.New("iface-id already in use on this host")
	// ErrMACInUse means another hostnet port on the NIC's bridge has its
	// MAC. Source-check flows are found by a cookie made of the MAC
	// (DESIGN.md section 4): two ports of one MAC on a bridge would replace
	// and remove each other's flows, so a bridge carries each MAC once.
	ErrMACInUse = errors.New("MAC already plugged on this bridge")
)

// errClaimRace means a plug's transaction failed on a claim's wait: the
// interfaces holding it changed since they were read (or, on the fast
// path, one exists). Nothing was changed.
var errClaimRace = errors.New("holders changed")

type claimKind int

const (
	claimIfaceID claimKind = iota // host-wide: any interface's external_ids:iface-id
	claimMAC                      // per bridge: hostnet's interfaces with that attached-mac and hostnet-bridge
)

// claim is what a NIC must hold alone: its vpc-port's iface-id on the
// host, its MAC on its bridge (not on the OVN integration bridge, where
// hostnet installs no flows and OVN checks addresses).
type claim struct {
	kind   claimKind
	value  string // the iface-id or the MAC
	bridge string // claimMAC only
}

// key identifies a claim in state.holders.
func (c claim) key() string {
	if c.kind == claimMAC {
		return "mac " + c.value + " on " + c.bridge
	}
	return "iface-id " + c.value
}

// condition selects the interfaces holding the claim.
func (c claim) condition() []ovsdb.Condition {
	if c.kind == claimMAC {
		return []ovsdb.Condition{ovsdb.Includes("external_ids", ovsdb.Map{KeyOwner: OwnerVM, KeyAttachedMAC: c.value, KeyBridge: c.bridge})}
	}
	return []ovsdb.Condition{ovsdb.Includes("external_ids", ovsdb.Map{KeyIfaceID: c.value})}
}

// sentinel is the error a refused claim wraps.
func (c claim) sentinel() error {
	if c.kind == claimMAC {
		return ErrMACInUse
	}
	return ErrIfaceIDInUse
}

// subject names the claim at the start of a refusal.
func (c claim) subject() string {
	if c.kind == claimMAC {
		return "MAC " + c.value + " on bridge " + c.bridge
	}
	return "vpc-port " + c.value
}

// claimsOf lists what target t claims; integration is the OVN
// integration bridge.
func claimsOf(t target, integration string) []claim {
	var cs []claim
	if t.spec.VPCPort != "" {
		cs = append(cs, claim{kind: claimIfaceID, value: t.spec.VPCPort})
	}
	if t.spec.MAC != "" && t.bridge != "" && t.bridge != integration {
		cs = append(cs, claim{kind: claimMAC, value: t.spec.MAC, bridge: t.bridge})
	}
	return cs
}

// allClaims lists the distinct claims of targets, sorted by key.
func allClaims(targets []target, integration string) []claim {
	seen := map[string]bool{}
	var out []claim
	for _, t := range targets {
		for _, c := range claimsOf(t, integration) {
			if !seen[c.key()] {
				seen[c.key()] = true
				out = append(out, c)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key() < out[j].key() })
	return out
}

// holder is an interface that holds a claim of a NIC: the NIC's own tap,
// or another interface of the host.
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

// Eviction is a dead hostnet port a plug removed because it held one of
// the NIC's claims.
type Eviction struct {
	Tap   string
	Claim string // what it held: "iface-id lsp-1", "mac 52:54:00:00:00:01 on br0"
}

// evictee is a holder planClaims evicts, with the claim it held.
type evictee struct {
	holder
	claim claim
}

// planClaims decides what a plug of targets does about the other
// interfaces holding their claims (holders, by claim key):
//   - a dead hostnet port is evicted: removed in the plug's own
//     transaction, so OVN sees the binding move from one interface to the
//     other and never two at once (a VM restarted on a new tap name before
//     gc swept the old port), and the MAC's flows have one port again;
//   - a live hostnet port, or any port of another tool, refuses the plug:
//     hostnet never takes a working binding or working source checks away
//     from a running VM, and never touches what it does not own;
//   - two NICs of one plug with the same claim are refused.
//
// It returns the holders to evict by target index, each port once. It is
// pure.
func planClaims(targets []target, integration string, holders map[string][]holder) (map[int][]evictee, error) {
	evict := map[int][]evictee{}
	var errs []error
	first := map[string]int{}
	evicted := map[ovsdb.UUID]bool{}
	ours := tapsOf(targets)
	for i, t := range targets {
		for _, c := range claimsOf(t, integration) {
			if j, dup := first[c.key()]; dup {
				errs = append(errs, dupClaimError(t, targets[j], c))
				continue
			}
			first[c.key()] = i
			for _, h := range holders[c.key()] {
				switch {
				case ours[h.name]:
					// Rows of a tap of this plug: it rewrites or replaces them.
				case h.obs.owned() && h.dead:
					if !evicted[h.obs.port] {
						evicted[h.obs.port] = true
						evict[i] = append(evict[i], evictee{holder: h, claim: c})
					}
				default:
					errs = append(errs, heldError(t, c, h))
				}
			}
		}
	}
	return evict, errors.Join(errs...)
}

func dupClaimError(t, other target, c claim) error {
	if c.kind == claimMAC {
		return fmt.Errorf("%s: MAC %s on bridge %s is also the MAC of %s; %w: give each NIC its own MAC",
			t.spec.Label(), c.value, c.bridge, other.spec.Label(), ErrMACInUse)
	}
	return fmt.Errorf("%s: vpc-port %s is also the vpc-port of %s; %w: give each NIC its own logical port",
		t.spec.Label(), c.value, other.spec.Label(), ErrIfaceIDInUse)
}

// heldError refuses a claim that a live hostnet port or another tool's
// port holds, in one line with the fix.
func heldError(t target, c claim, h holder) error {
	live := h.obs.owned()
	switch {
	case c.kind == claimMAC && live:
		return fmt.Errorf("%s: %s: %w: OVS interface %s has it and its VM runs; source checks are per MAC and bridge, so the two would share one set of flows: "+
			"give this NIC its own MAC, or stop that VM or unplug it (hostnet-plug del --tap %s) first",
			t.spec.Label(), c.subject(), ErrMACInUse, h.describe(), h.name)
	case c.kind == claimMAC:
		return fmt.Errorf("%s: %s: %w: OVS interface %s is marked with it but is not a hostnet port, so hostnet leaves it alone; "+
			"remove it (ovs-vsctl del-port %s), or give this NIC its own MAC",
			t.spec.Label(), c.subject(), ErrMACInUse, h.describe(), h.name)
	case live:
		return fmt.Errorf("%s: %s: %w: OVS interface %s carries it and its VM runs; "+
			"OVN binds a logical port to one interface per host: stop that VM or unplug it (hostnet-plug del --tap %s) first, or give this NIC another vpc-port",
			t.spec.Label(), c.subject(), ErrIfaceIDInUse, h.describe(), h.name)
	default:
		return fmt.Errorf("%s: %s: %w: OVS interface %s carries it and is not a hostnet port, so hostnet leaves it alone; "+
			"remove it or its iface-id (ovs-vsctl remove Interface %s external_ids iface-id), or give this NIC another vpc-port",
			t.spec.Label(), c.subject(), ErrIfaceIDInUse, h.describe(), h.name)
	}
}

// waitClaim makes the plug's transaction fail, changing nothing, unless
// the interfaces holding c under names other than the plug's taps (ours)
// are still exactly those observed: another plug may have taken the claim
// since they were read. With none observed (the fast path reads nothing)
// it requires that there are none.
func waitClaim(c claim, ours map[string]bool, observed []holder) ovsdb.Operation {
	rows := []map[string]any{}
	for _, h := range observed {
		if !ours[h.name] {
			rows = append(rows, map[string]any{"name": h.name})
		}
	}
	where := c.condition()
	for _, tap := range sortedKeys(ours) {
		where = append(where, ovsdb.NotEqual("name", tap))
	}
	return ovsdb.WaitUntilEqual("Interface", where, []string{"name"}, rows)
}

// claimOps starts a plug's transaction: its comment, then one wait per
// claim, so that claims[i]'s wait is operation i+1 (failedClaim).
func claimOps(comment ovsdb.Operation, claims []claim, ours map[string]bool, holders map[string][]holder) []ovsdb.Operation {
	ops := []ovsdb.Operation{comment}
	for _, c := range claims {
		ops = append(ops, waitClaim(c, ours, holders[c.key()]))
	}
	return ops
}

// failedClaim returns the claim whose wait failed a transaction that
// claimOps started.
func failedClaim(err error, claims []claim) (claim, bool) {
	var opErr *ovsdb.OpError
	if !errors.As(err, &opErr) || opErr.Op != "wait" || opErr.Table != "Interface" {
		return claim{}, false
	}
	if i := opErr.Index - 1; i >= 0 && i < len(claims) {
		return claims[i], true
	}
	return claim{}, false
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

// evictions lists evictees as an outcome reports them.
func evictions(es []evictee) []Eviction {
	out := make([]Eviction, len(es))
	for i, e := range es {
		out[i] = Eviction{Tap: e.name, Claim: e.claim.key()}
	}
	return out
}

// evictedNames lists the names of evictees, for logs.
func evictedNames(es []evictee) []string {
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.name
	}
	return names
}
