package portspec

import (
	"errors"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func attrs(kv ...string) Attrs {
	a := Attrs{Values: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == AttrIP {
			a.IPs = append(a.IPs, kv[i+1])
			continue
		}
		a.Values[kv[i]] = kv[i+1]
	}
	return a
}

func TestFromAttrsDefaultsAndModes(t *testing.T) {
	cases := []struct {
		name  string
		in    Attrs
		mode  VLANMode
		port  PortVLAN
		check SrcCheck
	}{
		{"brtrunk default", attrs("mac", "52:54:00:00:00:01", "bridge", "br0"), ModeBRTrunk, PortVLAN{}, SrcCheckMAC},
		{"vlan 1 explicit", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "1"), ModeBRTrunk, PortVLAN{}, SrcCheckMAC},
		{"access", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "100"), ModeAccess, PortVLAN{Tag: 100, Mode: "access"}, SrcCheckMAC},
		{"trunk list", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "100,200-202"), ModeTrunk,
			PortVLAN{Trunks: []int{100, 200, 201, 202}, Mode: "trunk"}, SrcCheckMAC},
		{"native untagged adds native vlan", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "300", "trunks", "100"), ModeNativeUntagged,
			PortVLAN{Tag: 300, Trunks: []int{100, 300}, Mode: "native-untagged"}, SrcCheckMAC},
		{"ips default to src-check on", attrs("mac", "52:54:00:00:00:01", "wire", "wire1", "ip", "192.0.2.10"), ModeBRTrunk, PortVLAN{}, SrcCheckOn},
		{"explicit off", attrs("mac", "52:54:00:00:00:01", "vpc-port", "lsp-1", "ip", "192.0.2.10", "src-check", "off"), ModeBRTrunk, PortVLAN{}, SrcCheckOff},
		{"vpc-port defaults to off", attrs("mac", "52:54:00:00:00:01", "vpc-port", "lsp-1"), ModeBRTrunk, PortVLAN{}, SrcCheckOff},
		{"vpc-port with ips still off", attrs("mac", "52:54:00:00:00:01", "vpc-port", "lsp-1", "ip", "192.0.2.10"), ModeBRTrunk, PortVLAN{}, SrcCheckOff},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := FromAttrs(tc.in)
			if err != nil {
				t.Fatalf("FromAttrs: %v", err)
			}
			if s.Mode() != tc.mode {
				t.Errorf("mode = %s, want %s", s.Mode(), tc.mode)
			}
			if got := s.PortVLAN(); !reflect.DeepEqual(got, tc.port) {
				t.Errorf("PortVLAN = %+v, want %+v", got, tc.port)
			}
			if s.SrcCheck != tc.check {
				t.Errorf("src-check = %s, want %s", s.SrcCheck, tc.check)
			}
		})
	}
}

