package config

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
)

var validEntryTests = []struct {
	raw    string
	nic    string
	bridge string
	wire   string
	ips    []string
}{
	{"eth0/br0/192.168.222.10", "eth0", "br0", "", []string{"192.168.222.10"}},
	{"eth0/br0/2001:db8::10", "eth0", "br0", "", []string{"2001:db8::10"}},
	{"eth0/br0/192.168.222.10/2001:db8::10", "eth0", "br0", "", []string{"192.168.222.10", "2001:db8::10"}},
	{"eth0/br0/2001:db8::10/192.168.222.10", "eth0", "br0", "", []string{"2001:db8::10", "192.168.222.10"}},
	{"eth1/brpub/wire1", "eth1", "brpub", "wire1", nil},
	{"enp3s0f1/br-data.7/bcast_0", "enp3s0f1", "br-data.7", "bcast_0", nil},
	{"eth1/brpub/" + "w234567890123456789012345678901", "eth1", "brpub", "w234567890123456789012345678901", nil},
	{"eth1/brpub/10", "eth1", "brpub", "10", nil},             // digits only, no dot: a wire
	{"eth1/brpub/10-0-0-1", "eth1", "brpub", "10-0-0-1", nil}, // not an address
	{"eth0/br0/100.64.0.5", "eth0", "br0", "", []string{"100.64.0.5"}},
}

func TestParseEntryValid(t *testing.T) {
	for _, tt := range validEntryTests {
		e, err := ParseEntry(3, tt.raw)
		if err != nil {
			t.Errorf("ParseEntry(%q) = %v", tt.raw, err)
			continue
		}
		var ips []netip.Addr
		for _, s := range tt.ips {
			ips = append(ips, netip.MustParseAddr(s))
		}
		if e.Index != 3 || e.Raw != tt.raw || e.NIC != tt.nic || e.Bridge != tt.bridge || e.Wire != tt.wire || !slices.Equal(e.IPs, ips) {
			t.Errorf("ParseEntry(%q) = %+v, want nic %s bridge %s wire %q ips %v", tt.raw, e, tt.nic, tt.bridge, tt.wire, ips)
		}
		wantForm := FormIP
		if tt.wire != "" {
			wantForm = FormWire
		}
		if e.Form() != wantForm {
			t.Errorf("ParseEntry(%q).Form() = %v, want %v", tt.raw, e.Form(), wantForm)
		}
		if errs := e.validate(); len(errs) > 0 {
			t.Errorf("ParseEntry(%q) result does not re-validate: %v", tt.raw, errs)
		}
	}
}

