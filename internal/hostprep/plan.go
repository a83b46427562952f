package hostprep

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/netstate"
	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// State is how far an entry is from what the config says.
type State string

// States, as status reports them.
const (
	StateOK      State = "ok"      // nothing to do
	StateDrift   State = "drift"   // set up, but something differs: apply repairs it
	StateMissing State = "missing" // the bridge does not exist yet: apply builds it
	StateInvalid State = "invalid" // the host contradicts the config: apply refuses
)

// MarkerKey is the external_ids key hostprep sets on what it creates in
// OVS. Its values say what the row is for. Rows without it were made by
// someone else: hostprep uses them but never deletes them.
const MarkerKey = "hostnet-hostprep"

// Marker values.
const (
	MarkUplinkBridge      = "uplink-bridge"
	MarkHostVLANPort      = "host-vlan-port"
	MarkIntegrationBridge = "integration-bridge"
)

// Fail modes of the bridges hostprep builds: uplink bridges switch on their
// own (NORMAL) even without a controller; the integration bridge is OVN's
// and forwards nothing until ovn-controller programs it.
const (
	failModeUplink      = "standalone"
	failModeIntegration = "secure"
)

// Problem is one reason to refuse: a subject (networks[1] "eth1/brpub/wire1",
// ovs_datapath_type, ...) and what is wrong with the fix.
type Problem struct {
	Subject string
	Text    string
}

func (p Problem) String() string { return p.Subject + ": " + p.Text }

// Plan is what apply would do: per entry, the integration bridge, the OVN
// keys and NetworkManager. MakePlan builds it from the config and the
// observed host alone, so check, apply and status agree by construction.
type Plan struct {
	Driver      string
	Entries     []*EntryPlan
	Integration *IntegrationPlan // nil when Open vSwitch is not used
	Root        RootPlan
	NM          NMPlan
	Problems    []Problem // every problem, entries' included
	Warnings    []string
}

// EntryPlan is the work for one networks entry.
type EntryPlan struct {
	Entry    config.Entry
	Target   string // the device that carries the host's addresses: the bridge, or its host VLAN port
	HostVLAN int    // host_vlans VLAN of the bridge, 0 when none
	State    State
	Reasons  []string // why the state is not ok, one line each
	Problems []Problem

	NICMAC string // the NIC's MAC and MTU, which the bridge (and target) take
	NICMTU int

	BridgeExists bool // the bridge exists now
	TargetExists bool // the target device exists now
	NICEnslaved  bool // the NIC is a port of the bridge now

	OVSOps     []ovsdb.Operation // openvswitch driver: one transaction
	OVSChanges []string
	LB         *LinuxBridgeWork // linux_bridge driver

	Devices []DeviceWant // device settings to hold once the bridge exists
	Move    *MoveWork    // IP form: the addresses and routes to move; nil when none

	Wire      netip.Prefix    // wire form: the bridge's link-local address
	AddWire   bool            // the bridge lacks it
	StaleWire []netstate.Addr // other wire-style addresses on the bridge

	Sysctls      []Sysctl // settings to write
	StaleJournal bool     // a journal from an earlier boot: remove it

	Addresses []netip.Prefix // what the target carries now (status)
}

// LinuxBridgeWork is the netlink work of the linux_bridge driver.
type LinuxBridgeWork struct {
	Create  bool // the bridge device does not exist
	Enslave bool // the NIC is not its port
}

// DeviceWant is the state one device must be in. Changes says what differs
// now ("" fields and zero values are not checked).
type DeviceWant struct {
	Dev     string
	MAC     string
	MTU     int
	Up      bool
	Changes []string
}

// MoveWork is the IP move of an entry.
type MoveWork struct {
	Move     netstate.Move
	Steps    []netstate.Step // what is left to do, from the observed state
	Journal  *Journal        // the journal of an interrupted move; nil for a new move
	Gateways []netip.Addr    // default gateways through the NIC, probed before a new move
}

