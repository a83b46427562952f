package vswitch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/hostnet/hostnet/internal/ovsdb"
)

// Bridges as hostprep builds them. Read the state with Observe, compute the
// operations that converge it with EnsureBridge (pure: it only looks at the
// Snapshot), and commit them with TransactApplied, one transaction per
// bridge.

// Snapshot is the part of the database that hostprep looks at: the
// Open_vSwitch row and the bridges and ports it asked for by name.
type Snapshot struct {
	Root    Root
	Bridges map[string]*Bridge // only those asked for that exist
	Ports   map[string]*Port   // only those asked for that exist
}

// Root is the Open_vSwitch row.
type Root struct {
	UUID        ovsdb.UUID
	ExternalIDs map[string]string
}

// Bridge is one Bridge row.
type Bridge struct {
	UUID         ovsdb.UUID
	Name         string
	DatapathType string
	FailMode     string
	OtherConfig  map[string]string
	ExternalIDs  map[string]string
}

// Port is one Port row and its interfaces.
type Port struct {
	UUID       ovsdb.UUID
	Name       string
	Bridge     string // the bridge that holds the port, "" when none
	Tag        int    // 0 when unset
	Trunks     []int64
	VLANMode   string
	Interfaces []Interface
}

// Interface is one Interface row.
type Interface struct {
	UUID       ovsdb.UUID
	Name       string
	Type       string // "" (system), internal, ...
	MTURequest int    // 0 when unset
	MAC        string // requested MAC (internal interfaces), "" when unset
}

// Iface returns the port's interface called name, or nil.
func (p *Port) Iface(name string) *Interface {
	if p == nil {
		return nil
	}
	for i := range p.Interfaces {
		if p.Interfaces[i].Name == name {
			return &p.Interfaces[i]
		}
	}
	return nil
}

var (
	bridgeColumns = []string{"_uuid", "name", "datapath_type", "fail_mode", "other_config", "external_ids"}
	portColumns   = []string{"_uuid", "name", "interfaces", "tag", "trunks", "vlan_mode"}
	ifaceColumns  = []string{"_uuid", "name", "type", "mtu_request", "mac"}
)