var invalidEntryTests = []struct {
	raw  string
	want []string // one substring per expected error, in order
}{
	{"", []string{`networks[2]: is empty; write NIC/BRIDGE/IP`}},
	{"eth0", []string{"has 1 part(s)"}},
	{"eth0/br0", []string{"has 2 part(s), an entry has 3 or 4; write NIC/BRIDGE/IP"}},
	{"lo/br0/wire1", []string{"NIC lo is the loopback device, which carries no traffic off the host; name the physical uplink NIC"}},
	{"eth0/lo/10.0.0.5", []string{`networks[2] "eth0/lo/10.0.0.5": bridge lo is the loopback device, which cannot be a bridge; choose another bridge name, e.g. br0`}},
	{"lo/lo/wire1", []string{"NIC lo is the loopback device", "bridge lo is the loopback device"}},
	{"eth0/br0/", []string{`wire "" is empty`}},
	{"eth0//10.0.0.1", []string{`bridge "" is empty`}},
	{"/br0/10.0.0.1", []string{`NIC "" is empty`}},
	{"averyveryverylongnic/br0/10.0.0.1", []string{`NIC "averyveryverylongnic" is 20 bytes long`}},
	{"eth0/br:0/10.0.0.1", []string{`bridge "br:0" contains ':'`}},
	{"eth 0/br 0/wire 1", []string{`NIC "eth 0"`, `bridge "br 0"`, `wire "wire 1" contains ' '`}},
	{"eth0/eth0/10.0.0.1", []string{"NIC and bridge are both eth0; give the bridge its own name, e.g. br0"}},
	{"br0/br0/wire1", []string{"NIC and bridge are both br0; give the bridge its own name, e.g. br1"}},
	{"eth0/br0/10.0.0.5/24", []string{"the prefix comes from the live address on the NIC; write the address alone: \"eth0/br0/10.0.0.5\""}},
	{"eth0/br0/2001:db8::5/64", []string{"write the address alone: \"eth0/br0/2001:db8::5\""}},
	{"eth0/br0/10.0.0.5/24/2001:db8::5/64", []string{"write the address alone: \"eth0/br0/10.0.0.5/2001:db8::5\""}},
	{"eth0/br0/10.0.0.300", []string{`"10.0.0.300" is not a valid IP address`}},
	{"eth0/br0/10.0.0", []string{`"10.0.0" is not a valid IP address`}},
	{"eth0/br0/010.0.0.1", []string{"is not a valid IP address"}},
	{"eth0/br0/fe80::1%eth0", []string{"has a zone"}},
	{"eth0/br0/::ffff:10.0.0.1", []string{"IPv4-mapped IPv6 address; write it as 10.0.0.1"}},
	{"eth0/br0/0.0.0.0", []string{"unspecified"}},
	{"eth0/br0/::", []string{"unspecified"}},
	{"eth0/br0/127.0.0.1", []string{"loopback"}},
	{"eth0/br0/::1", []string{"loopback"}},
	{"eth0/br0/224.0.0.1", []string{"multicast"}},
	{"eth0/br0/169.254.1.1", []string{"link-local"}},
	{"eth0/br0/fe80::1", []string{"link-local"}},
	{"eth0/br0/255.255.255.255", []string{"broadcast"}},
	{"eth0/br0/10.0.0.1/10.0.0.2", []string{"has two IPv4 addresses; list at most one IPv4 and one IPv6 address"}},
	{"eth0/br0/2001:db8::1/2001:db8::2", []string{"has two IPv6 addresses"}},
	{"eth0/br0/10.0.0.1/10.0.0.1", []string{"has two IPv4 addresses"}},
	{"eth0/br0/10.0.0.1/wire1", []string{`"wire1" is not a valid IP address`}},
	{"eth0/br0/wire1/10.0.0.1", []string{`has 4 parts but "wire1" is not an IP address; a wire entry is NIC/BRIDGE/WIRE`}},
	{"eth0/br0/10.0.0.1/2001:db8::1/10.0.0.2", []string{"has 5 parts; an entry has at most 4"}},
	{"eth0/br0/10.0.0.1/1000", []string{`"1000" is not a valid IP address`}},
	{"eth0/br0/" + "w2345678901234567890123456789012", []string{"is 32 bytes long (wire names are 1 to 31 bytes"}},
	{"eth0/br0/wire\n1", []string{`wire "wire\n1" contains '\n'`}},
}

func TestParseEntryInvalid(t *testing.T) {
	for _, tt := range invalidEntryTests {
		e, err := ParseEntry(2, tt.raw)
		if err == nil {
			t.Errorf("ParseEntry(%q) = %+v, want an error", tt.raw, e)
			continue
		}
		t.Run(tt.raw, func(t *testing.T) { wantErrors(t, err, tt.want...) })
		for _, fe := range fieldErrors(t, err) {
			if fe.Field != "networks[2]" || fe.Value != tt.raw || fe.Fix == "" {
				t.Errorf("ParseEntry(%q): error %+v must name networks[2], the raw value and a fix", tt.raw, fe)
			}
		}
	}
}

func TestEntryLabelAndError(t *testing.T) {
	e, err := ParseEntry(1, "eth1/brpub/wire1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Label(), `networks[1] "eth1/brpub/wire1"`; got != want {
		t.Errorf("Label() = %s, want %s", got, want)
	}
	fe := &FieldError{Field: "networks[1]", Value: e.Raw, Problem: "bridge brpub is already used by networks[0]", Fix: "give each entry its own bridge"}
	if got, want := fe.Error(), `networks[1] "eth1/brpub/wire1": bridge brpub is already used by networks[0]; give each entry its own bridge`; got != want {
		t.Errorf("FieldError.Error() = %s\nwant %s", got, want)
	}
	noValue := &FieldError{Field: "host_vlans", Problem: "p"}
	if got := noValue.Error(); got != "host_vlans: p" {
		t.Errorf("FieldError without value or fix = %q", got)
	}
}

func TestFormText(t *testing.T) {
	if FormIP.String() != "ip" || FormWire.String() != "wire" || Form(0).String() != "Form(0)" {
		t.Errorf("Form strings: %s %s %s", FormIP, FormWire, Form(0))
	}
	b, err := json.Marshal(map[string]Form{"a": FormIP, "b": FormWire})
	if err != nil || string(b) != `{"a":"ip","b":"wire"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	if _, err := json.Marshal(Form(7)); err == nil {
		t.Error("marshalling an unknown Form succeeded")
	}
}
