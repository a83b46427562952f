package hostprep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/netstate"
	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// DefaultProbeTimeout bounds one gateway probe: long enough for the kernel
// to retry ARP / neighbour solicitation once (it retries every second).
const DefaultProbeTimeout = 2 * time.Second

// Engine runs hostprep's commands on one host.
type Engine struct {
	Cfg          *config.Config
	Env          Env
	Log          zerolog.Logger
	ProbeTimeout time.Duration

	changes int // changes made so far by this process
}

// RefusedError is a host that contradicts the config: apply changed
// nothing. Each problem is one line.
type RefusedError struct {
	Problems []Problem
}

func (e *RefusedError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// ErrGatewayLost means a gateway that answered through the NIC before the
// move does not answer through the bridge after it.
var ErrGatewayLost = errors.New("gateway stopped answering")

// RolledBackError is a move that failed and was undone.
type RolledBackError struct {
	Entry string // the entry's label
	Cause error
	Undo  error // nil when the rollback itself completed
	NIC   string
	Dev   string
}

func (e *RolledBackError) Error() string {
	if e.Undo != nil {
		return fmt.Sprintf("%s: %v; rolling back failed too: %v; check %s's addresses and routes (the move journal in the state directory has the snapshot)",
			e.Entry, e.Cause, e.Undo, e.NIC)
	}
	return fmt.Sprintf("%s: %v; rolled back: %s has its addresses and routes again and is off %s", e.Entry, e.Cause, e.NIC, e.Dev)
}

func (e *RolledBackError) Unwrap() error { return e.Cause }

// Plan observes the host and plans.
func (e *Engine) Plan(ctx context.Context) (*Plan, error) {
	obs, err := Observe(ctx, e.Cfg, e.Env)
	if err != nil {
		return nil, err
	}
	return MakePlan(e.Cfg, obs), nil
}

// Result is what apply did.
type Result struct {
	Plan    *Plan
	Changes int
}

// Apply converges the host. A host that contradicts the config is refused
// with a *RefusedError before any change. Entries are independent: a
// failed entry does not stop the others; the error joins every failure.
func (e *Engine) Apply(ctx context.Context) (*Result, error) {
	start := time.Now()
	unlock, err := e.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := e.Plan(ctx)
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: p}
	if len(p.Problems) > 0 {
		return res, &RefusedError{Problems: p.Problems}
	}
	if p.Converged() {
		e.Log.Info().Dur("duration_ms", time.Since(start)).Msg("no changes: the host is as host.conf says")
		return res, nil
	}
	var errs []error
	for _, ep := range p.Entries {
		if ep.State == StateOK {
			continue
		}
		if err := e.applyEntry(ctx, ep); err != nil {
			errs = append(errs, err)
		}
	}
	if err := e.applyGlobal(ctx, p); err != nil {
		errs = append(errs, err)
	}
	res.Changes = e.changes
	e.Log.Info().Int("changes", e.changes).Dur("duration_ms", time.Since(start)).Msg("apply done")
	return res, errors.Join(errs...)
}

// did records one change: a log line, and the fault-injection point.
func (e *Engine) did(entry, dev, what string, start time.Time) {
	e.changes++
	e.Log.Info().Str("entry", entry).Str("device", dev).Dur("duration_ms", time.Since(start)).Msg(what)
	crashpoint(e.changes, what)
}

func (e *Engine) nl() netstate.Changer { return netstate.Changer{H: e.Env.Netlink} }

func (e *Engine) ovsCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.Cfg.OVSTimeout)
}

func (e *Engine) transact(ctx context.Context, ops []ovsdb.Operation) error {
	cctx, cancel := e.ovsCtx(ctx)
	defer cancel()
	_, err := e.Env.OVS.TransactApplied(cctx, ops...)
	return err
}