// IntegrationPlan is the work for the OVN integration bridge.
type IntegrationPlan struct {
	Name    string
	Exists  bool
	Ops     []ovsdb.Operation
	Changes []string
	State   State
}

// RootPlan is the work on the Open_vSwitch row (OVN settings).
type RootPlan struct {
	Ops     []ovsdb.Operation
	Changes []string
	OVN     *OVNChassis // nil when host.conf gives no OVN settings
}

// OVNChassis is what OVN knows this host by once apply has run.
type OVNChassis struct {
	// Chassis is external_ids:system-id, the name requested-chassis takes
	// (migration): the observed one, or the host name apply will set.
	Chassis string
	Remote  string
	EncapIP netip.Addr
}

// NMPlan is the NetworkManager drop-in.
type NMPlan struct {
	Content string
	Write   bool // the file differs from Content
	Reload  bool // NetworkManager runs and must reread its configuration
	Path    string
}

// Converged reports whether apply has nothing to do.
func (p *Plan) Converged() bool {
	if len(p.Problems) > 0 {
		return false
	}
	for _, e := range p.Entries {
		if e.State != StateOK {
			return false
		}
	}
	if p.Integration != nil && p.Integration.State != StateOK {
		return false
	}
	return len(p.Root.Ops) == 0 && !p.NM.Write
}

// MakePlan decides what apply does on the host obs. It is pure.
func MakePlan(c *config.Config, obs *Observed) *Plan {
	p := &Plan{Driver: c.BridgeDriver}
	p.Problems = append(p.Problems, globalProblems(c, obs)...)
	var wireBridges []string
	for _, e := range c.Wires() {
		wireBridges = append(wireBridges, e.Bridge)
	}
	wires := WireAddrs(wireBridges)
	for _, e := range c.Networks {
		ep := planEntry(c, obs, e, wires)
		p.Entries = append(p.Entries, ep)
		p.Problems = append(p.Problems, ep.Problems...)
	}
	if obs.OVS != nil && obs.OVS.Root.UUID != "" {
		if c.BridgeDriver != config.DriverLinuxBridge || c.OVNEnabled() {
			p.Integration = planIntegration(c, obs)
			if p.Integration.State == StateInvalid {
				p.Problems = append(p.Problems, Problem{Subject: "ovn_integration_bridge " + c.OVNIntegrationBridge, Text: p.Integration.Changes[0]})
			}
		}
		p.Root, p.Warnings = planRoot(c, obs)
	}
	p.NM = planNM(c, obs)
	if len(c.Networks) == 0 && !c.OVNEnabled() {
		// Legal (the shipped example is all comments, and a VPC-only host
		// lists none), but with no OVN either (none of its keys, or only one
		// of the two, which config warns about) it is most likely a
		// host.conf not written yet or a misspelt key.
		p.Warnings = append(p.Warnings, fmt.Sprintf(
			"%s lists no networks and OVN is not set up (ovn_encap_ip and ovn_south_database): hostprep builds no host bridge and VMs have nothing to plug into; "+
				"list the host's uplinks under networks: (NIC/BRIDGE/IP or NIC/BRIDGE/WIRE, see the example in the file), or set both OVN keys for a VPC-only host", c.Path))
	}
	p.Warnings = append(p.Warnings, lostWireWarnings(c, obs)...)
	for nic, j := range obs.Journals {
		if _, ok := c.EntryForNIC(nic); !ok && !j.Done {
			p.Warnings = append(p.Warnings, fmt.Sprintf(
				"move journal %s is about %s, which no networks entry names; check %s's addresses and routes, then delete the file",
				JournalPath(obs.StateDir, nic), nic, j.NIC))
		}
	}
	return p
}