// Observe reads the Open_vSwitch row, the bridges and the ports named, in
// two read-only round trips (rows by name, then the ports' interfaces and
// owning bridges), without reading whole tables.
func (db *DB) Observe(ctx context.Context, bridges, ports []string) (*Snapshot, error) {
	bridges, ports = uniq(bridges), uniq(ports)
	ops := []ovsdb.Operation{ovsdb.Select("Open_vSwitch", nil, "_uuid", "external_ids")}
	for _, b := range bridges {
		ops = append(ops, ovsdb.Select("Bridge", []ovsdb.Condition{ovsdb.Equal("name", b)}, bridgeColumns...))
	}
	for _, p := range ports {
		ops = append(ops, ovsdb.Select("Port", []ovsdb.Condition{ovsdb.Equal("name", p)}, portColumns...))
	}
	res, err := db.Transact(ctx, ops...)
	if err != nil {
		return nil, fmt.Errorf("read the Open vSwitch database: %w", err)
	}
	snap := &Snapshot{Bridges: map[string]*Bridge{}, Ports: map[string]*Port{}}
	if rows := res[0].Rows; len(rows) == 1 {
		if snap.Root.UUID, err = rows[0].UUID("_uuid"); err != nil {
			return nil, err
		}
		if snap.Root.ExternalIDs, err = rows[0].Map("external_ids"); err != nil {
			return nil, err
		}
	}
	for i, name := range bridges {
		for _, row := range res[1+i].Rows {
			b, err := decodeBridge(row)
			if err != nil {
				return nil, fmt.Errorf("bridge %s: %w", name, err)
			}
			snap.Bridges[name] = b
		}
	}
	// The second round: each port's interfaces and the bridge holding it.
	type pending struct {
		port   *Port
		ifaces []ovsdb.UUID
	}
	var todo []pending
	var ops2 []ovsdb.Operation
	for i, name := range ports {
		for _, row := range res[1+len(bridges)+i].Rows {
			p, ifaces, err := decodePort(row)
			if err != nil {
				return nil, fmt.Errorf("port %s: %w", name, err)
			}
			snap.Ports[name] = p
			todo = append(todo, pending{p, ifaces})
			ops2 = append(ops2, ovsdb.Select("Bridge", []ovsdb.Condition{ovsdb.Includes("ports", p.UUID)}, "name"))
			for _, u := range ifaces {
				ops2 = append(ops2, ovsdb.Select("Interface", []ovsdb.Condition{ovsdb.Equal("_uuid", u)}, ifaceColumns...))
			}
		}
	}
	if len(ops2) == 0 {
		return snap, nil
	}
	res2, err := db.Transact(ctx, ops2...)
	if err != nil {
		return nil, fmt.Errorf("read the Open vSwitch database: %w", err)
	}
	k := 0
	for _, t := range todo {
		if rows := res2[k].Rows; len(rows) > 0 {
			if t.port.Bridge, err = rows[0].String("name"); err != nil {
				return nil, err
			}
		}
		k++
		for range t.ifaces {
			for _, row := range res2[k].Rows {
				iface, err := decodeIface(row)
				if err != nil {
					return nil, fmt.Errorf("port %s: %w", t.port.Name, err)
				}
				t.port.Interfaces = append(t.port.Interfaces, iface)
			}
			k++
		}
	}
	return snap, nil
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

func decodeBridge(row ovsdb.Row) (*Bridge, error) {
	var b Bridge
	var err error
	if b.UUID, err = row.UUID("_uuid"); err != nil {
		return nil, err
	}
	if b.Name, err = row.String("name"); err != nil {
		return nil, err
	}
	if b.DatapathType, err = row.String("datapath_type"); err != nil {
		return nil, err
	}
	if b.FailMode, err = row.String("fail_mode"); err != nil {
		return nil, err
	}
	if b.OtherConfig, err = row.Map("other_config"); err != nil {
		return nil, err
	}
	if b.ExternalIDs, err = row.Map("external_ids"); err != nil {
		return nil, err
	}
	return &b, nil
}

func decodePort(row ovsdb.Row) (*Port, []ovsdb.UUID, error) {
	var p Port
	var err error
	if p.UUID, err = row.UUID("_uuid"); err != nil {
		return nil, nil, err
	}
	if p.Name, err = row.String("name"); err != nil {
		return nil, nil, err
	}
	tag, ok, err := row.Int("tag")
	if err != nil {
		return nil, nil, err
	}
	if ok {
		p.Tag = int(tag)
	}
	if p.Trunks, err = row.Ints("trunks"); err != nil {
		return nil, nil, err
	}
	if p.VLANMode, err = row.String("vlan_mode"); err != nil {
		return nil, nil, err
	}
	ifaces, err := row.UUIDs("interfaces")
	if err != nil {
		return nil, nil, err
	}
	return &p, ifaces, nil
}

func decodeIface(row ovsdb.Row) (Interface, error) {
	var i Interface
	var err error
	if i.UUID, err = row.UUID("_uuid"); err != nil {
		return i, err
	}
	if i.Name, err = row.String("name"); err != nil {
		return i, err
	}
	if i.Type, err = row.String("type"); err != nil {
		return i, err
	}
	mtu, ok, err := row.Int("mtu_request")
	if err != nil {
		return i, err
	}
	if ok {
		i.MTURequest = int(mtu)
	}
	if i.MAC, err = row.String("mac"); err != nil {
		return i, err
	}
	return i, nil
}

// BridgeSpec is what one bridge should look like. Empty fields are left as
// they are on an existing bridge.
type BridgeSpec struct {
	Name         string
	DatapathType string            // "system", "netdev"
	FailMode     string            // "standalone", "secure"
	HWAddr       string            // other_config:hwaddr: the bridge's MAC
	MTU          int               // mtu_request of the bridge's own interface
	OtherConfig  map[string]string // other_config keys to set; other keys are kept
	ExternalIDs  map[string]string // set when the bridge is created (an ownership marker)
	Uplink       string            // a NIC enslaved as a trunk port (no tag, no trunks)
	Internal     []InternalPort    // internal ports, e.g. the host's VLAN port
}

// InternalPort is an OVS internal port: a kernel device of the host on the
// bridge, in a VLAN.
type InternalPort struct {
	Name        string
	Tag         int    // access VLAN, 0 for none
	MAC         string // the device's MAC ("" leaves it to OVS)
	MTU         int    // mtu_request, 0 leaves it
	ExternalIDs map[string]string
}

// ErrPortElsewhere means a port that a spec puts on its bridge is a port of
// another bridge: hostprep never takes a port from a bridge it was not told
// about.
var ErrPortElsewhere = errors.New("is a port of another bridge")

// ErrNoRoot means the database has no Open_vSwitch row yet.
var ErrNoRoot = errors.New("the Open vSwitch database has no Open_vSwitch row; run `ovs-vsctl init` (the openvswitch service does it at start)")

// EnsureBridge returns the operations that make the database match spec,
// given snap, and a line per change for logs and plans. No operations and
// no changes means the bridge is already as spec says.
func EnsureBridge(spec BridgeSpec, snap *Snapshot) ([]ovsdb.Operation, []string, error) {
	if snap.Root.UUID == "" {
		return nil, nil, ErrNoRoot
	}
	for _, name := range spec.portNames() {
		if p := snap.Ports[name]; p != nil && p.Bridge != "" && p.Bridge != spec.Name {
			return nil, nil, fmt.Errorf("port %s %w (%s)", name, ErrPortElsewhere, p.Bridge)
		}
	}
	b := snap.Bridges[spec.Name]
	if b == nil {
		return createBridge(spec, snap.Root.UUID)
	}
	var ops []ovsdb.Operation
	var changes []string
	where := []ovsdb.Condition{ovsdb.Equal("_uuid", b.UUID)}
	row := map[string]any{}
	if spec.DatapathType != "" && b.DatapathType != spec.DatapathType {
		row["datapath_type"] = spec.DatapathType
		changes = append(changes, fmt.Sprintf("set bridge %s datapath_type %s (was %q)", spec.Name, spec.DatapathType, b.DatapathType))
	}
	if spec.FailMode != "" && b.FailMode != spec.FailMode {
		row["fail_mode"] = spec.FailMode
		changes = append(changes, fmt.Sprintf("set bridge %s fail_mode %s (was %q)", spec.Name, spec.FailMode, b.FailMode))
	}
	if len(row) > 0 {
		ops = append(ops, ovsdb.Update("Bridge", where, row))
	}
	if mops, mchanges := setKeys("Bridge", where, "other_config", spec.Name, b.OtherConfig, spec.otherConfig()); len(mops) > 0 {
		ops = append(ops, mops...)
		changes = append(changes, mchanges...)
	}

	var newPorts ovsdb.Set
	local := InternalPort{Name: spec.Name, MTU: spec.MTU}
	pops, pchanges, add := ensureInternal(spec.Name, local, snap.Ports[spec.Name], "p_local", true)
	ops, changes = append(ops, pops...), append(changes, pchanges...)
	if add != nil {
		newPorts = append(newPorts, add)
	}
	if spec.Uplink != "" {
		pops, pchanges, add := ensureUplink(spec.Name, spec.Uplink, snap.Ports[spec.Uplink])
		ops, changes = append(ops, pops...), append(changes, pchanges...)
		if add != nil {
			newPorts = append(newPorts, add)
		}
	}
	for i, ip := range spec.Internal {
		pops, pchanges, add := ensureInternal(spec.Name, ip, snap.Ports[ip.Name], fmt.Sprintf("p_int%d", i), false)
		ops, changes = append(ops, pops...), append(changes, pchanges...)
		if add != nil {
			newPorts = append(newPorts, add)
		}
	}
	if len(newPorts) > 0 {
		ops = append(ops, ovsdb.Mutate("Bridge", where, ovsdb.MutateInsert("ports", newPorts)))
	}
	return ops, changes, nil
}

func (s BridgeSpec) portNames() []string {
	names := []string{s.Name}
	if s.Uplink != "" {
		names = append(names, s.Uplink)
	}
	for _, ip := range s.Internal {
		names = append(names, ip.Name)
	}
	return names
}

func (s BridgeSpec) otherConfig() map[string]string {
	m := maps.Clone(s.OtherConfig)
	if m == nil {
		m = map[string]string{}
	}
	if s.HWAddr != "" {
		m["hwaddr"] = s.HWAddr
	}
	return m
}

func createBridge(spec BridgeSpec, root ovsdb.UUID) ([]ovsdb.Operation, []string, error) {
	var ops []ovsdb.Operation
	var ports ovsdb.Set
	local := InternalPort{Name: spec.Name, MTU: spec.MTU}
	ops = append(ops, insertPort(local.ifaceRow(true), local.portRow(), "p_local")...)
	ports = append(ports, ovsdb.NamedUUID("p_local"))
	changes := []string{fmt.Sprintf("create bridge %s (datapath_type %s, fail_mode %s%s)",
		spec.Name, spec.DatapathType, spec.FailMode, describeMTU(spec.MTU))}
	if spec.Uplink != "" {
		ops = append(ops, insertPort(map[string]any{"name": spec.Uplink}, map[string]any{"name": spec.Uplink}, "p_uplink")...)
		ports = append(ports, ovsdb.NamedUUID("p_uplink"))
		changes = append(changes, fmt.Sprintf("add port %s to %s", spec.Uplink, spec.Name))
	}
	for i, ip := range spec.Internal {
		name := fmt.Sprintf("p_int%d", i)
		ops = append(ops, insertPort(ip.ifaceRow(false), ip.portRow(), name)...)
		ports = append(ports, ovsdb.NamedUUID(name))
		changes = append(changes, ip.describeAdd(spec.Name))
	}
	row := map[string]any{"name": spec.Name, "ports": ports}
	if spec.DatapathType != "" {
		row["datapath_type"] = spec.DatapathType
	}
	if spec.FailMode != "" {
		row["fail_mode"] = spec.FailMode
	}
	if oc := spec.otherConfig(); len(oc) > 0 {
		row["other_config"] = ovsdb.Map(oc)
	}
	if len(spec.ExternalIDs) > 0 {
		row["external_ids"] = ovsdb.Map(spec.ExternalIDs)
	}
	ops = append(ops,
		ovsdb.Insert("Bridge", "bridge", row),
		ovsdb.Mutate("Open_vSwitch", []ovsdb.Condition{ovsdb.Equal("_uuid", root)},
			ovsdb.MutateInsert("bridges", ovsdb.Set{ovsdb.NamedUUID("bridge")})))
	return ops, changes, nil
}

func describeMTU(mtu int) string {
	if mtu == 0 {
		return ""
	}
	return fmt.Sprintf(", mtu %d", mtu)
}

// insertPort inserts an interface and a port holding it; the port can be
// referred to as NamedUUID(name).
func insertPort(iface, port map[string]any, name string) []ovsdb.Operation {
	port["interfaces"] = ovsdb.Set{ovsdb.NamedUUID(name + "_if")}
	return []ovsdb.Operation{
		ovsdb.Insert("Interface", name+"_if", iface),
		ovsdb.Insert("Port", name, port),
	}
}

func (ip InternalPort) ifaceRow(local bool) map[string]any {
	row := map[string]any{"name": ip.Name, "type": "internal"}
	if ip.MTU > 0 {
		row["mtu_request"] = ip.MTU
	}
	if ip.MAC != "" && !local {
		row["mac"] = ip.MAC
	}
	return row
}

func (ip InternalPort) portRow() map[string]any {
	row := map[string]any{"name": ip.Name}
	if ip.Tag > 0 {
		row["tag"] = ip.Tag
	}
	if len(ip.ExternalIDs) > 0 {
		row["external_ids"] = ovsdb.Map(ip.ExternalIDs)
	}
	return row
}

func (ip InternalPort) describeAdd(bridge string) string {
	s := fmt.Sprintf("add internal port %s to %s", ip.Name, bridge)
	if ip.Tag > 0 {
		s += fmt.Sprintf(" (VLAN %d", ip.Tag)
		if ip.MAC != "" {
			s += ", mac " + ip.MAC
		}
		s += describeMTU(ip.MTU) + ")"
	}
	return s
}

// ensureInternal converges an internal port (the bridge's own one when
// local). add is the port to insert into the bridge's ports, if any.
func ensureInternal(bridge string, ip InternalPort, cur *Port, uuidName string, local bool) (ops []ovsdb.Operation, changes []string, add any) {
	if cur == nil {
		ops = insertPort(ip.ifaceRow(local), ip.portRow(), uuidName)
		return ops, []string{ip.describeAdd(bridge)}, ovsdb.NamedUUID(uuidName)
	}
	if !local && cur.Tag != ip.Tag {
		tag := ovsdb.Set{}
		if ip.Tag > 0 {
			tag = ovsdb.Set{ip.Tag}
		}
		ops = append(ops, ovsdb.Update("Port", []ovsdb.Condition{ovsdb.Equal("_uuid", cur.UUID)}, map[string]any{"tag": tag}))
		changes = append(changes, fmt.Sprintf("set port %s tag %d (was %d)", ip.Name, ip.Tag, cur.Tag))
	}
	iface := cur.Iface(ip.Name)
	if iface == nil {
		// A port without its interface is not something OVS builds; leave it
		// for ovs-vsctl to sort out rather than guess.
		return ops, changes, nil
	}
	row := map[string]any{}
	if iface.Type != "internal" {
		row["type"] = "internal"
		changes = append(changes, fmt.Sprintf("set interface %s type internal (was %q)", ip.Name, iface.Type))
	}
	if ip.MTU > 0 && iface.MTURequest != ip.MTU {
		row["mtu_request"] = ip.MTU
		changes = append(changes, fmt.Sprintf("set interface %s mtu_request %d (was %d)", ip.Name, ip.MTU, iface.MTURequest))
	}
	if !local && ip.MAC != "" && iface.MAC != ip.MAC {
		row["mac"] = ip.MAC
		changes = append(changes, fmt.Sprintf("set interface %s mac %s (was %q)", ip.Name, ip.MAC, iface.MAC))
	}
	if len(row) > 0 {
		ops = append(ops, ovsdb.Update("Interface", []ovsdb.Condition{ovsdb.Equal("_uuid", iface.UUID)}, row))
	}
	return ops, changes, nil
}

// ensureUplink converges the NIC's port: present, and a plain trunk.
func ensureUplink(bridge, nic string, cur *Port) (ops []ovsdb.Operation, changes []string, add any) {
	if cur == nil {
		ops = insertPort(map[string]any{"name": nic}, map[string]any{"name": nic}, "p_uplink")
		return ops, []string{fmt.Sprintf("add port %s to %s", nic, bridge)}, ovsdb.NamedUUID("p_uplink")
	}
	if cur.Tag != 0 || len(cur.Trunks) > 0 || cur.VLANMode != "" {
		ops = append(ops, ovsdb.Update("Port", []ovsdb.Condition{ovsdb.Equal("_uuid", cur.UUID)},
			map[string]any{"tag": ovsdb.Set{}, "trunks": ovsdb.Set{}, "vlan_mode": ovsdb.Set{}}))
		changes = append(changes, fmt.Sprintf("make port %s a trunk of all VLANs again (clear tag, trunks, vlan_mode)", nic))
	}
	return ops, changes, nil
}

// setKeys returns the mutations that give a map column the wanted keys,
// leaving other keys alone. A map mutate "insert" never overwrites, so a
// changed key is deleted first, in the same transaction.
func setKeys(table string, where []ovsdb.Condition, column, object string, cur, want map[string]string) ([]ovsdb.Operation, []string) {
	var stale ovsdb.Set
	set := ovsdb.Map{}
	var changes []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		v := want[k]
		old, ok := cur[k]
		if ok && old == v {
			continue
		}
		if ok {
			stale = append(stale, k)
			changes = append(changes, fmt.Sprintf("set %s %s:%s=%s (was %s)", object, column, k, v, old))
		} else {
			changes = append(changes, fmt.Sprintf("set %s %s:%s=%s", object, column, k, v))
		}
		set[k] = v
	}
	if len(set) == 0 {
		return nil, nil
	}
	var muts []ovsdb.Mutation
	if len(stale) > 0 {
		muts = append(muts, ovsdb.MutateDelete(column, stale))
	}
	muts = append(muts, ovsdb.MutateInsert(column, set))
	return []ovsdb.Operation{ovsdb.Mutate(table, where, muts...)}, changes
}