func (e *Engine) applyEntry(ctx context.Context, ep *EntryPlan) error {
	label := ep.Entry.Label()
	var j *Journal
	if mw := ep.Move; mw != nil {
		var err error
		if j, err = e.startMove(ctx, ep); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
	}
	// A failed move is rolled back to the snapshot. A failed repair of a
	// completed move is not: the host has run on the bridge since, and
	// taking the NIC off it would cut off every VM on it.
	fail := func(err error) error {
		if j != nil && !j.Done {
			return e.rollback(ctx, ep, j, err)
		}
		return fmt.Errorf("%s: %w", label, err)
	}
	if err := e.ensureBridge(ctx, ep); err != nil {
		return fail(err)
	}
	if err := e.ensureDevices(ctx, ep); err != nil {
		return fail(err)
	}
	if j != nil {
		if err := e.move(ctx, ep, j); err != nil {
			return fail(err)
		}
	}
	if err := e.ensureWire(ep); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if err := e.ensureSysctls(ep, ep.Entry.NIC); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	switch {
	case j != nil && !j.Done:
		start := time.Now()
		j.Done = true
		if err := SaveJournal(e.Env.StateDir, j); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		e.did(ep.Entry.Raw, ep.Entry.NIC, "move complete: the journal stays as its record", start)
	case j == nil && ep.StaleJournal:
		start := time.Now()
		if err := RemoveJournal(e.Env.StateDir, ep.Entry.NIC); err != nil {
			return fmt.Errorf("%s: %w", label, err)
		}
		e.did(ep.Entry.Raw, ep.Entry.NIC, "removed the move journal of an earlier boot", start)
	}
	return nil
}

// startMove probes the gateways and writes the journal of a new move, or
// brings an interrupted move's journal up to date.
func (e *Engine) startMove(ctx context.Context, ep *EntryPlan) (*Journal, error) {
	mw := ep.Move
	if j := mw.Journal; j != nil {
		if len(mw.Move.Addrs) == len(j.Addrs) && len(mw.Move.Routes) == len(j.Routes) && j.Target == ep.Target {
			return j, nil
		}
		// The NIC gained addresses or routes since: record them too.
		j.Addrs, j.Routes, j.Target = mw.Move.Addrs, mw.Move.Routes, ep.Target
		start := time.Now()
		if err := SaveJournal(e.Env.StateDir, j); err != nil {
			return nil, err
		}
		e.did(ep.Entry.Raw, ep.Entry.NIC, "updated the move journal "+JournalPath(e.Env.StateDir, j.NIC), start)
		return j, nil
	}
	answered, err := e.probe(ctx, ep.Entry.NIC, mw.Gateways)
	if err != nil {
		return nil, err
	}
	nic := ep.Entry.NIC
	if len(mw.Gateways) > 0 && len(answered) == 0 {
		// The check after the move compares with the answers before it:
		// with none, a move that cuts the host off cannot be told apart.
		e.Log.Warn().Str("entry", ep.Entry.Raw).Str("device", nic).Str("gateways", joinAddrs(mw.Gateways)).
			Msg("no gateway answered on the NIC before the move, so the move goes on without the connectivity check that would roll it back")
	}
	j := &Journal{
		Version: journalVersion, BootID: BootID(), Started: time.Now().UTC(),
		Entry: ep.Entry.Raw, NIC: nic, Bridge: ep.Entry.Bridge, Target: ep.Target,
		MAC: ep.NICMAC, MTU: ep.NICMTU,
		Addrs: mw.Move.Addrs, Routes: mw.Move.Routes,
		CreatedBridge: !ep.BridgeExists, CreatedTarget: !ep.TargetExists, EnslavedNIC: !ep.NICEnslaved,
		Answered: answered,
	}
	if l, err := e.Env.Netlink.LinkByName(nic); err == nil {
		j.NICIndex = l.Attrs().Index
	}
	if j.Neighbors, err = netstate.StaticNeighbors(e.Env.Netlink, nic); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := SaveJournal(e.Env.StateDir, j); err != nil {
		return nil, err
	}
	e.did(ep.Entry.Raw, nic, "wrote the move journal "+JournalPath(e.Env.StateDir, nic), start)
	return j, nil
}

// probe returns the gateways that answer on dev.
func (e *Engine) probe(ctx context.Context, dev string, gws []netip.Addr) ([]netip.Addr, error) {
	if len(gws) == 0 {
		return nil, nil
	}
	var ns []netstate.Neighbor
	for _, gw := range gws {
		ns = append(ns, netstate.Neighbor{Dev: dev, IP: gw})
	}
	timeout := e.ProbeTimeout
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	res, err := netstate.Probe(pctx, e.Env.Netlink, ns)
	if err != nil {
		return nil, err
	}
	var answered []netip.Addr
	for _, n := range ns {
		e.Log.Debug().Str("device", dev).Stringer("gateway", n.IP).Stringer("result", res[n]).
			Dur("duration_ms", time.Since(start)).Msg("gateway probe")
		if res[n] == netstate.Answered {
			answered = append(answered, n.IP)
		}
	}
	return answered, nil
}