func globalProblems(c *config.Config, obs *Observed) []Problem {
	var out []Problem
	if NeedsOVS(c) && c.DatapathType == config.DatapathSystem && !obs.KernelDatapath {
		out = append(out, Problem{Subject: "ovs_datapath_type: system", Text: `the Open vSwitch kernel datapath is missing ` +
			`(the generic netlink family "ovs_datapath" does not exist); load the module with "modprobe openvswitch", ` +
			`or set ovs_datapath_type: netdev to use the userspace datapath`})
	}
	if obs.OVS != nil && obs.OVS.Root.UUID == "" {
		out = append(out, Problem{Subject: "Open vSwitch", Text: vswitch.ErrNoRoot.Error()})
	}
	return out
}

func planEntry(c *config.Config, obs *Observed, e config.Entry, wires map[string]netip.Prefix) *EntryPlan {
	ep := &EntryPlan{Entry: e, Target: e.Bridge}
	if v, ok := c.HostVLANs[e.Bridge]; ok && e.Form() == config.FormIP {
		ep.HostVLAN = v
		ep.Target = HostVLANPort(e.Bridge, v)
	}
	j := obs.Journals[e.NIC]
	if j != nil && j.BootID != obs.BootID {
		ep.StaleJournal = true
		j = nil
	}
	ep.Problems = validateEntry(c, obs, ep, j)
	if len(ep.Problems) > 0 {
		ep.State = StateInvalid
		for _, pr := range ep.Problems {
			ep.Reasons = append(ep.Reasons, pr.Text)
		}
		ep.Addresses = targetAddresses(obs.Net, ep.Target)
		return ep
	}
	nic := obs.Net.Link(e.NIC)
	ep.NICMAC, ep.NICMTU = nic.MAC, nic.MTU
	ep.TargetExists = obs.Net.Link(ep.Target) != nil

	if c.BridgeDriver == config.DriverLinuxBridge {
		ep.BridgeExists = obs.Net.Link(e.Bridge) != nil
		ep.NICEnslaved = nic.Master == e.Bridge
		ep.LB = &LinuxBridgeWork{Create: !ep.BridgeExists, Enslave: !ep.NICEnslaved}
		if ep.LB.Create {
			ep.Reasons = append(ep.Reasons, fmt.Sprintf("create Linux bridge %s (mac %s, mtu %d)", e.Bridge, nic.MAC, nic.MTU))
		}
		if ep.LB.Enslave {
			ep.Reasons = append(ep.Reasons, fmt.Sprintf("add %s to bridge %s", e.NIC, e.Bridge))
		}
	} else {
		ep.BridgeExists = obs.OVS.Bridges[e.Bridge] != nil
		if p := obs.OVS.Ports[e.NIC]; p != nil && p.Bridge == e.Bridge {
			ep.NICEnslaved = true
		}
		if ep.HostVLAN > 0 {
			ep.TargetExists = ep.TargetExists && obs.OVS.Ports[ep.Target] != nil
		}
		spec := vswitch.BridgeSpec{
			Name: e.Bridge, DatapathType: c.DatapathType, FailMode: failModeUplink,
			HWAddr: nic.MAC, MTU: nic.MTU, Uplink: e.NIC,
			ExternalIDs: map[string]string{MarkerKey: MarkUplinkBridge},
		}
		if ep.HostVLAN > 0 {
			spec.Internal = []vswitch.InternalPort{{
				Name: ep.Target, Tag: ep.HostVLAN, MAC: nic.MAC, MTU: nic.MTU,
				ExternalIDs: map[string]string{MarkerKey: MarkHostVLANPort},
			}}
		}
		ops, changes, err := vswitch.EnsureBridge(spec, obs.OVS)
		if err != nil { // validateEntry rules these out; keep the planner total
			ep.Problems = append(ep.Problems, Problem{Subject: e.Label(), Text: err.Error()})
			ep.State = StateInvalid
			return ep
		}
		ep.OVSOps, ep.OVSChanges = ops, changes
		ep.Reasons = append(ep.Reasons, changes...)
	}

	ep.Devices = append(ep.Devices, wantDevice(obs.Net, DeviceWant{Dev: e.Bridge, MAC: nic.MAC, MTU: nic.MTU, Up: true}))
	if ep.Target != e.Bridge {
		ep.Devices = append(ep.Devices, wantDevice(obs.Net, DeviceWant{Dev: ep.Target, MAC: nic.MAC, MTU: nic.MTU, Up: true}))
	}
	ep.Devices = append(ep.Devices, wantDevice(obs.Net, DeviceWant{Dev: e.NIC, Up: true}))
	for _, d := range ep.Devices {
		ep.Reasons = append(ep.Reasons, d.Changes...)
	}

	if e.Form() == config.FormIP {
		ep.Move = planMove(obs, e, ep.Target, j)
		if ep.Move != nil {
			switch j := ep.Move.Journal; {
			case j != nil && j.Done:
				ep.Reasons = append(ep.Reasons, fmt.Sprintf("put back on %s what the move of %s at %s gave it",
					ep.Target, e.NIC, j.Started.Format("2006-01-02 15:04:05")))
			case j != nil:
				ep.Reasons = append(ep.Reasons, fmt.Sprintf("finish the move of %s's addresses and routes to %s interrupted at %s",
					e.NIC, ep.Target, j.Started.Format("2006-01-02 15:04:05")))
			}
			for _, s := range ep.Move.Steps {
				ep.Reasons = append(ep.Reasons, s.String())
			}
		}
	} else {
		ep.Wire = wires[e.Bridge]
		if !obs.Net.HasAddr(e.Bridge, ep.Wire) {
			ep.AddWire = true
			ep.Reasons = append(ep.Reasons, fmt.Sprintf("add wire address %s to %s", ep.Wire, e.Bridge))
		}
		if br := obs.Net.Link(e.Bridge); br != nil {
			for _, a := range br.Addrs {
				if isWireAddr(a.Prefix) && a.Prefix != ep.Wire {
					ep.StaleWire = append(ep.StaleWire, a)
					ep.Reasons = append(ep.Reasons, fmt.Sprintf("remove stale wire address %s from %s", a.Prefix, e.Bridge))
				}
			}
		}
	}

	want := noAutoconf(e.NIC)
	if e.Form() == config.FormWire {
		want = append(want, noAutoconf(e.Bridge)...)
	} else {
		want = append(want, targetSysctls(ep.Target)...)
	}
	for _, s := range want {
		cur, ok := obs.Sysctls[s.Key]
		switch {
		case !ok && obs.Net.Link(s.Dev) != nil:
			// IPv6 is off on this host: nothing to stop.
		case !ok:
			ep.Sysctls = append(ep.Sysctls, s)
			ep.Reasons = append(ep.Reasons, fmt.Sprintf("set %s=%s", sysctlName(s.Key), s.Want))
		case cur != s.Want:
			ep.Sysctls = append(ep.Sysctls, s)
			ep.Reasons = append(ep.Reasons, fmt.Sprintf("set %s=%s (is %s)", sysctlName(s.Key), s.Want, cur))
		}
	}
	if ep.StaleJournal {
		ep.Reasons = append(ep.Reasons, "remove the move journal of an earlier boot")
	}

	ep.Addresses = targetAddresses(obs.Net, ep.Target)
	switch {
	case !ep.BridgeExists:
		ep.State = StateMissing
	case len(ep.Reasons) > 0:
		ep.State = StateDrift
	default:
		ep.State = StateOK
	}
	return ep
}