// SetRootKeys returns the operations that set external_ids keys of the
// Open_vSwitch row: set are written, setIfAbsent only when the key has no
// value yet.
func SetRootKeys(snap *Snapshot, set, setIfAbsent map[string]string) ([]ovsdb.Operation, []string, error) {
	if snap.Root.UUID == "" {
		return nil, nil, ErrNoRoot
	}
	want := maps.Clone(set)
	if want == nil {
		want = map[string]string{}
	}
	for k, v := range setIfAbsent {
		if _, ok := snap.Root.ExternalIDs[k]; !ok {
			want[k] = v
		}
	}
	ops, changes := setKeys("Open_vSwitch", []ovsdb.Condition{ovsdb.Equal("_uuid", snap.Root.UUID)},
		"external_ids", "Open_vSwitch", snap.Root.ExternalIDs, want)
	return ops, changes, nil
}

// RemovePort returns the operation that takes port off its bridge (OVSDB
// then deletes the unreferenced Port and Interface rows). None when the
// port is not on the bridge.
func RemovePort(snap *Snapshot, bridge, port string) []ovsdb.Operation {
	b, p := snap.Bridges[bridge], snap.Ports[port]
	if b == nil || p == nil || p.Bridge != bridge {
		return nil
	}
	return []ovsdb.Operation{ovsdb.Mutate("Bridge", []ovsdb.Condition{ovsdb.Equal("_uuid", b.UUID)},
		ovsdb.MutateDelete("ports", ovsdb.Set{p.UUID}))}
}

// DeleteBridge returns the operation that deletes bridge with its ports.
// None when it does not exist.
func DeleteBridge(snap *Snapshot, bridge string) []ovsdb.Operation {
	b := snap.Bridges[bridge]
	if b == nil || snap.Root.UUID == "" {
		return nil
	}
	return []ovsdb.Operation{ovsdb.Mutate("Open_vSwitch", []ovsdb.Condition{ovsdb.Equal("_uuid", snap.Root.UUID)},
		ovsdb.MutateDelete("bridges", ovsdb.Set{b.UUID}))}
}