func (e *Engine) ensureBridge(ctx context.Context, ep *EntryPlan) error {
	if ep.LB != nil {
		return e.ensureLinuxBridge(ep)
	}
	if len(ep.OVSOps) == 0 {
		return nil
	}
	start := time.Now()
	if err := e.transact(ctx, ep.OVSOps); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(ep.OVSChanges, "; "), err)
	}
	e.did(ep.Entry.Raw, ep.Entry.Bridge, "ovs: "+strings.Join(ep.OVSChanges, "; "), start)
	return nil
}

func (e *Engine) ensureLinuxBridge(ep *EntryPlan) error {
	br, nic := ep.Entry.Bridge, ep.Entry.NIC
	if ep.LB.Create {
		start := time.Now()
		if err := e.nl().CreateBridge(br, ep.NICMAC, ep.NICMTU); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		e.did(ep.Entry.Raw, br, fmt.Sprintf("created Linux bridge %s (address %s, mtu %d)", br, ep.NICMAC, ep.NICMTU), start)
	}
	if ep.LB.Enslave {
		start := time.Now()
		if err := e.nl().SetMaster(nic, br); err != nil {
			return err
		}
		e.did(ep.Entry.Raw, nic, "added "+nic+" to bridge "+br, start)
	}
	return nil
}

// ensureDevices waits for the bridge's devices, stops IPv6
// autoconfiguration on a wire bridge before it first comes up, and holds
// each device's MAC, MTU and up state. Each is re-read first: OVS sets a
// new bridge's MAC and MTU itself, and a write that changes nothing is not
// made.
func (e *Engine) ensureDevices(ctx context.Context, ep *EntryPlan) error {
	wctx, cancel := e.ovsCtx(ctx)
	defer cancel()
	for _, d := range ep.Devices {
		if err := e.nl().WaitLink(wctx, d.Dev); err != nil {
			return fmt.Errorf("%w (ovs-vswitchd or the kernel did not create it)", err)
		}
	}
	// A new device's sysctls are set before it first comes up: IPv6
	// configures a device as it comes up.
	if err := e.ensureSysctls(ep, ep.Target); err != nil {
		return err
	}
	for _, d := range ep.Devices {
		l, err := e.Env.Netlink.LinkByName(d.Dev)
		if err != nil {
			return fmt.Errorf("look up %s: %w", d.Dev, err)
		}
		a := l.Attrs()
		if d.MAC != "" && a.HardwareAddr.String() != d.MAC {
			start := time.Now()
			if err := e.nl().SetMAC(d.Dev, d.MAC); err != nil {
				return err
			}
			e.did(ep.Entry.Raw, d.Dev, fmt.Sprintf("set address %s (was %s)", d.MAC, a.HardwareAddr), start)
		}
		if d.MTU > 0 && a.MTU != d.MTU {
			start := time.Now()
			if err := e.nl().SetMTU(d.Dev, d.MTU); err != nil {
				return err
			}
			e.did(ep.Entry.Raw, d.Dev, fmt.Sprintf("set mtu %d (was %d)", d.MTU, a.MTU), start)
		}
		if d.Up && a.Flags&net.FlagUp == 0 {
			start := time.Now()
			if err := e.nl().SetUp(d.Dev); err != nil {
				return err
			}
			e.did(ep.Entry.Raw, d.Dev, "brought up", start)
		}
	}
	return nil
}

func (e *Engine) ensureSysctls(ep *EntryPlan, dev string) error {
	for _, s := range ep.Sysctls {
		if s.Dev != dev {
			continue
		}
		cur, ok, err := readSysctl(e.Env.SysctlRoot, s.Key)
		if err != nil {
			return err
		}
		if !ok || cur == s.Want {
			continue // no IPv6 on this host, or already set
		}
		start := time.Now()
		if err := writeSysctl(e.Env.SysctlRoot, s.Key, s.Want); err != nil {
			return err
		}
		e.did(ep.Entry.Raw, dev, fmt.Sprintf("set %s=%s (was %s)", sysctlName(s.Key), s.Want, cur), start)
	}
	return nil
}

func (e *Engine) ensureWire(ep *EntryPlan) error {
	if ep.Entry.Form() != config.FormWire {
		return nil
	}
	br := ep.Entry.Bridge
	for _, a := range ep.StaleWire {
		start := time.Now()
		if err := e.nl().DelAddr(br, a); err != nil {
			return err
		}
		e.did(ep.Entry.Raw, br, "removed stale wire address "+a.Prefix.String(), start)
	}
	if ep.AddWire {
		start := time.Now()
		a := netstate.Addr{Prefix: ep.Wire, Scope: unix.RT_SCOPE_LINK}
		if err := e.nl().AddAddr(br, a); err != nil {
			return err
		}
		e.did(ep.Entry.Raw, br, "added wire address "+ep.Wire.String(), start)
	}
	return nil
}