func sysctlName(key string) string {
	out := []byte(key)
	for i, b := range out {
		if b == '/' {
			out[i] = '.'
		}
	}
	return string(out)
}

func targetAddresses(h *netstate.Host, dev string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range h.MovableAddrs(dev) {
		out = append(out, a.Prefix)
	}
	return out
}

// wantDevice records what differs between w and the device now.
func wantDevice(h *netstate.Host, w DeviceWant) DeviceWant {
	l := h.Link(w.Dev)
	if l == nil {
		if w.Up {
			w.Changes = append(w.Changes, fmt.Sprintf("bring %s up once it exists", w.Dev))
		}
		return w
	}
	if w.MAC != "" && l.MAC != w.MAC {
		w.Changes = append(w.Changes, fmt.Sprintf("set %s address %s (is %s)", w.Dev, w.MAC, l.MAC))
	}
	if w.MTU > 0 && l.MTU != w.MTU {
		w.Changes = append(w.Changes, fmt.Sprintf("set %s mtu %d (is %d)", w.Dev, w.MTU, l.MTU))
	}
	if w.Up && !l.Up {
		w.Changes = append(w.Changes, fmt.Sprintf("bring %s up", w.Dev))
	}
	return w
}

// planMove returns the move of an IP-form entry: what the NIC carries now,
// plus what an interrupted move's journal says it carried (the kernel may
// have flushed routes since). Nil when there is nothing to move and no
// journal to finish.
func planMove(obs *Observed, e config.Entry, target string, j *Journal) *MoveWork {
	if j != nil && j.Target != target {
		// A record of a move to another device (host_vlans changed since)
		// is nothing to finish or put back here: this is a new move, with
		// its gateway check and rollback.
		j = nil
	}
	addrs := obs.Net.MovableAddrs(e.NIC)
	routes := obs.Net.MovableRoutes(e.NIC)
	if j != nil {
		addrs = mergeAddrs(j.Addrs, addrs)
		routes = mergeRoutes(j.Routes, routes)
	}
	if len(addrs) == 0 && len(routes) == 0 && j == nil {
		return nil
	}
	mv := netstate.Move{From: e.NIC, To: target, Addrs: addrs, Routes: routes}
	w := &MoveWork{Move: mv, Steps: mv.Steps(obs.Net), Journal: j}
	switch {
	case j == nil && len(w.Steps) == 0:
		return nil
	case j == nil:
		w.Gateways = defaultGateways(routes, e.NIC)
	case j.Done && len(w.Steps) == 0 && len(addrs) == len(j.Addrs) && len(routes) == len(j.Routes):
		return nil // the record holds and has nothing new to learn
	}
	return w
}

