package plug

import (
	"context"
	"fmt"
	"strings"

	"github.com/hostnet/hostnet/internal/ovsdb"
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
// does not exist) and the MACs whose flows an unplug left on it. It selects
// by name: no table scans.
type state struct {
	taps      map[string]observed
	bridges   map[string]ovsdb.UUID
	flowsLeft map[string]map[string]bool // bridge -> MACs (KeyFlowsLeftPrefix)
}

// observe reads the rows under taps and the bridges named, in one
// transaction, plus one more for the bridges holding existing ports.
func observe(ctx context.Context, db *vswitch.DB, taps, bridges []string) (state, error) {
	var ops []ovsdb.Operation
	for _, tap := range taps {
		ops = append(ops,
			ovsdb.Select("Port", []ovsdb.Condition{ovsdb.Equal("name", tap)}, "_uuid", "external_ids", "interfaces"),
			ovsdb.Select("Interface", []ovsdb.Condition{ovsdb.Equal("name", tap)}, "_uuid", "external_ids", "ofport", "error"))
	}
	for _, br := range bridges {
		ops = append(ops, ovsdb.Select("Bridge", []ovsdb.Condition{ovsdb.Equal("name", br)}, "_uuid", "external_ids"))
	}
	st := state{taps: map[string]observed{}, bridges: map[string]ovsdb.UUID{}, flowsLeft: map[string]map[string]bool{}}
	if len(ops) == 0 {
		return st, nil
	}
	res, err := db.Transact(ctx, ops...)
	if err != nil {
		return st, fmt.Errorf("read ports %v: %w", taps, err)
	}
	var withPort []string
	for i, tap := range taps {
		o, err := decodeObserved(res[2*i], res[2*i+1])
		if err != nil {
			return st, fmt.Errorf("read port %s: %w", tap, err)
		}
		st.taps[tap] = o
		if o.port != "" {
			withPort = append(withPort, tap)
		}
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
	if len(withPort) == 0 {
		return st, nil
	}

	ops = ops[:0]
	for _, tap := range withPort {
		ops = append(ops, ovsdb.Select("Bridge", []ovsdb.Condition{ovsdb.Includes("ports", st.taps[tap].port)}, "name"))
	}
	res, err = db.Transact(ctx, ops...)
	if err != nil {
		return st, fmt.Errorf("find bridges of ports %v: %w", withPort, err)
	}
	for i, tap := range withPort {
		if rows := res[i].Rows; len(rows) > 0 {
			o := st.taps[tap]
			if o.bridge, err = rows[0].String("name"); err != nil {
				return st, fmt.Errorf("find bridge of port %s: %w", tap, err)
			}
			st.taps[tap] = o
		}
	}
	return st, nil
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
