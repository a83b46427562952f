package ovsdb

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestEncodeValues(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"uuid", UUID("a-b"), `["uuid","a-b"]`},
		{"named uuid", NamedUUID("p0"), `["named-uuid","p0"]`},
		{"empty set", Set{}, `["set",[]]`},
		{"nil set", Set(nil), `["set",[]]`},
		{"int set", Set{100, 200}, `["set",[100,200]]`},
		{"map sorted", Map{"b": "2", "a": "1"}, `["map",[["a","1"],["b","2"]]]`},
		{"select without where", Select("Bridge", nil, "name"), `{"columns":["name"],"op":"select","table":"Bridge","where":[]}`},
		{"mutate", Mutate("Bridge", []Condition{Equal("name", "br0")}, MutateInsert("ports", Set{NamedUUID("p")})),
			`{"mutations":[["ports","insert",["set",[["named-uuid","p"]]]]],"op":"mutate","table":"Bridge","where":[["name","==","br0"]]}`},
		{"insert", Insert("Port", "p", map[string]any{"name": "vnet0"}), `{"op":"insert","row":{"name":"vnet0"},"table":"Port","uuid-name":"p"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestRowGetters(t *testing.T) {
	row := Row{
		"_uuid":        json.RawMessage(`["uuid","u1"]`),
		"name":         json.RawMessage(`"vnet0"`),
		"vlan_mode":    json.RawMessage(`["set",[]]`),
		"tag":          json.RawMessage(`100`),
		"no_tag":       json.RawMessage(`["set",[]]`),
		"trunks":       json.RawMessage(`["set",[100,200]]`),
		"one_trunk":    json.RawMessage(`7`),
		"interfaces":   json.RawMessage(`["set",[["uuid","i1"],["uuid","i2"]]]`),
		"one_iface":    json.RawMessage(`["uuid","i1"]`),
		"external_ids": json.RawMessage(`["map",[["attached-mac","52:54:00:00:00:01"]]]`),
		"bad":          json.RawMessage(`{"x":1}`),
	}
	if u, err := row.UUID("_uuid"); err != nil || u != "u1" {
		t.Errorf("UUID = %q, %v", u, err)
	}
	if s, err := row.String("name"); err != nil || s != "vnet0" {
		t.Errorf("String(name) = %q, %v", s, err)
	}
	if s, err := row.String("vlan_mode"); err != nil || s != "" {
		t.Errorf("String(empty optional) = %q, %v", s, err)
	}
	if v, ok, err := row.Int("tag"); err != nil || !ok || v != 100 {
		t.Errorf("Int(tag) = %d %v %v", v, ok, err)
	}
	if _, ok, err := row.Int("no_tag"); err != nil || ok {
		t.Errorf("Int(empty optional) ok=%v err=%v", ok, err)
	}
	if v, err := row.Ints("trunks"); err != nil || !reflect.DeepEqual(v, []int64{100, 200}) {
		t.Errorf("Ints(trunks) = %v, %v", v, err)
	}
	if v, err := row.Ints("one_trunk"); err != nil || !reflect.DeepEqual(v, []int64{7}) {
		t.Errorf("Ints(single) = %v, %v", v, err)
	}
	if v, err := row.UUIDs("interfaces"); err != nil || !reflect.DeepEqual(v, []UUID{"i1", "i2"}) {
		t.Errorf("UUIDs = %v, %v", v, err)
	}
	if v, err := row.UUIDs("one_iface"); err != nil || !reflect.DeepEqual(v, []UUID{"i1"}) {
		t.Errorf("UUIDs(single) = %v, %v", v, err)
	}
	if m, err := row.Map("external_ids"); err != nil || m["attached-mac"] != "52:54:00:00:00:01" {
		t.Errorf("Map = %v, %v", m, err)
	}
	for _, get := range []func() error{
		func() error { _, err := row.String("bad"); return err },
		func() error { _, _, err := row.Int("bad"); return err },
		func() error { _, err := row.Map("bad"); return err },
		func() error { _, err := row.UUIDs("bad"); return err },
	} {
		if get() == nil {
			t.Errorf("a getter accepted a malformed column")
		}
	}
}

func TestResultDecodesErrors(t *testing.T) {
	var rs []Result
	if err := json.Unmarshal([]byte(`[{"uuid":["uuid","x"]},{"count":1},null,{"error":"constraint violation","details":"no"}]`), &rs); err != nil {
		t.Fatal(err)
	}
	if rs[0].UUID != "x" || rs[1].Count != 1 || rs[3].Error != "constraint violation" {
		t.Errorf("decoded %+v", rs)
	}
}