// move runs what is left of the move, then checks that it is complete and
// that the gateways that answered before still answer.
func (e *Engine) move(ctx context.Context, ep *EntryPlan, j *Journal) error {
	mv := ep.Move.Move
	// The neighbour cache goes first: traffic through the target then flows
	// at once, without waiting for ARP / neighbour discovery.
	if err := e.copyNeighbors(ep.Entry.Raw, j.NIC, ep.Target, j.Neighbors); err != nil {
		return err
	}
	cur, err := netstate.Read(e.Env.Netlink)
	if err != nil {
		return err
	}
	for _, s := range mv.Steps(cur) {
		start := time.Now()
		if err := e.nl().Apply(s); err != nil {
			return err
		}
		e.did(ep.Entry.Raw, s.Dev, s.String(), start)
	}
	cur, err = netstate.Read(e.Env.Netlink)
	if err != nil {
		return err
	}
	if left := mv.Steps(cur); len(left) > 0 {
		return fmt.Errorf("the move did not hold: %d change(s) undone right after, first: %s", len(left), left[0])
	}
	if j.Done {
		return nil // a repair: the gateway check guards a move's rollback, and a repair has none
	}
	answered, err := e.probe(ctx, ep.Target, j.Answered)
	if err != nil {
		return err
	}
	for _, gw := range j.Answered {
		if !containsAddr(answered, gw) {
			return fmt.Errorf("%w: gateway %s answered on %s before the move but not on %s after it (check the bridge's flows: ovs-ofctl dump-flows %s, and that the switch port of %s accepts the bridge's MAC)",
				ErrGatewayLost, gw, j.NIC, ep.Target, ep.Entry.Bridge, j.NIC)
		}
	}
	return nil
}

// rollback undoes a move from its journal: the NIC leaves the bridge (the
// bridge and host VLAN port go only if this move created them), then the
// addresses and routes go back onto the NIC. Done whenever a move fails,
// so the host is never left half-moved.
func (e *Engine) rollback(ctx context.Context, ep *EntryPlan, j *Journal, cause error) error {
	e.Log.Warn().Str("entry", ep.Entry.Raw).Err(cause).Msg("move failed; rolling back to the snapshot")
	undo := e.undo(ctx, ep, j)
	if undo == nil {
		start := time.Now()
		if err := RemoveJournal(e.Env.StateDir, j.NIC); err != nil {
			undo = err
		} else {
			e.did(ep.Entry.Raw, j.NIC, "rollback complete: removed the move journal", start)
		}
	}
	return &RolledBackError{Entry: ep.Entry.Label(), Cause: cause, Undo: undo, NIC: j.NIC, Dev: ep.Entry.Bridge}
}

func (e *Engine) undo(ctx context.Context, ep *EntryPlan, j *Journal) error {
	br := ep.Entry.Bridge
	if ep.LB != nil {
		if j.EnslavedNIC {
			start := time.Now()
			if err := e.nl().SetNoMaster(j.NIC); err != nil {
				return err
			}
			e.did(ep.Entry.Raw, j.NIC, "rollback: released "+j.NIC+" from "+br, start)
		}
		if j.CreatedBridge {
			start := time.Now()
			if err := e.nl().DeleteLink(br); err != nil {
				return err
			}
			e.did(ep.Entry.Raw, br, "rollback: deleted bridge "+br, start)
		}
	} else {
		cctx, cancel := e.ovsCtx(ctx)
		snap, err := e.Env.OVS.Observe(cctx, []string{br}, []string{j.NIC, j.Target})
		cancel()
		if err != nil {
			return err
		}
		var ops []ovsdb.Operation
		var what string
		if j.CreatedBridge {
			ops, what = vswitch.DeleteBridge(snap, br), "rollback: deleted bridge "+br
		} else {
			var parts []string
			if j.EnslavedNIC {
				ops = append(ops, vswitch.RemovePort(snap, br, j.NIC)...)
				parts = append(parts, "took "+j.NIC+" off "+br)
			}
			if j.CreatedTarget && j.Target != br {
				ops = append(ops, vswitch.RemovePort(snap, br, j.Target)...)
				parts = append(parts, "removed port "+j.Target)
			}
			what = "rollback: " + strings.Join(parts, ", ")
		}
		if len(ops) > 0 {
			start := time.Now()
			if err := e.transact(ctx, ops); err != nil {
				return err
			}
			e.did(ep.Entry.Raw, br, what, start)
		}
	}
	back := ep.Move.Move.Reverse()
	cur, err := netstate.Read(e.Env.Netlink)
	if err != nil {
		return err
	}
	for _, s := range back.Steps(cur) {
		start := time.Now()
		if err := e.nl().Apply(s); err != nil {
			if errors.Is(err, netstate.ErrNoLink) && s.Dev != j.NIC {
				continue // the bridge went with its addresses
			}
			return err
		}
		e.did(ep.Entry.Raw, s.Dev, "rollback: "+s.String(), start)
	}
	if err := e.copyNeighbors(ep.Entry.Raw, j.NIC, j.NIC, j.Neighbors); err != nil {
		return err
	}
	if cur, err = netstate.Read(e.Env.Netlink); err != nil {
		return err
	}
	if left := back.Steps(cur); len(left) > 0 {
		return fmt.Errorf("%d change(s) did not hold, first: %s", len(left), left[0])
	}
	return nil
}