func TestFromAttrsRefusals(t *testing.T) {
	cases := []struct {
		name string
		in   Attrs
		want string // a fragment of the message: names the attribute and the value
	}{
		{"no target", attrs("mac", "52:54:00:00:00:01"), "names no bridge, wire or vpc-port"},
		{"two targets", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "wire", "w1"), `bridge="br0" and wire="w1"`},
		{"bad mac", attrs("mac", "52:54:00:zz", "bridge", "br0"), `"52:54:00:zz" is not an Ethernet MAC`},
		{"multicast mac", attrs("mac", "01:00:5e:00:00:01", "bridge", "br0"), "multicast"},
		{"vlan 0", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "0"), `vlan "0"`},
		{"vlan 4095", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "4095"), `vlan "4095"`},
		{"vlan text", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "100;tag=5"), `vlan "100;tag=5"`},
		{"trunk reversed", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "210-200"), `"210-200"`},
		{"trunk empty", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", ""), "is empty"},
		{"bridge injection", attrs("mac", "52:54:00:00:00:01", "bridge", "br0 -- del-br x"), "bridge:"},
		{"bridge too long", attrs("mac", "52:54:00:00:00:01", "bridge", "abcdefghijklmnop"), "bridge:"},
		{"tap injection", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "tap", "vnet0,tag=5"), "tap:"},
		{"vpc injection", attrs("mac", "52:54:00:00:00:01", "vpc-port", `lsp"x`), "vpc-port"},
		{"vpc with vlan", attrs("mac", "52:54:00:00:00:01", "vpc-port", "lsp", "vlan", "100"), "take no vlan"},
		{"vpc with src-check mac", attrs("mac", "52:54:00:00:00:01", "vpc-port", "lsp", "src-check", "mac"), `src-check "mac" on a vpc-port NIC`},
		{"vpc with src-check on", attrs("mac", "52:54:00:00:00:01", "vpc-port", "lsp", "ip", "192.0.2.1", "src-check", "on"), "port_security on logical port lsp"},
		{"bad src-check", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "src-check", "yes"), `src-check "yes"`},
		{"on without ips", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "src-check", "on"), "src-check on lists no ip"},
		{"ip with prefix", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "ip", "192.0.2.10/24"), `ip "192.0.2.10/24"`},
		{"link-local ip", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "ip", "fe80::1"), "link-local"},
		{"duplicate ip", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "ip", "192.0.2.1", "ip", "192.0.2.1"), "listed twice"},
		{"all-zero mac", attrs("mac", "00:00:00:00:00:00", "bridge", "br0"), `mac: "00:00:00:00:00:00" is the all-zero MAC address, which no NIC may use; give the NIC its own unicast MAC`},
		{"all-zero mac, other spelling", attrs("mac", "0000.0000.0000", "bridge", "br0"), `"0000.0000.0000" is the all-zero MAC`},
		{"limited broadcast ip", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "ip", "255.255.255.255"), "ip 255.255.255.255 is the limited broadcast address, never a NIC's own; list the VM's unicast addresses"},
		{"limited broadcast, v4-mapped", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "ip", "::ffff:255.255.255.255"), "ip 255.255.255.255 is the limited broadcast"},
		{"vlan leading space and zero", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", " 0100"), `vlan " 0100" is not written as a plain VLAN ID; write 100 (decimal digits only: no sign, spaces or leading zeros)`},
		{"vlan plus sign", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "+100"), `vlan "+100" is not written as a plain VLAN ID; write 100`},
		{"vlan leading zero", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "0100"), `vlan "0100" is not written as a plain VLAN ID; write 100`},
		{"vlan trailing space", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "100 "), `vlan "100 " is not written as a plain VLAN ID; write 100`},
		{"vlan minus sign", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "-100"), `vlan "-100" is not a VLAN ID; use 1..4094`},
		{"vlan zeros", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "0000"), `vlan "0000" is not a VLAN ID`},
		{"vlan empty", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", ""), `vlan "" is not a VLAN ID`},
		{"vlan 04094", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "04094"), `vlan "04094" is not written as a plain VLAN ID; write 4094`},
		{"trunks with spaces", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", " 7 , 9-10 , 8 "),
			`trunks " 7 , 9-10 , 8 " is not written as a plain VLAN list; write 7-10 (decimal digits, commas and dashes only: no signs, spaces or leading zeros)`},
		{"trunks with a sign", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "+100,200"), `trunks "+100,200" is not written as a plain VLAN list; write 100,200`},
		{"trunks with leading zeros", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "010-020"), `write 10-20`},
		{"trunks with an empty element", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "100,,200"), `trunks "100,,200": "" is not a VLAN`},
		{"trunks range of nothing", attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "100-"), `"100-" is not a VLAN or a range`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromAttrs(tc.in)
			if err == nil {
				t.Fatalf("accepted %+v", tc.in)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestTrunksRoundTrip(t *testing.T) {
	for in, want := range map[string]string{
		"100":              "100",
		"200-210,100":      "100,200-210",
		"1,2,3,5":          "1-3,5",
		"7,9-10,8":         "7-10",
		"4094,4093,1-1,42": "1,42,4093-4094",
	} {
		v, err := ParseTrunks(in)
		if err != nil {
			t.Fatalf("ParseTrunks(%q): %v", in, err)
		}
		if got := FormatTrunks(v); got != want {
			t.Errorf("FormatTrunks(ParseTrunks(%q)) = %q, want %q", in, got, want)
		}
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	s, err := FromAttrs(attrs("mac", "52:54:00:AA:00:04", "bridge", "br0", "vlan", "300", "trunks", "100,200-210",
		"ip", "192.0.2.10", "ip", "2001:db8::10"))
	if err != nil {
		t.Fatal(err)
	}
	enc := s.Encode()
	if want := "mac=52:54:00:aa:00:04 bridge=br0 vlan=300 trunks=100,200-210 src-check=on ip=192.0.2.10,2001:db8::10"; enc != want {
		t.Fatalf("Encode = %q, want %q", enc, want)
	}
	back, err := Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("Decode(Encode) = %+v, want %+v", back, s)
	}
	if back.IPs[1] != netip.MustParseAddr("2001:db8::10") {
		t.Errorf("ip order lost: %v", back.IPs)
	}
	for _, bad := range []string{"mac=52:54:00:00:00:01 bridge=br0 color=red", "mac=52:54:00:00:00:01 bridge", "mac=52:54:00:00:00:01 bridge=br0 bridge=br1"} {
		if _, err := Decode(bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}

func FuzzFromAttrs(f *testing.F) {
	f.Add("52:54:00:00:00:01", "br0", "", "", "100", "200-210", "on", "192.0.2.1")
	f.Add("52:54:00:00:00:01", "", "wire1", "", "1", "", "", "")
	f.Add("zz", "br0;x", "", "lsp", "4095", "1-", "maybe", "fe80::1")
	f.Fuzz(func(t *testing.T, mac, bridge, wire, vpc, vlan, trunks, src, ip string) {
		a := Attrs{Values: map[string]string{"mac": mac, "bridge": bridge, "wire": wire, "vpc-port": vpc, "vlan": vlan, "src-check": src}}
		if trunks != "" {
			a.Values["trunks"] = trunks
		}
		if ip != "" {
			a.IPs = []string{ip}
		}
		s, err := FromAttrs(a)
		if err != nil {
			return
		}
		// Whatever is accepted survives the canonical encoding unchanged.
		back, err := Decode(s.Encode())
		if err != nil {
			t.Fatalf("Decode(Encode(%+v)): %v", s, err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("round trip changed %+v into %+v", s, back)
		}
		if s.VLAN < 1 || s.VLAN > 4094 {
			t.Fatalf("accepted vlan %d", s.VLAN)
		}
		// Only the plain form is accepted: it is what Encode writes.
		if strconv.Itoa(s.VLAN) != vlan {
			t.Fatalf("accepted vlan %q as %d", vlan, s.VLAN)
		}
		if trunks != "" && FormatTrunks(s.Trunks) != trunks && strings.ContainsAny(trunks, " +\t") {
			t.Fatalf("accepted trunks %q", trunks)
		}
		if s.MAC == "00:00:00:00:00:00" {
			t.Fatalf("accepted the all-zero MAC %q", mac)
		}
	})
}

// TestAttrErrors: each problem with one value names its attribute as a
// typed error (hostnet-plug turns it into the flag), cross-field ones don't.
func TestAttrErrors(t *testing.T) {
	cases := []struct {
		in   Attrs
		attr string // "" = not about one attribute
	}{
		{attrs("mac", "zz", "bridge", "br0"), AttrMAC},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "tap", "a,b"), AttrTap},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br 0"), AttrBridge},
		{attrs("mac", "52:54:00:00:00:01", "wire", "w 1"), AttrWire},
		{attrs("mac", "52:54:00:00:00:01", "vpc-port", `l"x`), AttrVPCPort},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "0"), AttrVLAN},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "9-1"), AttrTrunks},
		{attrs("mac", "00:00:00:00:00:00", "bridge", "br0"), AttrMAC},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "vlan", "+100"), AttrVLAN},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "trunks", "100, 200"), AttrTrunks},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "ip", "255.255.255.255"), AttrIP},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "ip", "x"), AttrIP},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "src-check", "yes"), AttrSrcCheck},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "src-check", "on"), AttrSrcCheck},
		{attrs("mac", "52:54:00:00:00:01"), ""},
		{attrs("mac", "52:54:00:00:00:01", "bridge", "br0", "wire", "w1"), ""},
	}
	for _, tc := range cases {
		_, err := FromAttrs(tc.in)
		var ae *AttrError
		switch {
		case err == nil:
			t.Errorf("%+v: accepted", tc.in)
		case tc.attr == "" && errors.As(err, &ae):
			t.Errorf("%+v: %v is an AttrError for %s", tc.in, err, ae.Attr)
		case tc.attr != "" && (!errors.As(err, &ae) || ae.Attr != tc.attr):
			t.Errorf("%+v: %v is not an AttrError for %s", tc.in, err, tc.attr)
		case tc.attr != "" && !strings.HasPrefix(ae.Error(), tc.attr):
			t.Errorf("%+v: message %q does not start with %s", tc.in, ae, tc.attr)
		}
	}
}

