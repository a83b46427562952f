package plug

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/tapdev"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// observed is what OVSDB holds under one tap name.
type observed struct {
	port       ovsdb.UUID // "" when there is no Port of that name
	portExt    map[string]string
	portIfaces []ovsdb.UUID
	iface      ovsdb.UUID // "" when there is no Interface of that name
	ifaceExt   map[string]string
	ofport     int64
	ifaceError string
	bridge     string // the bridge holding the Port, "" when none
}

func (o observed) exists() bool { return o.port != "" || o.iface != "" }

// owned reports whether every row under the name is a hostnet VM row, and
// the Interface is the Port's only one.
func (o observed) owned() bool {
	if o.port == "" || o.portExt[KeyOwner] != OwnerVM {
		return false
	}
	if o.iface == "" {
		return len(o.portIfaces) == 0
	}
	return o.ifaceExt[KeyOwner] == OwnerVM && len(o.portIfaces) == 1 && o.portIfaces[0] == o.iface
}

// state is the part of OVSDB one plug or unplug looks at: the rows under
// each tap name, the UUID of each bridge involved (absent when the bridge
// does not exist), the interfaces holding each claim of the NICs (their
// iface-id, their MAC on their bridge) and the MACs whose flows an unplug
// left on each bridge. It selects by name and by claim only: no table is
// read whole.
type state struct {
	taps      map[string]observed
	bridges   map[string]ovsdb.UUID
	holders   map[string][]holder        // by claim key
	flowsLeft map[string]map[string]bool // bridge -> MACs (KeyFlowsLeftPrefix)
}

// observe reads the rows under taps, the bridges named and the interfaces
// holding claims in one transaction, plus one more for the bridges
// holding existing ports, and one more when a claim is held under a name
// that is not one of taps.
func observe(ctx context.Context, db *vswitch.DB, taps, bridges []string, claims []claim) (state, error) {
	var ops []ovsdb.Operation
	for _, tap := range taps {
		ops = append(ops,
			ovsdb.Select("Port", []ovsdb.Condition{ovsdb.Equal("name", tap)}, "_uuid", "external_ids", "interfaces"),
			ovsdb.Select("Interface", []ovsdb.Condition{ovsdb.Equal("name", tap)}, "_uuid", "external_ids", "ofport", "error"))
	}
	for _, br := range bridges {
		ops = append(ops, ovsdb.Select("Bridge", []ovsdb.Condition{ovsdb.Equal("name", br)}, "_uuid", "external_ids"))
	}
	for _, c := range claims {
		ops = append(ops, ovsdb.Select("Interface", c.condition(), "_uuid", "name", "external_ids", "ofport", "error"))
	}
	st := state{taps: map[string]observed{}, bridges: map[string]ovsdb.UUID{}, holders: map[string][]holder{}, flowsLeft: map[string]map[string]bool{}}
	if len(ops) == 0 {
		return st, nil
	}
	res, err := db.Transact(ctx, ops...)
	if err != nil {
		return st, fmt.Errorf("read ports %v: %w", taps, err)
	}
	for i, tap := range taps {
		o, err := decodeObserved(res[2*i], res[2*i+1])
		if err != nil {
			return st, fmt.Errorf("read port %s: %w", tap, err)
		}
		st.taps[tap] = o
	}
	for i, br := range bridges {
		rows := res[2*len(taps)+i].Rows
		if len(rows) == 1 {
			u, err := rows[0].UUID("_uuid")
			if err != nil {
				return st, fmt.Errorf("read bridge %s: %w", br, err)
			}
			st.bridges[br] = u
			ext, err := rows[0].Map("external_ids")
			if err != nil {
				return st, fmt.Errorf("read bridge %s: %w", br, err)
			}
			for k := range ext {
				if mac, ok := strings.CutPrefix(k, KeyFlowsLeftPrefix); ok {
					if st.flowsLeft[br] == nil {
						st.flowsLeft[br] = map[string]bool{}
					}
					st.flowsLeft[br][mac] = true
				}
			}
		}
	}
	// Holders under a tap's own name are that tap's rows, read above; the
	// others need their Port and bridge.
	var others []*holder
	for i, c := range claims {
		rows := res[2*len(taps)+len(bridges)+i].Rows
		hs := make([]holder, len(rows))
		for j, row := range rows {
			if hs[j].name, err = row.String("name"); err != nil {
				return st, fmt.Errorf("read interfaces holding %s: %w", c.key(), err)
			}
			if hs[j].obs, err = decodeObserved(ovsdb.Result{}, ovsdb.Result{Rows: []ovsdb.Row{row}}); err != nil {
				return st, fmt.Errorf("read interface %s: %w", hs[j].name, err)
			}
			if _, own := st.taps[hs[j].name]; !own {
				others = append(others, &hs[j])
			}
		}
		st.holders[c.key()] = hs
	}
	if err := findPorts(ctx, db, others); err != nil {
		return st, err
	}

	var ports []ovsdb.UUID
	for _, tap := range taps {
		if p := st.taps[tap].port; p != "" {
			ports = append(ports, p)
		}
	}
	for _, h := range others {
		if h.obs.port != "" {
			ports = append(ports, h.obs.port)
		}
	}
	bridgeOf, err := findBridges(ctx, db, ports)
	if err != nil {
		return st, err
	}
	for _, tap := range taps {
		o := st.taps[tap]
		o.bridge = bridgeOf[o.port]
		st.taps[tap] = o
	}
	for key, hs := range st.holders {
		for j := range hs {
			if o, ok := st.taps[hs[j].name]; ok {
				hs[j].obs = o
				continue
			}
			hs[j].obs.bridge = bridgeOf[hs[j].obs.port]
			hs[j].dead = hs[j].obs.owned() && deviceDead(hs[j].name, hs[j].obs)
		}
		st.holders[key] = hs
	}
	return st, nil
}

