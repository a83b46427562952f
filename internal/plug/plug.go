// Package plug is hostnet's plug engine: it puts VM NICs (taps) on their
// bridge with their VLAN settings, source-check flows and OVN binding, and
// takes them off again. The hook, `hostnet-plug` and the reconcile unit all
// drive it.
//
// Conventions (DESIGN.md section 4): one transaction per call plugs every
// NIC it is given and waits until ovs-vswitchd has applied it; rows hostnet
// creates carry external_ids:hostnet-owner=hostnet-vm, and rows without it
// are never changed or deleted.
package plug

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
	"github.com/hostnet/hostnet/internal/tapdev"
	"github.com/hostnet/hostnet/internal/vswitch"
)

var (
	// ErrNotOwned means a row under the NIC's tap name is not hostnet's (the
	// host's uplink, a bridge's own port, another tool's port).
	ErrNotOwned = errors.New("not a hostnet VM port")
	// ErrUnknownTarget means the NIC names a bridge, wire or VPC bridge this
	// host does not have.
	ErrUnknownTarget = errors.New("not on this host")
	// ErrDevice means ovs-vswitchd could not open the tap.
	ErrDevice = errors.New("ovs-vswitchd could not open the device")
	// ErrTapInUse means a VM start names a tap whose port hostnet plugged
	// for that very device and another domain: a running VM's port.
	ErrTapInUse = errors.New("is the port of another running domain")
	// ErrOVNBridge means a NIC names the OVN integration bridge as its
	// bridge rather than a vpc-port.
	ErrOVNBridge = errors.New("is the OVN integration bridge")
)

// Mode says what an existing row under a tap's name means.
type Mode int

const (
	// Fresh is for a tap that was just created (VM start, NIC hot-plug):
	// a row already under its name is stale, left by a VM that is gone, and
	// is replaced.
	Fresh Mode = iota
	// Repair is for a tap that may have been running (reconnect, sync,
	// hostnet-plug add): its rows are fixed in place, so a working port is
	// never removed. Rows plugged for another device of the same name (the
	// ifindex recorded at plug time is not the tap's now) are stale and
	// replaced.
	Repair
)

func (m Mode) String() string {
	if m == Repair {
		return "repair"
	}
	return "plug"
}

// Action is what a plug did to one NIC.
type Action string

// Actions reported in Outcome.
const (
	Created  Action = "created"
	Replaced Action = "replaced" // stale rows removed, new ones created
	Updated  Action = "updated"  // rows fixed in place
	Moved    Action = "moved"    // rows moved to the right bridge
)

// Outcome is the result of plugging one NIC.
type Outcome struct {
	Spec   portspec.PortSpec
	Bridge string
	Action Action
	OFPort int64
	// Evictions are the dead hostnet ports that held one of the NIC's
	// claims (its iface-id, its MAC on its bridge) and were removed in the
	// plug's transaction; Evicted are their names, for logs.
	Evictions []Eviction
	Evicted   []string
}

// Engine plugs and unplugs NICs on one host.
type Engine struct {
	DB     *vswitch.DB
	Config *config.Config
	// Flows installs and removes source-check flows; nil installs none.
	Flows FlowTable
}

// FlowTable is where source-check flows go (package flows implements it
// with OpenFlow bundles).
type FlowTable interface {
	// Replace makes the flows of each NIC on bridge exactly what its spec
	// asks for, and removes the flows of retired owners (a NIC's MAC
	// before it changed), atomically per bridge.
	Replace(ctx context.Context, bridge string, nics []FlowNIC, retired []FlowOwner) error
	// Remove deletes the flows of the NICs with these MACs from bridge.
	Remove(ctx context.Context, bridge string, macs []string) error
	// Owners counts hostnet's flows on bridge by owner.
	Owners(ctx context.Context, bridge string) (map[FlowOwner]int, error)
	// RemoveOwners deletes the flows of these owners from bridge.
	RemoveOwners(ctx context.Context, bridge string, owners []FlowOwner) error
}

// FlowNIC is a plugged NIC as the flow table needs it.
type FlowNIC struct {
	Spec   portspec.PortSpec
	OFPort int64
}

// FlowOwner is the NIC a hostnet flow belongs to: the MAC of its cookie
// and the OpenFlow port it matches (every hostnet flow matches one).
type FlowOwner struct {
	MAC    string
	OFPort int64
}

