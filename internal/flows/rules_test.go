package flows

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/portspec"
)

func spec(check portspec.SrcCheck, ips ...string) portspec.PortSpec {
	s := portspec.PortSpec{MAC: "52:54:00:00:00:04", Bridge: "br0", VLAN: 1, SrcCheck: check}
	for _, ip := range ips {
		s.IPs = append(s.IPs, netip.MustParseAddr(ip))
	}
	return s
}

func texts(t *testing.T, s portspec.PortSpec) []string {
	t.Helper()
	rules, err := Rules(s, 7)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rules {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatalf("marshal %+v: %v", r, err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestCookie(t *testing.T) {
	c, err := Cookie("52:54:00:00:00:04")
	if err != nil || c != 0x484e525400000004 {
		t.Fatalf("Cookie = %#x, %v", c, err)
	}
	if mac := macOfCookie(c); mac != "52:54:00:00:00:04" {
		t.Errorf("macOfCookie = %s", mac)
	}
	if _, err := Cookie("nope"); err == nil {
		t.Error("Cookie accepted a bad MAC")
	}
}

func TestRulesOff(t *testing.T) {
	if got := texts(t, spec(portspec.SrcCheckOff, "192.0.2.10")); len(got) != 0 {
		t.Errorf("off installs %v", got)
	}
}

func TestRulesMAC(t *testing.T) {
	got := texts(t, spec(portspec.SrcCheckMAC))
	want := []string{
		"priority=30100,in_port=7,dl_src=52:54:00:00:00:04,table=0,idle_timeout=0,cookie=0x484e525400000004,actions=normal",
		"priority=30000,in_port=7,table=0,idle_timeout=0,cookie=0x484e525400000004,actions=drop",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRulesOn(t *testing.T) {
	got := strings.Join(texts(t, spec(portspec.SrcCheckOn, "192.0.2.10", "2001:db8::10")), "\n")
	for _, want := range []string{
		"ip,in_port=7,dl_src=52:54:00:00:00:04,nw_src=192.0.2.10,",
		"arp,in_port=7,dl_src=52:54:00:00:00:04,arp_spa=192.0.2.10,arp_sha=52:54:00:00:00:04,",
		"arp,in_port=7,dl_src=52:54:00:00:00:04,arp_spa=0.0.0.0,",
		"udp,in_port=7,dl_src=52:54:00:00:00:04,nw_src=0.0.0.0,tp_src=68,tp_dst=67,",
		"ipv6,in_port=7,dl_src=52:54:00:00:00:04,ipv6_src=2001:db8::10,",
		"ipv6,in_port=7,dl_src=52:54:00:00:00:04,ipv6_src=fe80::/10,",
		"priority=30200,icmp6,in_port=7,dl_src=52:54:00:00:00:04,ipv6_src=::,icmpv6_type=135,nd_sll=00:00:00:00:00:00,",
		// ND binds the NIC's addresses to its MAC only, or to none.
		"priority=30200,icmp6,in_port=7,dl_src=52:54:00:00:00:04,icmpv6_type=136,nd_target=2001:db8::10,nd_tll=52:54:00:00:00:04,",
		"priority=30200,icmp6,in_port=7,dl_src=52:54:00:00:00:04,icmpv6_type=136,nd_target=2001:db8::10,nd_tll=00:00:00:00:00:00,",
		"priority=30200,icmp6,in_port=7,dl_src=52:54:00:00:00:04,icmpv6_type=136,nd_target=fe80::/10,nd_tll=52:54:00:00:00:04,",
		"priority=30200,icmp6,in_port=7,dl_src=52:54:00:00:00:04,icmpv6_type=135,ipv6_src=2001:db8::10,nd_sll=52:54:00:00:00:04,",
		"priority=30200,icmp6,in_port=7,dl_src=52:54:00:00:00:04,icmpv6_type=135,ipv6_src=fe80::/10,nd_sll=00:00:00:00:00:00,",
		"priority=30150,icmp6,in_port=7,icmpv6_type=135,",
		"priority=30150,icmp6,in_port=7,icmpv6_type=136,",
		// No DHCP server or router role, above every allow.
		"priority=30300,udp,in_port=7,tp_src=67,tp_dst=68,",
		"priority=30300,udp6,in_port=7,tp_src=547,tp_dst=546,",
		"priority=30300,icmp6,in_port=7,icmpv6_type=134,",
		"priority=30000,in_port=7,table=0,idle_timeout=0,cookie=0x484e525400000004,actions=drop",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("flows lack %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "cookie=0x484e525400000004"); n != len(strings.Split(got, "\n")) {
		t.Errorf("a flow lacks the NIC's cookie:\n%s", got)
	}
	if strings.Contains(got, "192.0.2.11") {
		t.Error("unexpected address")
	}
	// Every ND allow names the NIC's MAC or the zero MAC as link-layer address.
	for _, line := range strings.Split(got, "\n") {
		if strings.Contains(line, "priority=30200") && !strings.Contains(line, "nd_sll=") && !strings.Contains(line, "nd_tll=") {
			t.Errorf("ND allow without a link-layer match: %s", line)
		}
	}
}