// copyNeighbors gives to the neighbour entries of from that it lacks, and
// the static entries of the journal.
func (e *Engine) copyNeighbors(entry, from, to string, static []netstate.StaticNeighbor) error {
	ns, err := netstate.NeighborsToCopy(e.Env.Netlink, from, to, static)
	if err != nil {
		return err
	}
	for _, n := range ns {
		start := time.Now()
		if err := e.nl().SetNeighbor(n); err != nil {
			return err
		}
		e.did(entry, to, fmt.Sprintf("set neighbour %s lladdr %s (from %s)", n.IP, n.HardwareAddr, from), start)
	}
	return nil
}

func (e *Engine) applyGlobal(ctx context.Context, p *Plan) error {
	var errs []error
	if ip := p.Integration; ip != nil && len(ip.Ops) > 0 {
		start := time.Now()
		if err := e.transact(ctx, ip.Ops); err != nil {
			errs = append(errs, fmt.Errorf("ovn_integration_bridge %s: %w", ip.Name, err))
		} else {
			e.did("", ip.Name, "ovs: "+strings.Join(ip.Changes, "; "), start)
		}
	}
	if len(p.Root.Ops) > 0 {
		start := time.Now()
		if err := e.transact(ctx, p.Root.Ops); err != nil {
			errs = append(errs, fmt.Errorf("OVN settings in the Open_vSwitch table: %w", err))
		} else {
			e.did("", "Open_vSwitch", "ovs: "+strings.Join(p.Root.Changes, "; "), start)
		}
	}
	for _, w := range p.Warnings {
		e.Log.Warn().Msg(w)
	}
	if p.NM.Write {
		start := time.Now()
		nm, err := ObserveNM(e.Env.NMRunDir)
		if err == nil {
			var reloaded bool
			reloaded, err = WriteNMDropIn(nm, p.NM.Content)
			what := "wrote " + p.NM.Path
			if reloaded {
				what += " and asked NetworkManager to reload"
			}
			if err == nil {
				e.did("", "NetworkManager", what, start)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// Open connects an Engine to the host: a netlink handle in the current
// network namespace and, when the config needs it, the Open vSwitch
// database of cfg.OVSRundir. Close it after use.
func Open(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*Engine, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	env := Env{Netlink: h, StateDir: cfg.StateDir, NMRunDir: DefaultNMRunDir, SysctlRoot: DefaultSysctlRoot}
	if d := os.Getenv(EnvNMRunDir); d != "" {
		env.NMRunDir = d
	}
	if NeedsOVS(cfg) {
		cctx, cancel := context.WithTimeout(ctx, cfg.OVSTimeout)
		defer cancel()
		if env.OVS, err = vswitch.Open(cctx, vswitch.Rundir(cfg.OVSRundir)); err != nil {
			h.Close()
			return nil, err
		}
	}
	return &Engine{Cfg: cfg, Env: env, Log: log}, nil
}

// Close releases the Engine's connections.
func (e *Engine) Close() {
	if e.Env.OVS != nil {
		_ = e.Env.OVS.Close()
	}
	if e.Env.Netlink != nil {
		e.Env.Netlink.Close()
	}
}

func joinAddrs(as []netip.Addr) string {
	ss := make([]string, len(as))
	for i, a := range as {
		ss[i] = a.String()
	}
	return strings.Join(ss, ", ")
}