// BridgeFor resolves where a NIC plugs on this host.
func (e *Engine) BridgeFor(s portspec.PortSpec) (string, error) {
	switch {
	case s.Wire != "":
		br, ok := e.Config.BridgeForWire(s.Wire)
		if !ok {
			return "", fmt.Errorf("%s: wire %s is %w (host.conf wires: %s); use a wire this host has", s.Label(), s.Wire, ErrUnknownTarget, e.wireList())
		}
		return br, nil
	case s.VPCPort != "":
		return e.Config.OVNIntegrationBridge, nil
	case s.Bridge == e.Config.OVNIntegrationBridge:
		// OVN programs that bridge whole: a NIC there without an iface-id
		// gets no OVN binding, and no hostnet flow may check it.
		return "", fmt.Errorf("%s: bridge %s %w (ovn_integration_bridge), which OVN programs; plug a VPC NIC with vpc-port=LOGICAL_PORT instead",
			s.Label(), s.Bridge, ErrOVNBridge)
	default:
		return s.Bridge, nil
	}
}

func (e *Engine) wireList() string {
	var wires []string
	for _, w := range e.Config.Wires() {
		wires = append(wires, w.Wire)
	}
	if len(wires) == 0 {
		return "none"
	}
	return strings.Join(wires, ", ")
}

// Validate checks specs against this host without changing anything: every
// wire and bridge exists, no tap name that is already known belongs to
// someone else (another tool, another running domain), and no live port
// holds a NIC's iface-id or its MAC on its bridge. It is what `prepare`
// and an incoming migration run, so it judges the NICs as a start would.
func (e *Engine) Validate(ctx context.Context, specs []portspec.PortSpec) error {
	targets, err := e.resolve(specs)
	if err != nil {
		return err
	}
	var taps []string
	for i, t := range targets {
		if t.spec.Tap != "" {
			taps = append(taps, t.spec.Tap)
			// 0 when there is no such device yet, the usual case.
			targets[i].ifindex, _ = tapdev.Ifindex(t.spec.Tap)
		}
	}
	claims := allClaims(targets, e.Config.OVNIntegrationBridge)
	st, err := observe(ctx, e.DB, taps, bridgesOf(targets), claims)
	if err != nil {
		return err
	}
	_, claimErr := planClaims(targets, e.Config.OVNIntegrationBridge, st.holders)
	return errors.Join(checkTargets(targets, st), checkTakeover(targets, st, Fresh), claimErr)
}

// Plug puts every NIC of specs on its bridge in one transaction and waits
// until ovs-vswitchd has applied it, then installs their flows. All specs
// need their tap. If a Fresh plug fails after its commit, the ports it
// created are removed again.
func (e *Engine) Plug(ctx context.Context, specs []portspec.PortSpec, mode Mode) ([]Outcome, error) {
	targets, err := e.resolve(specs)
	if err != nil {
		return nil, err
	}
	taps := make([]string, len(targets))
	for i, t := range targets {
		if t.spec.Tap == "" {
			return nil, fmt.Errorf("%s: has no tap (<target dev>) to plug", t.spec.Label())
		}
		taps[i] = t.spec.Tap
		if targets[i].ifindex, err = tapdev.Ifindex(t.spec.Tap); err != nil {
			return nil, fmt.Errorf("%s: %w (hostnet must run in the network namespace of libvirtd and ovs-vswitchd)", t.spec.Label(), err)
		}
	}
	claims := allClaims(targets, e.Config.OVNIntegrationBridge)
	// A VM start with no VPC NIC commits without looking up the taps' rows
	// or their MACs' holders first: its transaction checks that there are
	// none. VPC NICs need the lookup of their iface-id's holders anyway.
	if mode == Fresh && !hasIfaceID(claims) {
		if outcomes, done, err := e.plugNew(ctx, targets, claims); done {
			return outcomes, err
		}
	}

	st, err := observe(ctx, e.DB, taps, bridgesOf(targets), claims)
	if err != nil {
		return nil, err
	}
	evict, claimErr := planClaims(targets, e.Config.OVNIntegrationBridge, st.holders)
	if err := errors.Join(checkTargets(targets, st), checkTakeover(targets, st, mode), claimErr); err != nil {
		return nil, err
	}
	if mode == Repair {
		keepDomainNames(targets, st)
	}
	retired := e.retiredFlows(targets, st)
	outcomes := make([]Outcome, len(targets))
	if err := e.removeStale(ctx, targets, st, mode, outcomes); err != nil {
		return nil, err
	}
	if mode == Fresh {
		if err := e.clearFlows(ctx, targets, st, outcomes, evict); err != nil {
			return nil, err
		}
	}

	ops := claimOps(plugComment(mode, targets), claims, tapsOf(targets), st.holders)
	for i := range targets {
		for _, ev := range evict[i] {
			ops = append(ops, detachOps(ev.obs.port)...)
		}
		outcomes[i].Evictions, outcomes[i].Evicted = evictions(evict[i]), evictedNames(evict[i])
	}
	newPorts := map[string]ovsdb.Set{} // bridge -> named Port UUIDs
	for i, t := range targets {
		obs := st.taps[t.spec.Tap]
		brUUID := st.bridges[t.bridge]
		outcomes[i].Spec, outcomes[i].Bridge = t.spec, t.bridge
		switch {
		case !obs.exists():
			ops = append(ops, insertOps(t, i)...)
			newPorts[t.bridge] = append(newPorts[t.bridge], ovsdb.NamedUUID(uuidName("port", i)))
			if outcomes[i].Action == "" {
				outcomes[i].Action = Created
			}
		case obs.bridge == t.bridge:
			ops = append(ops, updateOps(t, obs)...)
			outcomes[i].Action = Updated
		default:
			ops = append(ops, moveOps(obs.port, brUUID)...)
			ops = append(ops, updateOps(t, obs)...)
			outcomes[i].Action = Moved
		}
	}
	ops = append(ops, addPortsOps(newPorts, st)...)
	ops = append(ops, forgetFlowsLeft(targets, st)...)
	return e.commit(ctx, targets, ops, outcomes, mode, claims, retired)
}

