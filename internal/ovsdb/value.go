package ovsdb

import (
	"encoding/json"
	"fmt"
	"sort"
)

// UUID is a row reference: it encodes as ["uuid", "..."].
type UUID string

// MarshalJSON encodes the reference in OVSDB's tagged form.
func (u UUID) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]string{"uuid", string(u)})
}

// NamedUUID refers to a row inserted earlier in the same transaction.
type NamedUUID string

// MarshalJSON encodes the reference in OVSDB's tagged form.
func (u NamedUUID) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]string{"named-uuid", string(u)})
}

// Set is an OVSDB set of atoms. An empty Set clears an optional column.
type Set []any

// MarshalJSON encodes the set in OVSDB's tagged form.
func (s Set) MarshalJSON() ([]byte, error) {
	elems := []any(s)
	if elems == nil {
		elems = []any{}
	}
	return json.Marshal([]any{"set", elems})
}

// Map is an OVSDB string-to-string map (external_ids, other_config, ...).
type Map map[string]string

// MarshalJSON encodes the map in OVSDB's tagged form, keys sorted so that
// transactions are deterministic.
func (m Map) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([][2]string, 0, len(m))
	for _, k := range keys {
		pairs = append(pairs, [2]string{k, m[k]})
	}
	return json.Marshal([]any{"map", pairs})
}

// Row is one row as returned by select or monitor: column name to raw JSON.
// The getters decode the column; a missing column decodes as its zero value,
// a column of the wrong shape is an error naming the column.
type Row map[string]json.RawMessage

// String returns a string column.
func (r Row) String(col string) (string, error) {
	raw, ok := r[col]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	// An optional string (min 0, max 1) comes as a set of zero or one.
	elems, err := setElems(raw)
	if err != nil || len(elems) > 1 {
		return "", columnError(col, raw)
	}
	if len(elems) == 0 {
		return "", nil
	}
	if err := json.Unmarshal(elems[0], &s); err != nil {
		return "", columnError(col, raw)
	}
	return s, nil
}

// Int returns an integer column; ok is false when an optional integer
// column holds no value.
func (r Row) Int(col string) (v int64, ok bool, err error) {
	raw, present := r[col]
	if !present {
		return 0, false, nil
	}
	if err := json.Unmarshal(raw, &v); err == nil {
		return v, true, nil
	}
	elems, err := setElems(raw)
	if err != nil || len(elems) > 1 {
		return 0, false, columnError(col, raw)
	}
	if len(elems) == 0 {
		return 0, false, nil
	}
	if err := json.Unmarshal(elems[0], &v); err != nil {
		return 0, false, columnError(col, raw)
	}
	return v, true, nil
}

// Ints returns an integer set column (trunks), in server order.
func (r Row) Ints(col string) ([]int64, error) {
	raw, ok := r[col]
	if !ok {
		return nil, nil
	}
	var single int64
	if err := json.Unmarshal(raw, &single); err == nil {
		return []int64{single}, nil
	}
	elems, err := setElems(raw)
	if err != nil {
		return nil, columnError(col, raw)
	}
	out := make([]int64, 0, len(elems))
	for _, e := range elems {
		var v int64
		if err := json.Unmarshal(e, &v); err != nil {
			return nil, columnError(col, raw)
		}
		out = append(out, v)
	}
	return out, nil
}

// UUID returns a single row reference column, such as _uuid.
func (r Row) UUID(col string) (UUID, error) {
	uuids, err := r.UUIDs(col)
	if err != nil {
		return "", err
	}
	switch len(uuids) {
	case 0:
		return "", nil
	case 1:
		return uuids[0], nil
	default:
		return "", fmt.Errorf("column %s: want one uuid, have %d", col, len(uuids))
	}
}

// UUIDs returns a set-of-references column (a bridge's ports, a port's
// interfaces).
func (r Row) UUIDs(col string) ([]UUID, error) {
	raw, ok := r[col]
	if !ok {
		return nil, nil
	}
	if u, ok := decodeUUID(raw); ok {
		return []UUID{u}, nil
	}
	elems, err := setElems(raw)
	if err != nil {
		return nil, columnError(col, raw)
	}
	out := make([]UUID, 0, len(elems))
	for _, e := range elems {
		u, ok := decodeUUID(e)
		if !ok {
			return nil, columnError(col, raw)
		}
		out = append(out, u)
	}
	return out, nil
}

// Map returns a string-to-string map column.
func (r Row) Map(col string) (map[string]string, error) {
	raw, ok := r[col]
	if !ok {
		return map[string]string{}, nil
	}
	var tagged []json.RawMessage
	if err := json.Unmarshal(raw, &tagged); err != nil || len(tagged) != 2 || !hasTag(tagged[0], "map") {
		return nil, columnError(col, raw)
	}
	var pairs [][2]string
	if err := json.Unmarshal(tagged[1], &pairs); err != nil {
		return nil, columnError(col, raw)
	}
	out := make(map[string]string, len(pairs))
	for _, p := range pairs {
		out[p[0]] = p[1]
	}
	return out, nil
}

func decodeUUID(raw json.RawMessage) (UUID, bool) {
	var pair [2]string
	if err := json.Unmarshal(raw, &pair); err != nil || pair[0] != "uuid" {
		return "", false
	}
	return UUID(pair[1]), true
}

// setElems decodes ["set", [...]].
func setElems(raw json.RawMessage) ([]json.RawMessage, error) {
	var tagged []json.RawMessage
	if err := json.Unmarshal(raw, &tagged); err != nil || len(tagged) != 2 || !hasTag(tagged[0], "set") {
		return nil, fmt.Errorf("not a set: %s", raw)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(tagged[1], &elems); err != nil {
		return nil, fmt.Errorf("not a set: %s", raw)
	}
	return elems, nil
}

func hasTag(raw json.RawMessage, tag string) bool {
	var s string
	return json.Unmarshal(raw, &s) == nil && s == tag
}

func columnError(col string, raw json.RawMessage) error {
	const max = 120
	s := string(raw)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Errorf("column %s: unexpected value %s", col, s)
}