func mergeAddrs(a, b []netstate.Addr) []netstate.Addr {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.ContainsFunc(out, func(y netstate.Addr) bool { return y.Prefix == x.Prefix }) {
			out = append(out, x)
		}
	}
	return out
}

func mergeRoutes(a, b []netstate.Route) []netstate.Route {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.ContainsFunc(out, x.Equal) {
			out = append(out, x)
		}
	}
	return out
}

// defaultGateways are the gateways of the default routes that leave
// through dev: the neighbours whose answer proves the host still reaches
// beyond its link.
func defaultGateways(routes []netstate.Route, dev string) []netip.Addr {
	var out []netip.Addr
	add := func(a netip.Addr) {
		if a.IsValid() && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, r := range routes {
		if !r.IsDefault() {
			continue
		}
		if r.Dev == dev {
			add(r.Gw)
		}
		for _, h := range r.Hops {
			if h.Dev == dev {
				add(h.Gw)
			}
		}
	}
	return out
}

func planIntegration(c *config.Config, obs *Observed) *IntegrationPlan {
	name := c.OVNIntegrationBridge
	ip := &IntegrationPlan{Name: name, Exists: obs.OVS.Bridges[name] != nil}
	if l := obs.Net.Link(name); l != nil && !ip.Exists {
		ip.State = StateInvalid
		ip.Changes = []string{fmt.Sprintf("%s exists as a %s device that is not an Open vSwitch bridge; delete it (ip link del %s) or set ovn_integration_bridge to another name", name, l.Kind, name)}
		return ip
	}
	if p := obs.OVS.Ports[name]; p != nil && p.Bridge != "" && p.Bridge != name {
		ip.State = StateInvalid
		ip.Changes = []string{fmt.Sprintf("%s is a port of bridge %s; remove it (ovs-vsctl del-port %s %s) or set ovn_integration_bridge to another name", name, p.Bridge, p.Bridge, name)}
		return ip
	}
	spec := vswitch.BridgeSpec{
		Name: name, DatapathType: c.DatapathType, FailMode: failModeIntegration,
		OtherConfig: map[string]string{"disable-in-band": "true"},
		ExternalIDs: map[string]string{MarkerKey: MarkIntegrationBridge},
	}
	ops, changes, err := vswitch.EnsureBridge(spec, obs.OVS)
	if err != nil {
		ip.State = StateInvalid
		ip.Changes = []string{err.Error()}
		return ip
	}
	ip.Ops, ip.Changes = ops, changes
	switch {
	case !ip.Exists:
		ip.State = StateMissing
	case len(ops) > 0:
		ip.State = StateDrift
	default:
		ip.State = StateOK
	}
	return ip
}

// OVN settings in the Open_vSwitch row, read by ovn-controller.
const (
	keyOVNBridge         = "ovn-bridge"
	keyOVNRemote         = "ovn-remote"
	keyOVNEncapType      = "ovn-encap-type"
	keyOVNEncapIP        = "ovn-encap-ip"
	keyOVNBridgeDatapath = "ovn-bridge-datapath-type"
	keySystemID          = "system-id"
)

func planRoot(c *config.Config, obs *Observed) (RootPlan, []string) {
	if !c.OVNEnabled() {
		return RootPlan{}, nil
	}
	set := map[string]string{
		keyOVNBridge:         c.OVNIntegrationBridge,
		keyOVNRemote:         c.OVNSouthDatabase,
		keyOVNEncapType:      c.OVNEncapType,
		keyOVNEncapIP:        c.OVNEncapIP.String(),
		keyOVNBridgeDatapath: c.DatapathType,
	}
	var warnings []string
	ifAbsent := map[string]string{}
	chassis := &OVNChassis{Remote: c.OVNSouthDatabase, EncapIP: c.OVNEncapIP}
	chassis.Chassis = obs.OVS.Root.ExternalIDs[keySystemID]
	if _, ok := obs.OVS.Root.ExternalIDs[keySystemID]; !ok && obs.Hostname != "" {
		ifAbsent[keySystemID] = obs.Hostname
		chassis.Chassis = obs.Hostname
		warnings = append(warnings, fmt.Sprintf(
			"Open_vSwitch external_ids:system-id is not set; hostprep sets it to the host name %q, OVN's name for this chassis "+
				"(set it yourself before the first apply to choose another)", obs.Hostname))
	}
	ops, changes, err := vswitch.SetRootKeys(obs.OVS, set, ifAbsent)
	if err != nil { // no root row: reported by globalProblems
		return RootPlan{OVN: chassis}, warnings
	}
	return RootPlan{Ops: ops, Changes: changes, OVN: chassis}, warnings
}

func planNM(c *config.Config, obs *Observed) NMPlan {
	var devs []string
	add := func(d string) {
		if !slices.Contains(devs, d) {
			devs = append(devs, d)
		}
	}
	for _, e := range c.Networks {
		add(e.NIC)
		add(e.Bridge)
		if v, ok := c.HostVLANs[e.Bridge]; ok && e.Form() == config.FormIP {
			add(HostVLANPort(e.Bridge, v))
		}
	}
	if NeedsOVS(c) {
		add(c.OVNIntegrationBridge)
	}
	p := NMPlan{Content: NMDropIn(devs), Path: obs.NM.DropInPath()}
	if obs.NM.Present && obs.NM.DropIn != p.Content {
		p.Write = true
		p.Reload = obs.NM.PID > 0
	}
	return p
}