// errNameTaken means the plug's transaction found rows under a tap's name
// (the unique name index of Port or Interface refused the insert).
var errNameTaken = errors.New("a row of that name exists")

// commit runs the plug's transaction, which claimOps started, waits until
// ovs-vswitchd has applied it, and finishes (OpenFlow ports, flows).
func (e *Engine) commit(ctx context.Context, targets []target, ops []ovsdb.Operation, outcomes []Outcome, mode Mode, claims []claim, retired map[string][]FlowOwner) ([]Outcome, error) {
	transact := e.DB.TransactApplied
	if !waitForVswitchd {
		transact = e.DB.Transact
	}
	if _, err := transact(ctx, ops...); err != nil {
		if c, ok := failedClaim(err, claims); ok {
			return nil, fmt.Errorf("plug %s: %w: %w: another interface took or dropped %s while hostnet was plugging (a concurrent plug); nothing was changed, retry: %v",
				tapList(targets), c.sentinel(), errClaimRace, c.subject(), err)
		}
		var opErr *ovsdb.OpError
		if errors.As(err, &opErr) && opErr.ConstraintViolation() {
			err = fmt.Errorf("%w: %w", errNameTaken, err)
		}
		return nil, fmt.Errorf("plug %s: %w", tapList(targets), err)
	}
	if !waitForVswitchd {
		return outcomes, nil
	}
	if err := e.finish(ctx, targets, outcomes, mode, retired); err != nil {
		return nil, errors.Join(err, e.undo(targets, outcomes))
	}
	return outcomes, nil
}

func plugComment(mode Mode, targets []target) ovsdb.Operation {
	return ovsdb.Comment(fmt.Sprintf("hostnet: %s %s%s", mode, tapList(targets), ofDomain(targets)))
}

func tapList(targets []target) string {
	taps := make([]string, len(targets))
	for i, t := range targets {
		taps[i] = t.spec.Tap
	}
	return strings.Join(taps, ", ")
}

// removeStale detaches rows left under the taps' names by devices that are
// gone, and waits until ovs-vswitchd has dropped them: it keeps a port's old
// device open for as long as a port of that name stays configured, even
// across a transaction that deletes and re-creates the rows.
func (e *Engine) removeStale(ctx context.Context, targets []target, st state, mode Mode, outcomes []Outcome) error {
	var ops []ovsdb.Operation
	var stale []string
	for i, t := range targets {
		obs := st.taps[t.spec.Tap]
		if !obs.exists() || (mode == Repair && !deviceChanged(t, obs)) {
			continue
		}
		ops = append(ops, detachOps(obs.port)...)
		stale = append(stale, t.spec.Tap)
		outcomes[i].Action = Replaced
		st.taps[t.spec.Tap] = observed{}
	}
	if len(ops) == 0 {
		return nil
	}
	if _, err := e.DB.TransactApplied(ctx, ops...); err != nil {
		return fmt.Errorf("remove stale ports %s: %w", strings.Join(stale, ", "), err)
	}
	return nil
}