// findPorts fills in the Port rows holding the interfaces of hs.
func findPorts(ctx context.Context, db *vswitch.DB, hs []*holder) error {
	if len(hs) == 0 {
		return nil
	}
	ops := make([]ovsdb.Operation, len(hs))
	for i, h := range hs {
		ops[i] = ovsdb.Select("Port", []ovsdb.Condition{ovsdb.Includes("interfaces", h.obs.iface)}, "_uuid", "external_ids", "interfaces")
	}
	res, err := db.Transact(ctx, ops...)
	if err != nil {
		return fmt.Errorf("find ports of interfaces: %w", err)
	}
	for i, h := range hs {
		iface := h.obs
		o, err := decodeObserved(res[i], ovsdb.Result{})
		if err != nil {
			return fmt.Errorf("find port of interface %s: %w", h.name, err)
		}
		o.iface, o.ifaceExt, o.ofport, o.ifaceError = iface.iface, iface.ifaceExt, iface.ofport, iface.ifaceError
		h.obs = o
	}
	return nil
}

// findBridges returns the name of the bridge holding each of ports (absent
// for a port no bridge holds).
func findBridges(ctx context.Context, db *vswitch.DB, ports []ovsdb.UUID) (map[ovsdb.UUID]string, error) {
	out := map[ovsdb.UUID]string{}
	if len(ports) == 0 {
		return out, nil
	}
	ops := make([]ovsdb.Operation, len(ports))
	for i, p := range ports {
		ops[i] = ovsdb.Select("Bridge", []ovsdb.Condition{ovsdb.Includes("ports", p)}, "name")
	}
	res, err := db.Transact(ctx, ops...)
	if err != nil {
		return nil, fmt.Errorf("find bridges of ports: %w", err)
	}
	for i, p := range ports {
		if rows := res[i].Rows; len(rows) > 0 {
			if out[p], err = rows[0].String("name"); err != nil {
				return nil, fmt.Errorf("find bridge of port %s: %w", p, err)
			}
		}
	}
	return out, nil
}

// deviceDead reports whether the device a hostnet port was plugged for is
// gone, or its name now belongs to another device, or the port can never
// work (NotATap: an error and no Ethernet device).
func deviceDead(name string, o observed) bool {
	now, err := tapdev.Ifindex(name)
	if errors.Is(err, tapdev.ErrNoDevice) {
		return true
	}
	if err == nil && deviceChanged(target{ifindex: now}, o) {
		return true
	}
	broken, err := notATap(name, o.ifaceError)
	return err == nil && broken
}

func decodeObserved(portRes, ifaceRes ovsdb.Result) (observed, error) {
	var o observed
	var err error
	if len(portRes.Rows) == 1 {
		r := portRes.Rows[0]
		if o.port, err = r.UUID("_uuid"); err != nil {
			return o, err
		}
		if o.portExt, err = r.Map("external_ids"); err != nil {
			return o, err
		}
		if o.portIfaces, err = r.UUIDs("interfaces"); err != nil {
			return o, err
		}
	}
	if len(ifaceRes.Rows) == 1 {
		r := ifaceRes.Rows[0]
		if o.iface, err = r.UUID("_uuid"); err != nil {
			return o, err
		}
		if o.ifaceExt, err = r.Map("external_ids"); err != nil {
			return o, err
		}
		if o.ofport, _, err = r.Int("ofport"); err != nil {
			return o, err
		}
		if o.ifaceError, err = r.String("error"); err != nil {
			return o, err
		}
	}
	return o, nil
}