func TestValidateVPCPort(t *testing.T) {
	long := strings.Repeat("a", 128)
	for name, ok := range map[string]bool{
		"lsp-7f3c9a": true, "0b1c2d3e-0000-4000-8000-000000000001": true, "a": true, "A_b.c:d-e": true, long: true,
		"": false, long + "a": false, "-lsp": false, "_lsp": false, ".lsp": false, "lsp 1": false, "lsp;rm": false,
		"lsp\n": false, "lsp=1": false, "lsp,2": false, "lsp\"": false, "lspé": false,
	} {
		if err := ValidateVPCPort(name); (err == nil) != ok {
			t.Errorf("ValidateVPCPort(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

// Every canonical VLAN ID parses to itself; nothing else parses.
func TestParseVLANPlainOnly(t *testing.T) {
	for n := 1; n <= 4094; n++ {
		got, err := ParseVLAN(strconv.Itoa(n))
		if err != nil || got != n {
			t.Fatalf("ParseVLAN(%d) = %d, %v", n, got, err)
		}
	}
	for _, v := range []string{"0", "4095", "10000", "00", "01", "1 ", " 1", "1\n", "+1", "-1", "1e2", "0x10", "１"} {
		if n, err := ParseVLAN(v); err == nil {
			t.Errorf("ParseVLAN(%q) = %d, want a refusal", v, n)
		}
	}
}