// clearFlows runs before a Fresh plug commits. NICs with source checks get
// their flows replaced after the commit; the others get no OpenFlow work
// after it, so flows their MAC may still have on the bridge are removed
// here: those an unplug recorded as left behind (KeyFlowsLeftPrefix), and
// any when stale rows of the tap were just replaced or a dead port of the
// same MAC is evicted. Usually there are none, and the plug does no
// OpenFlow at all: with thousands of ports on a bridge, every exchange
// with ovs-vswitchd costs tens of milliseconds, and right after it applies
// new ports it answers only a few hundred later.
func (e *Engine) clearFlows(ctx context.Context, targets []target, st state, outcomes []Outcome, evict map[int][]evictee) error {
	if e.Flows == nil {
		return nil
	}
	macs := map[string][]string{}
	for i, t := range targets {
		left := st.flowsLeft[t.bridge][t.spec.MAC] || outcomes[i].Action == Replaced || evictsMAC(evict[i])
		if e.ownsFlows(t.bridge) && t.spec.SrcCheck == portspec.SrcCheckOff && left {
			macs[t.bridge] = append(macs[t.bridge], t.spec.MAC)
		}
	}
	for _, br := range sortedKeys(macs) {
		if err := e.Flows.Remove(ctx, br, macs[br]); err != nil {
			return fmt.Errorf("clear old flows of %s from %s: %w", strings.Join(macs[br], ", "), br, err)
		}
	}
	return nil
}

// forgetFlowsLeft removes the plugged MACs' flows-left records from their
// bridges, in the plug's transaction: clearFlows has just removed those
// flows, or finish replaces them.
func forgetFlowsLeft(targets []target, st state) []ovsdb.Operation {
	keys := map[string]ovsdb.Set{}
	for _, t := range targets {
		if st.flowsLeft[t.bridge][t.spec.MAC] {
			keys[t.bridge] = append(keys[t.bridge], flowsLeftKey(t.spec.MAC))
		}
	}
	var ops []ovsdb.Operation
	for _, br := range sortedKeys(keys) {
		ops = append(ops, ovsdb.Mutate("Bridge", whereUUID(st.bridges[br]), ovsdb.MutateDelete("external_ids", keys[br])))
	}
	return ops
}

// keepDomainNames gives a repair without a domain name (hostnet-plug add
// without --vm-name) the name its domain's port has, rather than erase it.
func keepDomainNames(targets []target, st state) {
	for i, t := range targets {
		obs := st.taps[t.spec.Tap]
		if t.spec.DomainName == "" && t.spec.DomainUUID != "" && obs.owned() && obs.portExt[KeyDomainUUID] == t.spec.DomainUUID {
			targets[i].spec.DomainName = obs.portExt[KeyDomainName]
		}
	}
}

// retiredFlows are the flows the taps' existing rows had that the plug
// does not replace: those of a NIC's MAC before it changed, or on the
// bridge it leaves. Left behind, they would let the VM keep sending as its
// old MAC and addresses, and would hit whatever port reuses the OpenFlow
// port number. A row without an OpenFlow port (its device is gone) may
// have left its flows on the number it had: those go by MAC alone, which
// no other live port on the bridge holds (a port that claimed it would
// have evicted this row).
func (e *Engine) retiredFlows(targets []target, st state) map[string][]FlowOwner {
	retired := map[string][]FlowOwner{}
	for _, t := range targets {
		obs := st.taps[t.spec.Tap]
		old := obs.ifaceExt[KeyAttachedMAC]
		if !obs.owned() || old == "" || !e.ownsFlows(obs.bridge) || (old == t.spec.MAC && obs.bridge == t.bridge) {
			continue
		}
		retired[obs.bridge] = append(retired[obs.bridge], FlowOwner{MAC: old, OFPort: max(obs.ofport, 0)})
	}
	return retired
}

