package domain

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/portspec"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseLiveXML reads a live XML as libvirt 9 writes it, with other
// apps' metadata around ours and an interface of another type.
func TestParseLiveXML(t *testing.T) {
	d, err := Parse(readTestdata(t, "live-five-nics.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "web-1" || d.UUID != "0d3b6c1e-5a43-4c8e-9a52-1f2e3d4c5b6a" {
		t.Errorf("identity = %q %q", d.Name, d.UUID)
	}
	type summary struct {
		Tap, Target string
		Mode        portspec.VLANMode
		Port        portspec.PortVLAN
		Check       portspec.SrcCheck
		IPs         []netip.Addr
	}
	var got []summary
	for _, n := range d.NICs {
		if n.DomainUUID != d.UUID || n.DomainName != d.Name {
			t.Errorf("%s: domain identity not carried: %q %q", n.MAC, n.DomainName, n.DomainUUID)
		}
		got = append(got, summary{n.Tap, n.Target(), n.Mode(), n.PortVLAN(), n.SrcCheck, n.IPs})
	}
	want := []summary{
		{"vnet10", "bridge br0", portspec.ModeAccess, portspec.PortVLAN{Tag: 100, Mode: "access"}, portspec.SrcCheckMAC, nil},
		{"vnet11", "wire wire1", portspec.ModeBRTrunk, portspec.PortVLAN{}, portspec.SrcCheckMAC, nil},
		{"vnet12", "bridge br0", portspec.ModeTrunk, portspec.PortVLAN{Trunks: []int{100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210}, Mode: "trunk"}, portspec.SrcCheckMAC, nil},
		{"vnet13", "bridge br0", portspec.ModeAccess, portspec.PortVLAN{Tag: 300, Mode: "access"}, portspec.SrcCheckOn,
			[]netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}},
		{"vnet14", "vpc-port lsp-7f3c9a", portspec.ModeBRTrunk, portspec.PortVLAN{}, portspec.SrcCheckOff, nil},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NICs:\n got %+v\nwant %+v", got, want)
	}
}

func TestNoHostnetMetadata(t *testing.T) {
	x := strings.Replace(string(readTestdata(t, "live-five-nics.xml")), "urn:hostnet:domain:1", "urn:someone-else:1", 1)
	if MentionsHostnet([]byte(x)) {
		t.Fatal("MentionsHostnet true without our namespace")
	}
	d, err := Parse([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.NICs) != 0 {
		t.Errorf("NICs = %+v, want none", d.NICs)
	}
}

// withMetadata builds a small domain: one ethernet NIC (52:54:00:00:00:01,
// tap vnet0), one bridge NIC (...:02), and the given hostnet entries.
func withMetadata(entries string) []byte {
	return []byte(`<domain type='qemu'><name>vm1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
<metadata><hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1">` + entries + `</hostnet:interfaces></metadata>
<devices>
<interface type='ethernet'><mac address='52:54:00:00:00:01'/><target dev='vnet0'/></interface>
<interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='virbr0'/></interface>
<interface type='ethernet'><mac address='52:54:00:00:00:03'/><target dev='vnet0'/></interface>
</devices></domain>`)
}

func TestParseRefusals(t *testing.T) {
	cases := []struct {
		name, entries, want string
	}{
		{"unknown mac", `<hostnet:interface mac="52:54:00:00:00:09" bridge="br0"/>`, "interface 52:54:00:00:00:09: no <interface> of the domain has this MAC"},
		{"wrong type", `<hostnet:interface mac="52:54:00:00:00:02" bridge="br0"/>`, "is <interface type='bridge'>; hostnet plugs only type='ethernet'"},
		{"duplicate entry", `<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"/><hostnet:interface mac="52:54:00:00:00:01" bridge="br1"/>`, "listed twice"},
		{"shared tap", `<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"/><hostnet:interface mac="52:54:00:00:00:03" bridge="br0"/>`, "both use tap vnet0"},
		{"typo attribute", `<hostnet:interface mac="52:54:00:00:00:01" bridge="br0" vlna="100"/>`, `unknown attribute vlna="100"`},
		{"bad vlan names interface", `<hostnet:interface mac="52:54:00:00:00:01" bridge="br0" vlan="5000"/>`, `interface 52:54:00:00:00:01: vlan "5000"`},
		{"ip without address", `<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"><hostnet:ip addr="1.2.3.4"/></hostnet:interface>`, "no address attribute"},
		{"stray element", `<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"><hostnet:vlan id="3"/></hostnet:interface>`, "unexpected element <vlan>"},
		{"missing mac", `<hostnet:interface bridge="br0"/>`, "hostnet:interface #1: mac:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(withMetadata(tc.entries))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), `domain "vm1"`) {
				t.Errorf("error %q does not name the domain", err)
			}
		})
	}
}

