package ovsdb

import (
	"encoding/json"
	"fmt"
)

// Condition is one clause of a where: [column, function, value].
type Condition [3]any

// Equal matches rows whose column equals value.
func Equal(column string, value any) Condition { return Condition{column, "==", value} }

// NotEqual matches rows whose column differs from value.
func NotEqual(column string, value any) Condition { return Condition{column, "!=", value} }

// Includes matches rows whose set column includes value.
func Includes(column string, value any) Condition { return Condition{column, "includes", value} }

// Mutation is one change of a mutate: [column, mutator, value].
type Mutation [3]any

// MutateInsert adds elements to a set or pairs to a map.
func MutateInsert(column string, value any) Mutation { return Mutation{column, "insert", value} }

// MutateDelete removes elements from a set, or keys (a Set of strings) or
// pairs (a Map) from a map.
func MutateDelete(column string, value any) Mutation { return Mutation{column, "delete", value} }

// MutateAdd adds to an integer column.
func MutateAdd(column string, n int) Mutation { return Mutation{column, "+=", n} }

// Operation is one operation of a transaction. Build it with the
// constructors below; each encodes exactly the members RFC 7047 requires
// for its kind.
type Operation struct {
	op        string
	table     string
	where     []Condition
	row       map[string]any
	columns   []string
	mutations []Mutation
	uuidName  string
	until     string
	rows      []map[string]any
	timeout   *int
	comment   string
}

// Insert creates a row; name lets later operations of the same transaction
// refer to it as NamedUUID(name).
func Insert(table, name string, row map[string]any) Operation {
	return Operation{op: "insert", table: table, row: row, uuidName: name}
}

// Select reads columns of the rows matching where (all columns when none
// are given).
func Select(table string, where []Condition, columns ...string) Operation {
	return Operation{op: "select", table: table, where: where, columns: columns}
}

// Update sets columns of the rows matching where.
func Update(table string, where []Condition, row map[string]any) Operation {
	return Operation{op: "update", table: table, where: where, row: row}
}

// Mutate changes columns of the rows matching where in place.
func Mutate(table string, where []Condition, mutations ...Mutation) Operation {
	return Operation{op: "mutate", table: table, where: where, mutations: mutations}
}

// Delete removes the rows matching where.
func Delete(table string, where []Condition) Operation {
	return Operation{op: "delete", table: table, where: where}
}

// WaitUntilEqual makes the transaction fail at once (timeout 0) unless the
// rows matching where have exactly the given column values: an optimistic
// precondition for a read-then-write.
func WaitUntilEqual(table string, where []Condition, columns []string, rows []map[string]any) Operation {
	zero := 0
	return Operation{op: "wait", table: table, where: where, columns: columns, until: "==", rows: rows, timeout: &zero}
}

// Comment records text in the database log (ovsdb-tool show-log).
func Comment(text string) Operation { return Operation{op: "comment", comment: text} }

// Kind returns the operation's name ("insert", "select", ...).
func (o Operation) Kind() string { return o.op }

// Table returns the table the operation works on.
func (o Operation) Table() string { return o.table }

// MarshalJSON encodes the operation as RFC 7047 section 5.2 describes it.
func (o Operation) MarshalJSON() ([]byte, error) {
	m := map[string]any{"op": o.op}
	where := o.where
	if where == nil {
		where = []Condition{}
	}
	switch o.op {
	case "insert":
		m["table"], m["row"] = o.table, o.row
		if o.uuidName != "" {
			m["uuid-name"] = o.uuidName
		}
	case "select":
		m["table"], m["where"] = o.table, where
		if len(o.columns) > 0 {
			m["columns"] = o.columns
		}
	case "update":
		m["table"], m["where"], m["row"] = o.table, where, o.row
	case "mutate":
		m["table"], m["where"], m["mutations"] = o.table, where, o.mutations
	case "delete":
		m["table"], m["where"] = o.table, where
	case "wait":
		m["table"], m["where"], m["columns"], m["until"], m["rows"] = o.table, where, o.columns, o.until, o.rows
		if o.timeout != nil {
			m["timeout"] = *o.timeout
		}
	case "comment":
		m["comment"] = o.comment
	default:
		return nil, fmt.Errorf("ovsdb: unknown operation %q", o.op)
	}
	return json.Marshal(m)
}

// Result is the outcome of one operation.
type Result struct {
	UUID    UUID  // insert: the new row
	Count   int   // update, mutate, delete: rows touched
	Rows    []Row // select
	Error   string
	Details string
}

type wireResult struct {
	UUID    json.RawMessage `json:"uuid"`
	Count   int             `json:"count"`
	Rows    []Row           `json:"rows"`
	Error   string          `json:"error"`
	Details string          `json:"details"`
}

// UnmarshalJSON decodes one element of a transact reply.
func (r *Result) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var w wireResult
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Result{Count: w.Count, Rows: w.Rows, Error: w.Error, Details: w.Details}
	if len(w.UUID) > 0 {
		u, ok := decodeUUID(w.UUID)
		if !ok {
			return fmt.Errorf("ovsdb: bad uuid in result: %s", w.UUID)
		}
		r.UUID = u
	}
	return nil
}