// finish reads the OpenFlow port numbers ovs-vswitchd gave the taps, fails
// for a tap it could not open, and installs the flows: all of them in
// Repair mode, where a working port's flows are replaced atomically; in
// Fresh mode clearFlows has run, so only NICs with source checks need any.
// The retired flows go in the same bundle as their bridge's new ones.
func (e *Engine) finish(ctx context.Context, targets []target, outcomes []Outcome, mode Mode, retired map[string][]FlowOwner) error {
	ops := make([]ovsdb.Operation, len(targets))
	for i, t := range targets {
		ops[i] = ovsdb.Select("Interface", []ovsdb.Condition{ovsdb.Equal("name", t.spec.Tap)}, "ofport", "error")
	}
	res, err := e.DB.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("read OpenFlow ports: %w", err)
	}
	byBridge := map[string][]FlowNIC{}
	for i, t := range targets {
		if len(res[i].Rows) != 1 {
			return fmt.Errorf("%s: its interface disappeared right after the plug (removed by someone else?)", t.spec.Label())
		}
		row := res[i].Rows[0]
		ofport, _, err := row.Int("ofport")
		if err != nil {
			return fmt.Errorf("%s: %w", t.spec.Label(), err)
		}
		ifaceErr, err := row.String("error")
		if err != nil {
			return fmt.Errorf("%s: %w", t.spec.Label(), err)
		}
		if ifaceErr != "" || ofport <= 0 {
			return fmt.Errorf("%s on %s: %w: %s", t.spec.Label(), t.bridge, ErrDevice, orUnknown(ifaceErr))
		}
		outcomes[i].OFPort = ofport
		if e.ownsFlows(t.bridge) && (mode == Repair || t.spec.SrcCheck != portspec.SrcCheckOff) {
			byBridge[t.bridge] = append(byBridge[t.bridge], FlowNIC{Spec: t.spec, OFPort: ofport})
		}
	}
	if e.Flows == nil {
		return nil
	}
	for _, br := range sortedKeys(byBridge) {
		if err := e.Flows.Replace(ctx, br, byBridge[br], retired[br]); err != nil {
			return fmt.Errorf("install source-check flows on %s: %w", br, err)
		}
	}
	for _, br := range sortedKeys(retired) {
		if _, done := byBridge[br]; done {
			continue
		}
		if err := e.Flows.RemoveOwners(ctx, br, retired[br]); err != nil {
			return fmt.Errorf("remove the old flows of %s from %s: %w", ownerList(retired[br]), br, err)
		}
	}
	return nil
}

// ownerList names flow owners in messages.
func ownerList(owners []FlowOwner) string {
	s := make([]string, len(owners))
	for i, o := range owners {
		s[i] = o.MAC
		if o.OFPort > 0 {
			s[i] += fmt.Sprintf(" (ofport %d)", o.OFPort)
		}
	}
	return strings.Join(s, ", ")
}

// ownsFlows reports whether hostnet keeps source-check flows on bridge.
// Never on the OVN integration bridge: ovn-controller owns its whole
// pipeline, and a hostnet flow there would send frames past it.
func (e *Engine) ownsFlows(bridge string) bool {
	return bridge != "" && bridge != e.Config.OVNIntegrationBridge
}

// undo removes the ports a plug created (Created, Replaced) when it failed
// after its commit, in any mode, so a failed plug leaves no broken port
// behind. Ports it updated or moved existed before and stay: a repair
// never removes a port that was there. It runs on its own deadline: the
// caller's may be what ran out.
func (e *Engine) undo(targets []target, outcomes []Outcome) error {
	var specs []portspec.PortSpec
	var taps []string
	for i, t := range targets {
		if a := outcomes[i].Action; a == Created || a == Replaced {
			specs = append(specs, t.spec)
			taps = append(taps, t.spec.Tap)
		}
	}
	if len(specs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.Config.OVSTimeout)
	defer cancel()
	if _, err := e.unplug(ctx, specs, ""); err != nil {
		return fmt.Errorf("remove the new ports %s again: %w (hostnet-plug gc or del --tap removes them)", strings.Join(taps, ", "), err)
	}
	return nil
}