// Metadata in a hostnet namespace that is not ours (a typo, another
// version) is refused: ignored, the VM would start with unplugged NICs.
func TestOtherHostnetNamespace(t *testing.T) {
	for _, space := range []string{
		"urn:hostnet:domian:1",
		"urn:hostnet:domain:2",
		"URN:HOSTNET:DOMAIN:1",
		"urn:Hostnet:domain:1",
		"Urn:hostnet:domain:1",
		" urn:hostnet:domain:1",
		"urn:hostnet:domain:1 ",
		"\turn:hostnet:domain:1",
		"\n URN:hostnet:domain:1",
	} {
		t.Run(space, func(t *testing.T) {
			x := bytes.Replace(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"/>`),
				[]byte(`"urn:hostnet:domain:1"`), []byte(`"`+space+`"`), 1)
			if !MentionsHostnet(x) {
				t.Fatal("MentionsHostnet false: the hook would leave the domain alone")
			}
			_, err := Parse(x)
			want := fmt.Sprintf(`domain "vm1": hostnet metadata: <interfaces> is in namespace %q, which this hostnet does not read; write xmlns:hostnet="urn:hostnet:domain:1"`, space)
			if err == nil || err.Error() != want {
				t.Errorf("error %v\nwant %s", err, want)
			}
		})
	}
}

// Only hostnet's own namespace family counts, in any letter case: other
// apps' namespaces that merely look alike are left alone, by the quick
// test and by the parser.
func TestNotHostnetNamespace(t *testing.T) {
	for _, space := range []string{"urn:hostnett:domain:1", "urn:hoſtnet:domain:1", "urn:host-net:domain:1", "xurn:hostnetx", "hostnet:domain:1"} {
		x := bytes.Replace(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"/>`),
			[]byte(`"urn:hostnet:domain:1"`), []byte(`"`+space+`"`), 1)
		if MentionsHostnet(x) {
			t.Errorf("%q: MentionsHostnet true", space)
		}
		if d, err := Parse(x); err != nil || len(d.NICs) != 0 {
			t.Errorf("%q: Parse = %+v, %v; want a domain without NICs", space, d, err)
		}
	}
	for in, want := range map[string]bool{"": false, ":": false, "urn:": false, "urn:hostnet": false, "urn:hostnet:": true, ":urn:HOSTNET:": true,
		"a:b:c:urn:hostnet:": true, "urn:urn:hostnet:": true, "urn::hostnet:": false} {
		if got := MentionsHostnet([]byte(in)); got != want {
			t.Errorf("MentionsHostnet(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestTwoProblemsBothReported(t *testing.T) {
	_, err := Parse(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" bridge="br0" vlan="0" src-check="x"/>`))
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per problem, got %q", err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, `domain "vm1": interface 52:54:00:00:00:01: `) {
			t.Errorf("line %q lacks the domain and interface", l)
		}
	}
}

func TestMalformedXML(t *testing.T) {
	for _, x := range []string{"", "<domain>", "<domain><metadata><hostnet:interfaces xmlns:hostnet='urn:hostnet:domain:1'><hostnet:interface mac='x'></metadata></domain>"} {
		if _, err := Parse([]byte(x)); err == nil {
			t.Errorf("Parse(%q) accepted", x)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(readTestdata(f, "live-five-nics.xml"))
	f.Add(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" bridge="br0" vlan="100"/>`))
	f.Add(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" wire="w" trunks="1-4094"><hostnet:ip address="10.0.0.1"/></hostnet:interface>`))
	f.Add(bytes.Replace(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"/>`), []byte("urn:hostnet:"), []byte(" URN:Hostnet:"), 1))
	f.Fuzz(func(t *testing.T, x []byte) {
		d, err := Parse(x)
		if err != nil {
			if d != nil {
				t.Fatal("error with a domain")
			}
			return
		}
		for _, n := range d.NICs {
			// Everything accepted is a valid spec: it survives its encoding.
			if _, err := portspec.Decode(n.Encode()); err != nil {
				t.Fatalf("accepted NIC %+v does not re-validate: %v", n, err)
			}
		}
	})
}

func TestParseInstanceIgnoresMetadataErrors(t *testing.T) {
	in, err := ParseInstance(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" bridge="br0" vlan="0"/>`))
	if err != nil {
		t.Fatal(err)
	}
	if in.UUID != "11111111-2222-3333-4444-555555555555" || !reflect.DeepEqual(in.Taps, []string{"vnet0", "vnet0"}) {
		t.Errorf("instance = %+v", in)
	}
}

// TestParseInstanceOfBrokenXML: a document cut short still names its
// domain (a stop unplugs by UUID); one without a UUID in its readable start
// is an error.
func TestParseInstanceOfBrokenXML(t *testing.T) {
	full := string(withMetadata(`<hostnet:interface mac="52:54:00:00:00:01" bridge="br0"/>`))
	cut := full[:strings.Index(full, "<devices>")+len("<devices><interf")]
	in, err := ParseInstance([]byte(cut))
	if err != nil {
		t.Fatalf("cut XML: %v", err)
	}
	if in.UUID != "11111111-2222-3333-4444-555555555555" || in.Name == "" {
		t.Errorf("cut XML: instance = %+v, want the domain's name and UUID", in)
	}
	if _, err := ParseInstance([]byte("<domain><name>x</name><devi")); err == nil {
		t.Error("XML without a UUID: no error")
	}
	if _, err := ParseInstance([]byte("not xml <<<")); err == nil {
		t.Error("not XML: no error")
	}
}
