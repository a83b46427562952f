package netstate

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func v4route(dst, gw, dev string) Route {
	r := Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: pfx(dst), Dev: dev,
		Protocol: unix.RTPROT_BOOT}
	if gw != "" {
		r.Gw = ip(gw)
	} else {
		r.Scope = unix.RT_SCOPE_LINK
	}
	return r
}

func TestKernelOwned(t *testing.T) {
	cases := []struct {
		name string
		r    Route
		want bool
	}{
		{"static default", v4route("0.0.0.0/0", "192.0.2.1", "eth0"), false},
		{"prefix route", Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Dst: pfx("192.0.2.0/24"), Dev: "eth0", Protocol: unix.RTPROT_KERNEL}, true},
		{"local table", Route{Family: unix.AF_INET, Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL, Dst: pfx("192.0.2.10/32"), Dev: "eth0", Protocol: unix.RTPROT_KERNEL}, true},
		{"v6 link-local static-looking", Route{Family: unix.AF_INET6, Table: unix.RT_TABLE_MAIN, Dst: pfx("fe80::/64"), Dev: "eth0", Protocol: unix.RTPROT_BOOT}, true},
		{"v6 multicast", Route{Family: unix.AF_INET6, Table: unix.RT_TABLE_MAIN, Dst: pfx("ff00::/8"), Dev: "eth0", Protocol: unix.RTPROT_BOOT}, true},
		{"v6 ra default", Route{Family: unix.AF_INET6, Table: unix.RT_TABLE_MAIN, Dst: pfx("::/0"), Gw: ip("fe80::1"), Dev: "eth0", Protocol: unix.RTPROT_RA}, false},
		{"redirect", Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Dst: pfx("10.0.0.0/8"), Dev: "eth0", Protocol: unix.RTPROT_REDIRECT}, true},
		{"other table", func() Route { r := v4route("10.0.0.0/8", "192.0.2.1", "eth0"); r.Table = 100; return r }(), false},
	}
	for _, c := range cases {
		if got := c.r.KernelOwned(); got != c.want {
			t.Errorf("%s: KernelOwned() = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAddrFor(t *testing.T) {
	a := Addr{Prefix: pfx("192.0.2.10/24"), Label: "eth0:1", Flags: unix.IFA_F_SECONDARY | unix.IFA_F_PERMANENT | unix.IFA_F_NOPREFIXROUTE}
	got := a.For("eth0", "br0")
	if got.Label != "br0:1" {
		t.Errorf("label = %q, want br0:1", got.Label)
	}
	if got.Flags != unix.IFA_F_NOPREFIXROUTE {
		t.Errorf("flags = %#x, want only noprefixroute (secondary and permanent are kernel state)", got.Flags)
	}
	v6 := Addr{Prefix: pfx("2001:db8::10/64"), Flags: unix.IFA_F_PERMANENT, PreferredLft: 100, ValidLft: 200}
	g6 := v6.For("eth0", "br0")
	if g6.Flags != unix.IFA_F_NODAD {
		t.Errorf("v6 flags = %#x, want nodad: a moving address must not go tentative", g6.Flags)
	}
	if g6.PreferredLft != 100 || g6.ValidLft != 200 {
		t.Errorf("lifetimes not kept: %+v", g6)
	}
	// A label that does not start with the device name gets the new name;
	// a long one is cut at the kernel's limit.
	if l := relabel("other", "eth0", "br0"); l != "br0" {
		t.Errorf("relabel(other) = %q", l)
	}
	if l := relabel("eth0:averylonglabel", "eth0", "brpublic1"); len(l) != 15 {
		t.Errorf("relabel long = %q (%d bytes), want 15 bytes", l, len(l))
	}
	if l := relabel("eth01", "eth0", "br0"); l != "br0" {
		t.Errorf("relabel(eth01) = %q: eth01 is not a label of eth0", l)
	}
}

func TestMovable(t *testing.T) {
	for s, want := range map[string]bool{"192.0.2.1/24": true, "fe80::1/64": false, "2001:db8::1/64": true, "169.254.1.1/16": true} {
		if got := (Addr{Prefix: pfx(s)}).Movable(); got != want {
			t.Errorf("%s: Movable() = %v, want %v", s, got, want)
		}
	}
}

func TestMoveStepsOrder(t *testing.T) {
	prim := Addr{Prefix: pfx("192.0.2.10/24"), Label: "eth0"}
	sec := Addr{Prefix: pfx("192.0.2.11/24"), Label: "eth0", Flags: unix.IFA_F_SECONDARY}
	v6 := Addr{Prefix: pfx("2001:db8::10/64")}
	def := v4route("0.0.0.0/0", "192.0.2.1", "eth0")
	link := v4route("10.5.0.0/24", "", "eth0")
	via := v4route("10.6.0.0/24", "10.5.0.1", "eth0")
	onlink := v4route("10.7.0.0/24", "198.51.100.1", "eth0")
	onlink.OnLink = true
	h := &Host{Links: map[string]*Link{
		"eth0": {Name: "eth0", Addrs: []Addr{sec, prim, v6}}, // secondary listed first on purpose
		"br0":  {Name: "br0"},
	}, Routes: []Route{def, via, onlink, link}}
	m := Move{From: "eth0", To: "br0", Addrs: []Addr{sec, prim, v6}, Routes: []Route{def, via, onlink, link}}
	steps := m.Steps(h)
	var got []string
	for _, s := range steps {
		got = append(got, s.String())
	}
	want := []string{
		"add address 192.0.2.10/24 to br0",
		"add address 2001:db8::10/64 to br0",
		"add address 192.0.2.11/24 to br0",
		"remove address 192.0.2.11/24 from eth0",
		"remove address 2001:db8::10/64 from eth0",
		"remove address 192.0.2.10/24 from eth0",
		"remove route 10.7.0.0/24 via 198.51.100.1 dev eth0 onlink",
		"remove route 10.6.0.0/24 via 10.5.0.1 dev eth0",
		"remove route default via 192.0.2.1 dev eth0",
		"remove route 10.5.0.0/24 dev eth0 scope 253",
		"add route 10.5.0.0/24 dev br0 scope 253",
		"add route default via 192.0.2.1 dev br0",
		"add route 10.6.0.0/24 via 10.5.0.1 dev br0",
		"add route 10.7.0.0/24 via 198.51.100.1 dev br0 onlink",
	}
	if len(got) != len(want) {
		t.Fatalf("steps:\n%q\nwant:\n%q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %q, want %q", i, got[i], want[i])
		}
	}
	if steps[0].Addr.Label != "br0" {
		t.Errorf("label on br0 = %q", steps[0].Addr.Label)
	}
	if steps[1].Addr.Flags&unix.IFA_F_NODAD == 0 {
		t.Errorf("v6 address added without nodad")
	}
}

func TestMoveStepsResume(t *testing.T) {
	prim := Addr{Prefix: pfx("192.0.2.10/24")}
	def := v4route("0.0.0.0/0", "192.0.2.1", "eth0")
	m := Move{From: "eth0", To: "br0", Addrs: []Addr{prim}, Routes: []Route{def}}
	// Interrupted after the address moved: the kernel flushed eth0's routes
	// with its last address; only the journal remembers the default route.
	h := &Host{Links: map[string]*Link{"eth0": {Name: "eth0"}, "br0": {Name: "br0", Addrs: []Addr{prim}}}}
	steps := m.Steps(h)
	if len(steps) != 1 || steps[0].Kind != AddRoute || steps[0].Route.Dev != "br0" {
		t.Fatalf("steps = %v, want only the default route added on br0", steps)
	}
	h.Routes = append(h.Routes, def.Retarget("eth0", "br0"))
	if steps := m.Steps(h); len(steps) != 0 {
		t.Fatalf("a finished move has steps: %v", steps)
	}
}

func TestMoveReverse(t *testing.T) {
	a := Addr{Prefix: pfx("192.0.2.10/24"), Label: "eth0:x"}
	mp := Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: pfx("10.0.0.0/8"),
		Hops: []Hop{{Dev: "eth0", Gw: ip("192.0.2.1"), Weight: 1}, {Dev: "eth1", Gw: ip("198.51.100.1"), Weight: 2}}}
	m := Move{From: "eth0", To: "br0", Addrs: []Addr{a}, Routes: []Route{mp}}
	done := &Host{Links: map[string]*Link{"eth0": {Name: "eth0"}, "br0": {Name: "br0", Addrs: []Addr{{Prefix: a.Prefix, Label: "br0:x"}}}},
		Routes: []Route{mp.Retarget("eth0", "br0")}}
	steps := m.Reverse().Steps(done)
	var kinds []StepKind
	for _, s := range steps {
		kinds = append(kinds, s.Kind)
	}
	if len(steps) != 4 {
		t.Fatalf("reverse steps = %v", steps)
	}
	if steps[0].Dev != "eth0" || steps[0].Addr.Label != "eth0:x" {
		t.Errorf("address goes back as %s label %q", steps[0].Dev, steps[0].Addr.Label)
	}
	if r := steps[3].Route; r.Hops[0].Dev != "eth0" || r.Hops[1].Dev != "eth1" {
		t.Errorf("multipath route back = %v, want the eth0 hop restored and the eth1 hop untouched", r)
	}
	if !mp.Uses("eth1") || mp.Retarget("eth0", "br0").Uses("eth0") {
		t.Errorf("Uses/Retarget on multipath hops wrong")
	}
}

func TestLinkScopeFirstStable(t *testing.T) {
	a := v4route("10.1.0.0/24", "10.0.0.1", "eth0")
	b := v4route("10.2.0.0/24", "", "eth0")
	c := v4route("10.3.0.0/24", "10.0.0.1", "eth0")
	d := v4route("10.4.0.0/24", "", "eth0")
	got := LinkScopeFirst([]Route{a, b, c, d})
	want := []Route{b, d, a, c}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("order = %v, want %v", got, want)
		}
	}
}