func (e *Engine) resolve(specs []portspec.PortSpec) ([]target, error) {
	var errs []error
	targets := make([]target, 0, len(specs))
	for _, s := range specs {
		br, err := e.BridgeFor(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		targets = append(targets, target{spec: s, bridge: br})
	}
	return targets, errors.Join(errs...)
}

// checkTargets refuses bridges that do not exist and tap names whose rows
// are not hostnet's.
func checkTargets(targets []target, st state) error {
	var errs []error
	for _, t := range targets {
		if _, ok := st.bridges[t.bridge]; !ok {
			errs = append(errs, fmt.Errorf("%s: %s: OVS bridge %s is %w; run hostprep apply or fix the domain's hostnet metadata",
				t.spec.Label(), t.spec.Target(), t.bridge, ErrUnknownTarget))
		}
		if t.spec.Tap == "" {
			continue
		}
		if obs := st.taps[t.spec.Tap]; obs.exists() && !obs.owned() {
			where := ""
			if obs.bridge != "" {
				where = " on bridge " + obs.bridge
			}
			errs = append(errs, fmt.Errorf("%s: OVS already has a port %s%s that is %w (the host's uplink, a bridge port or another tool's); hostnet leaves it alone: give the NIC another <target dev>",
				t.spec.Label(), t.spec.Tap, where, ErrNotOwned))
		}
	}
	return errors.Join(errs...)
}

// checkTakeover refuses a tap whose rows hostnet plugged for this very
// device (the recorded ifindex is the device's now) and for another domain:
// the port of a running VM, which a start would replace and its stop then
// delete, and which a repair (reconnect, hostnet-plug add) would rewrite
// with another VM's VLAN, MAC and checks. libvirt refuses such a start
// itself, earlier; hostnet does not rely on it. A tap re-created under the
// name (another ifindex) is a stale row, replaced as usual.
func checkTakeover(targets []target, st state, mode Mode) error {
	var errs []error
	for _, t := range targets {
		obs, ok := st.taps[t.spec.Tap]
		if !ok || !obs.owned() || t.ifindex == 0 || deviceChanged(t, obs) {
			continue
		}
		other := obs.portExt[KeyDomainUUID]
		if liveTakeover(mode, obs, other, t.spec.DomainUUID) {
			errs = append(errs, fmt.Errorf("%s: tap %s %w %s; hostnet never hands a running VM's port to another domain: give this NIC another <target dev>, or stop that domain (or hostnet-plug del --tap %s) first%s",
				t.spec.Label(), t.spec.Tap, ErrTapInUse, obsDomain(obs), t.spec.Tap, changeHint(mode, other)))
		}
	}
	return errors.Join(errs...)
}

// liveTakeover reports whether plugging a NIC of domain want onto the live
// port of a device plugged for domain have hands that port to someone
// else. A start proves the port live only by its recorded ifindex, and
// claims every row it cannot prove live. A repair (reconnect, sync,
// hostnet-plug add) fixes rows in place, so it may change only its own
// domain's port, or one plugged without a domain, which it adopts.
func liveTakeover(mode Mode, obs observed, have, want string) bool {
	if mode == Fresh {
		return obs.ifaceExt[KeyIfindex] != "" && have != want
	}
	return have != "" && have != want
}

// changeHint tells a repair how to change the NIC of the domain that owns
// a port: name that domain.
func changeHint(mode Mode, owner string) string {
	if mode != Repair {
		return ""
	}
	return "; to change that domain's NIC, name it (hostnet-plug add --vm-uuid " + owner + ")"
}

// obsDomain names the domain a port was plugged for.
func obsDomain(o observed) string {
	name, uuid := o.portExt[KeyDomainName], o.portExt[KeyDomainUUID]
	switch {
	case name != "" && uuid != "":
		return name + " (" + uuid + ")"
	case name != "" || uuid != "":
		return name + uuid
	}
	return "(none: plugged by hostnet-plug add)"
}

// hasIfaceID reports whether claims include an iface-id.
func hasIfaceID(claims []claim) bool {
	for _, c := range claims {
		if c.kind == claimIfaceID {
			return true
		}
	}
	return false
}

// evictsMAC reports whether es include a port that had the NIC's MAC on
// its bridge: its flows carry the NIC's cookie.
func evictsMAC(es []evictee) bool {
	for _, e := range es {
		if e.claim.kind == claimMAC {
			return true
		}
	}
	return false
}

// deviceChanged reports whether the device now called t's tap is another
// one than the row was plugged for. OVS cannot tell: ovs-vswitchd updates
// the Interface's ifindex to the new device while it keeps reading the dead
// one. A row without the record counts as unchanged: Repair never removes
// a port it cannot prove dead.
func deviceChanged(t target, obs observed) bool {
	recorded, err := strconv.Atoi(obs.ifaceExt[KeyIfindex])
	return err == nil && recorded != t.ifindex
}

// ofDomain names the domain of a plug in the database log.
func ofDomain(targets []target) string {
	if len(targets) > 0 && targets[0].spec.DomainName != "" {
		return " of " + targets[0].spec.DomainName
	}
	return ""
}

func bridgesOf(targets []target) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range targets {
		if !seen[t.bridge] {
			seen[t.bridge] = true
			out = append(out, t.bridge)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orUnknown(s string) string {
	if s == "" {
		return "no OpenFlow port assigned"
	}
	return s
}
