package plug_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// The VM of the src-check tests and the peer it talks to, both on VLAN 100
// of br0. The peer is a port hostnet does not manage: "the network".
const (
	scMAC     = "52:54:00:00:40:01"
	scIP4     = "10.40.0.1"
	scIP6     = "2001:db8:40::1"
	peerIP4   = "10.40.0.2"
	peerIP6   = "2001:db8:40::2"
	foreign4  = "10.40.0.99"
	foreign6  = "2001:db8:40::99"
	otherMAC  = "52:54:00:ee:ee:ee"
	scUUID    = "e0000000-0000-4000-8000-000000000040"
	scCookieV = "0x484e525400004001"
)

// scSetup plugs one VM (tap vnet0) with src-check mode on br0, VLAN 100,
// and starts a peer with a capture of what reaches it.
func scSetup(t *testing.T, mode string) (h *host, vm, peer *harness.Netns, c *harness.Capture) {
	t.Helper()
	h = newHost(t)
	peer = h.ovs.AddPeer(t, "br0", 100, peerIP4+"/24")
	peer.AddAddr(t, "eth0", peerIP6+"/64")
	vm = h.vm(t, "vnet0", scMAC, scIP4+"/24")
	vm.AddAddr(t, "eth0", scIP6+"/64")
	attrs := `bridge="br0" vlan="100"`
	if mode != "" {
		attrs += ` src-check="` + mode + `"`
	}
	h.mustHook(t, "sc", "start", "begin", domainXML("sc", scUUID, nic{mac: scMAC, tap: "vnet0", attrs: attrs, ips: []string{scIP4, scIP6}}))
	c = harness.StartCapture(t, peer, "eth0", "")
	return h, vm, peer, c
}

// TestSrcCheckOnIPv4: with src-check on, the VM's own address works (ARP
// and IP both ways), while IP and ARP from another address, and frames
// from another MAC, are dropped; DHCP from 0.0.0.0 gets a lease.
func TestSrcCheckOnIPv4(t *testing.T) {
	h, vm, peer, c := scSetup(t, "on")
	if got := h.cookies(t, "br0"); got != scCookieV {
		t.Fatalf("hostnet flows on br0 have cookies %q, want only %s", got, scCookieV)
	}
	h.expectNormalFlow(t, "br0")
	peerMAC := macOf(t, peer, "eth0")

	t.Run("own address", func(t *testing.T) {
		expectPing(t, vm, "", peerIP4)
		expectPing(t, peer, "", scIP4)
	})

	t.Run("foreign source IP", func(t *testing.T) {
		before := h.drops(t, "br0", scCookieV)
		vm.AddAddr(t, "eth0", foreign4+"/32")
		if n := pingReplies(t, vm, foreign4, peerIP4, 3); n != 0 {
			t.Errorf("ping from the foreign address %s got %d replies", foreign4, n)
		}
		if n := pingReplies(t, vm, scIP4, peerIP4, 3); n != 3 {
			t.Errorf("ping from the own address got %d of 3 replies", n)
		}
		if got := c.Matching(foreign4); len(got) > 0 {
			t.Errorf("frames naming %s reached the peer:\n%s", foreign4, strings.Join(got, "\n"))
		}
		if after := h.drops(t, "br0", scCookieV); after < before+3 {
			t.Errorf("drop flows counted %d packets, want at least 3 more than %d", after, before)
		}
		vm.IP(t, "addr", "del", foreign4+"/32", "dev", "eth0")
	})

	t.Run("foreign source IP, raw", func(t *testing.T) {
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.40.0.98", "-dst", peerIP4, "-dst-mac", peerMAC, "-id", "4001")
			}, []string{"10.40.0.98 >"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", scIP4, "-dst", peerIP4, "-dst-mac", peerMAC, "-id", "4002")
			}, []string{scIP4 + " > " + peerIP4, "id 4002"})
	})

	t.Run("foreign source MAC", func(t *testing.T) {
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src-mac", otherMAC, "-src", scIP4, "-dst", peerIP4, "-dst-mac", peerMAC, "-id", "4003")
			}, []string{otherMAC},
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", scIP4, "-dst", peerIP4, "-dst-mac", peerMAC, "-id", "4004")
			}, []string{scMAC, "id 4004"})
	})

	t.Run("ARP claiming another IP", func(t *testing.T) {
		// arping crafts its own requests: sender IP as given, sender MAC the
		// NIC's; the peer answers what reaches it.
		if n := arpingReplies(t, vm, foreign4, peerIP4); n != 0 {
			t.Errorf("arping claiming %s got %d answers", foreign4, n)
		}
		if n := arpingReplies(t, vm, scIP4, peerIP4); n != 3 {
			t.Errorf("arping from the own address got %d of 3 answers", n)
		}
		if got := c.Matching("ARP", "tell "+foreign4); len(got) > 0 {
			t.Errorf("ARP claiming %s reached the peer:\n%s", foreign4, strings.Join(got, "\n"))
		}
		// The own IP with another MAC as ARP sender: a poisoning attempt.
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "arp", "-arp-sha", otherMAC, "-src", scIP4, "-target", "10.40.0.77")
			},
			[]string{"who-has 10.40.0.77"},
			func() { rawframe(t, vm, "eth0", "-kind", "arp", "-src", scIP4, "-target", "10.40.0.78") },
			[]string{"who-has 10.40.0.78 tell " + scIP4})
		// An ARP probe (RFC 5227: sender 0.0.0.0) passes.
		expectPassed(t, c, func() { rawframe(t, vm, "eth0", "-kind", "arp", "-src", "0.0.0.0", "-target", "10.40.0.79") },
			"who-has 10.40.0.79 tell 0.0.0.0")
	})

	t.Run("DHCP from 0.0.0.0", func(t *testing.T) {
		udhcpd(t, peer, t.TempDir(), scMAC, scIP4)
		out, ok := udhcpc(t, vm)
		if !ok || !strings.Contains(out, "lease of "+scIP4+" obtained") {
			t.Fatalf("udhcpc got no lease through src-check on:\n%s", out)
		}
		c.WaitFor(t, 5*time.Second, "0.0.0.0.68 > 255.255.255.255.67")
		// Only DHCP may come from 0.0.0.0.
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "udp4", "-src", "0.0.0.0", "-dst", "255.255.255.255", "-sport", "68", "-dport", "99")
			}, []string{"0.0.0.0.68 > 255.255.255.255.99"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "udp4", "-src", scIP4, "-dst", "255.255.255.255", "-sport", "68", "-dport", "98")
			}, []string{scIP4 + ".68 > 255.255.255.255.98"})
	})

	t.Run("no DHCP server in the VM", func(t *testing.T) {
		// A rogue server answers from the VM's own address; its offers
		// never reach the network (TestSrcCheckMAC: the same rig leases).
		if out, ok := leaseFromVM(t, vm, peer); ok {
			t.Errorf("the peer got a lease from a DHCP server in the VM:\n%s", out)
		}
		if got := c.Matching(scIP4 + ".67 >"); len(got) > 0 {
			t.Errorf("DHCP server replies from the VM reached the peer:\n%s", strings.Join(got, "\n"))
		}
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "udp4", "-src", scIP4, "-dst", "255.255.255.255", "-sport", "67", "-dport", "68")
			}, []string{scIP4 + ".67 > 255.255.255.255.68"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "udp4", "-src", scIP4, "-dst", "255.255.255.255", "-sport", "67", "-dport", "97")
			}, []string{scIP4 + ".67 > 255.255.255.255.97"})
	})
	h.expectNormalFlow(t, "br0")
}

// leaseFromVM runs a DHCP server in vm with a lease for the peer and asks
// for it from the peer; it returns udhcpc's output and whether it got one.
func leaseFromVM(t *testing.T, vm, peer *harness.Netns) (string, bool) {
	t.Helper()
	udhcpd(t, vm, t.TempDir(), macOf(t, peer, "eth0"), "10.40.0.50")
	out, ok := udhcpc(t, peer)
	return out, ok && strings.Contains(out, "lease of 10.40.0.50 obtained")
}

// TestSrcCheckOnIPv6: link-local traffic and neighbour discovery pass
// (both ways, from link-local and from the own global address, and
// duplicate address detection from ::), while IPv6 from another address
// and neighbour advertisements for another address are dropped.
func TestSrcCheckOnIPv6(t *testing.T) {
	h, vm, peer, c := scSetup(t, "on")
	vmLL, peerLL := linkLocal(t, vm, "eth0"), linkLocal(t, peer, "eth0")
	peerMAC := macOf(t, peer, "eth0")

	t.Run("link-local", func(t *testing.T) {
		expectPing(t, vm, "eth0", peerLL+"%eth0")
		expectPing(t, peer, "eth0", vmLL+"%eth0")
	})

	t.Run("own global address", func(t *testing.T) {
		expectPing(t, vm, "", peerIP6)
		// Forget the VM, so the peer has to ask for its address again.
		peer.IP(t, "-6", "neigh", "flush", "dev", "eth0")
		expectPing(t, peer, "", scIP6)
		// The VM answered the peer's solicitation for its own address.
		c.WaitFor(t, 5*time.Second, "neighbor advertisement, tgt is "+scIP6)
	})

	t.Run("duplicate address detection", func(t *testing.T) {
		// The kernel's own DAD: a solicitation from :: for the new address.
		vm.IP(t, "-6", "addr", "add", "2001:db8:40::5/64", "dev", "eth0")
		c.WaitFor(t, 10*time.Second, ":: > ", "who has 2001:db8:40::5")
	})

	t.Run("foreign source address", func(t *testing.T) {
		before := h.drops(t, "br0", scCookieV)
		vm.AddAddr(t, "eth0", foreign6+"/128")
		if n := pingReplies(t, vm, foreign6, peerIP6, 3); n != 0 {
			t.Errorf("ping from the foreign address %s got %d replies", foreign6, n)
		}
		if n := pingReplies(t, vm, scIP6, peerIP6, 3); n != 3 {
			t.Errorf("ping from the own address got %d of 3 replies", n)
		}
		if got := c.Matching(foreign6 + " >"); len(got) > 0 {
			t.Errorf("frames from %s reached the peer:\n%s", foreign6, strings.Join(got, "\n"))
		}
		if after := h.drops(t, "br0", scCookieV); after < before+3 {
			t.Errorf("drop flows counted %d packets, want at least 3 more than %d", after, before)
		}
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp6", "-src", "2001:db8:40::98", "-dst", peerIP6, "-dst-mac", peerMAC, "-id", "4011")
			}, []string{"2001:db8:40::98 >"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp6", "-src", scIP6, "-dst", peerIP6, "-dst-mac", peerMAC, "-id", "4012")
			}, []string{scIP6 + " > " + peerIP6, "id 4012"})
	})

	t.Run("neighbour discovery for another address or MAC", func(t *testing.T) {
		// From the VM's link-local address, claiming the peer's address (a
		// poisoning attempt) and a free one: dropped. Its own: passes.
		expectBlocked(t, c,
			func() { rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", peerIP6) },
			[]string{"neighbor advertisement, tgt is " + peerIP6 + ","},
			func() { rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", vmLL) },
			[]string{vmLL + " > ff02::1", "neighbor advertisement, tgt is " + vmLL + ","})
		expectBlocked(t, c,
			func() { rawframe(t, vm, "eth0", "-kind", "na", "-src", scIP6, "-target", "2001:db8:40::97") },
			[]string{"tgt is 2001:db8:40::97,"},
			func() { rawframe(t, vm, "eth0", "-kind", "ns", "-src", scIP6, "-target", "2001:db8:40::96") },
			[]string{scIP6 + " > ff02::1", "who has 2001:db8:40::96,"})
		expectPassed(t, c, func() { rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", scIP6, "-count", "1") },
			vmLL+" > ff02::1", "neighbor advertisement, tgt is "+scIP6+",")
		// The own address, but another MAC in the target link-layer option
		// (the neighbour would send the VM's traffic there): dropped, like
		// an ARP whose sender MAC lies. Without the option: passes.
		c2 := harness.StartCapture(t, peer, "eth0", "icmp6")
		expectBlocked(t, c2,
			func() {
				rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", scIP6, "-nd-lladdr", otherMAC)
				rawframe(t, vm, "eth0", "-kind", "na", "-src", scIP6, "-target", scIP6, "-nd-lladdr", otherMAC)
				rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", vmLL, "-nd-lladdr", otherMAC)
			}, []string{"neighbor advertisement", "length 32"},
			func() { rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", scIP6, "-nd-lladdr", "none") },
			[]string{"neighbor advertisement, tgt is " + scIP6 + ", length 24"})
		expectPassed(t, c2, func() { rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", vmLL, "-count", "1") },
			"neighbor advertisement, tgt is "+vmLL+", length 32")
		// Solicitations carry the sender's link-layer address, which the
		// neighbour stores for the source address: only the NIC's MAC (or
		// none; none at all from ::, duplicate address detection) passes.
		expectBlocked(t, c2,
			func() {
				rawframe(t, vm, "eth0", "-kind", "ns", "-src", scIP6, "-target", "2001:db8:40::81", "-nd-lladdr", otherMAC)
				rawframe(t, vm, "eth0", "-kind", "ns", "-src", vmLL, "-target", "2001:db8:40::81", "-nd-lladdr", otherMAC)
				rawframe(t, vm, "eth0", "-kind", "ns", "-src", "::", "-target", "2001:db8:40::81", "-nd-lladdr", scMAC)
			}, []string{"who has 2001:db8:40::81,"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "ns", "-src", scIP6, "-target", "2001:db8:40::82", "-nd-lladdr", "none")
			},
			[]string{scIP6 + " > ff02::1", "who has 2001:db8:40::82, length 24"})
		expectPassed(t, c2, func() {
			rawframe(t, vm, "eth0", "-kind", "ns", "-src", "::", "-target", "2001:db8:40::83", "-count", "1")
		},
			":: > ff02::1", "who has 2001:db8:40::83, length 24")
		// From another MAC, even for the own address: dropped.
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "na", "-src-mac", otherMAC, "-src", vmLL, "-target", scIP6)
			}, []string{otherMAC},
			func() { rawframe(t, vm, "eth0", "-kind", "ns", "-src", vmLL, "-target", "2001:db8:40::95") },
			[]string{"neighbor solicitation, who has 2001:db8:40::95,"})
	})

	t.Run("no router advertisement or DHCPv6 server", func(t *testing.T) {
		// From the VM's own link-local address, which passes otherwise.
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "ra", "-src", vmLL)
				rawframe(t, vm, "eth0", "-kind", "udp6", "-src", vmLL, "-dst", peerLL, "-dst-mac", peerMAC, "-sport", "547", "-dport", "546")
			}, []string{"router advertisement"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "udp6", "-src", vmLL, "-dst", peerLL, "-dst-mac", peerMAC, "-sport", "547", "-dport", "999")
			}, []string{vmLL + ".547 > " + peerLL + ".999"})
		if got := c.Matching(vmLL + ".547 > " + peerLL + ".546"); len(got) > 0 {
			t.Errorf("DHCPv6 server replies from the VM reached the peer:\n%s", strings.Join(got, "\n"))
		}
	})
	h.expectNormalFlow(t, "br0")
}

// TestSrcCheckMAC: src-check mac drops frames from another MAC and lets
// any address through.
func TestSrcCheckMAC(t *testing.T) {
	h, vm, peer, c := scSetup(t, "mac")
	peerMAC := macOf(t, peer, "eth0")
	if n := len(h.flows(t, "br0", scCookieV)); n != 2 {
		t.Errorf("src-check mac installed %d flows, want 2 (allow the MAC, drop the rest):\n%s", n, flowTexts(h.flows(t, "br0", scCookieV)))
	}
	vm.AddAddr(t, "eth0", foreign4+"/32")
	expectPing(t, vm, foreign4, peerIP4)
	expectPing(t, vm, scIP4, peerIP4)
	expectBlocked(t, c,
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src-mac", otherMAC, "-src", scIP4, "-dst", peerIP4, "-dst-mac", peerMAC, "-id", "4021")
		}, []string{otherMAC},
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.40.0.98", "-dst", peerIP4, "-dst-mac", peerMAC, "-id", "4022")
		}, []string{scMAC, "10.40.0.98 > " + peerIP4, "id 4022"})
	// mac checks the MAC only: a DHCP server or IPv6 router in the VM works.
	if out, ok := leaseFromVM(t, vm, peer); !ok {
		t.Errorf("src-check mac: the peer got no lease from the VM's DHCP server:\n%s", out)
	}
	expectPassed(t, c, func() { rawframe(t, vm, "eth0", "-kind", "ra", "-src", linkLocal(t, vm, "eth0"), "-count", "1") },
		"router advertisement")
	h.expectNormalFlow(t, "br0")
}

// TestSrcCheckOff: src-check off installs no flow and passes everything:
// other addresses, other MACs, forged ARP and ND.
func TestSrcCheckOff(t *testing.T) {
	h, vm, peer, c := scSetup(t, "off")
	peerMAC := macOf(t, peer, "eth0")
	if got := h.cookies(t, "br0"); got != "" {
		t.Fatalf("src-check off installed flows with cookies %s:\n%s", got, flowTexts(h.flows(t, "br0", "")))
	}
	vm.AddAddr(t, "eth0", foreign4+"/32")
	vm.AddAddr(t, "eth0", foreign6+"/128")
	expectPing(t, vm, foreign4, peerIP4)
	expectPing(t, vm, foreign6, peerIP6)
	if n := arpingReplies(t, vm, "10.40.0.98", peerIP4); n != 3 {
		t.Errorf("arping claiming 10.40.0.98 got %d of 3 answers", n)
	}
	vmLL := linkLocal(t, vm, "eth0")
	expectPassed(t, c, func() {
		rawframe(t, vm, "eth0", "-kind", "icmp4", "-src-mac", otherMAC, "-src", "10.40.0.97", "-dst", peerIP4, "-dst-mac", peerMAC, "-id", "4031")
		rawframe(t, vm, "eth0", "-kind", "arp", "-arp-sha", otherMAC, "-src", "10.40.0.96", "-target", "10.40.0.95")
		rawframe(t, vm, "eth0", "-kind", "na", "-src", vmLL, "-target", peerIP6)
	}, otherMAC, "10.40.0.97 > "+peerIP4)
	c.WaitFor(t, 5*time.Second, "who-has 10.40.0.95 tell 10.40.0.96")
	c.WaitFor(t, 5*time.Second, "neighbor advertisement, tgt is "+peerIP6+",")
	h.expectNormalFlow(t, "br0")
}

// TestTwoNICsSeveralIPs: one VM, two NICs on the same bridge and VLAN, two
// addresses each. Every address works on its own NIC; a NIC sending the
// other NIC's address or MAC is dropped. Unplugging one NIC (hostnet-plug
// del, as an orchestrator's hot-unplug) removes its flows and leaves the
// other NIC's flows exactly as they were, and the bridge's NORMAL flow.
func TestTwoNICsSeveralIPs(t *testing.T) {
	h := newHost(t)
	const (
		macA, macB       = "52:54:00:00:41:01", "52:54:00:00:41:02"
		cookieA, cookieB = "0x484e525400004101", "0x484e525400004102"
	)
	peer := h.ovs.AddPeer(t, "br0", 100, "10.41.0.2/24")
	peer.AddAddr(t, "eth0", "10.42.0.2/24")
	vm := harness.NewNetns(t, "vm2")
	// A guest with two NICs answers ARP only on the NIC holding the address.
	vm.Exec(t, "sysctl", "-q", "-w", "net.ipv4.conf.all.arp_ignore=1")
	for _, n := range []struct{ tap, dev, mac string }{{"vnet0", "eth0", macA}, {"vnet1", "eth1", macB}} {
		harness.Veth(t, h.ns, n.tap, vm, n.dev)
		vm.IP(t, "link", "set", n.dev, "address", n.mac)
	}
	vm.AddAddr(t, "eth0", "10.41.0.1/24")
	vm.AddAddr(t, "eth0", "10.41.0.11/24")
	vm.AddAddr(t, "eth1", "10.42.0.1/24")
	vm.AddAddr(t, "eth1", "10.42.0.12/24")
	h.mustHook(t, "two", "start", "begin", domainXML("two", scUUID,
		nic{mac: macA, tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.41.0.1", "10.41.0.11"}},
		nic{mac: macB, tap: "vnet1", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.42.0.1", "10.42.0.12"}}))
	if got := h.cookies(t, "br0"); got != cookieA+" "+cookieB {
		t.Fatalf("hostnet flow cookies on br0: %q, want %s %s", got, cookieA, cookieB)
	}
	c := harness.StartCapture(t, peer, "eth0", "")
	peerMAC := macOf(t, peer, "eth0")

	for ip, peerIP := range map[string]string{"10.41.0.1": "10.41.0.2", "10.41.0.11": "10.41.0.2", "10.42.0.1": "10.42.0.2", "10.42.0.12": "10.42.0.2"} {
		expectPing(t, vm, ip, peerIP)
		expectPing(t, peer, "", ip)
	}
	spoofs := func() {
		// eth0 with eth1's address, and with eth1's MAC.
		rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.42.0.1", "-dst", "10.42.0.2", "-dst-mac", peerMAC, "-id", "4101")
		rawframe(t, vm, "eth0", "-kind", "icmp4", "-src-mac", macB, "-src", "10.42.0.12", "-dst", "10.42.0.2", "-dst-mac", peerMAC, "-id", "4102")
	}
	expectBlocked(t, c, spoofs, []string{"id 4101"},
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.41.0.11", "-dst", "10.41.0.2", "-dst-mac", peerMAC, "-id", "4103")
		}, []string{macA, "10.41.0.11 > 10.41.0.2", "id 4103"})
	if got := c.Matching("id 4102"); len(got) > 0 {
		t.Fatalf("eth0 sent with eth1's MAC:\n%s", strings.Join(got, "\n"))
	}

	flowsA := flowTexts(h.flows(t, "br0", cookieA))
	del := h.plugCLI(t, "del", "--tap", "vnet1")
	if del.code != 0 {
		t.Fatalf("hostnet-plug del --tap vnet1: exit %d: %s", del.code, del.stderr)
	}
	if got := h.flows(t, "br0", cookieB); len(got) != 0 {
		t.Errorf("the unplugged NIC's flows are still there:\n%s", flowTexts(got))
	}
	if got := flowTexts(h.flows(t, "br0", cookieA)); got != flowsA {
		t.Errorf("unplugging vnet1 changed vnet0's flows:\nbefore:\n%s\nafter:\n%s", flowsA, got)
	}
	h.expectNormalFlow(t, "br0")
	expectPing(t, vm, "10.41.0.11", "10.41.0.2")
	expectBlocked(t, c,
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.42.0.1", "-dst", "10.42.0.2", "-dst-mac", peerMAC, "-id", "4104")
		}, []string{"id 4104"},
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.41.0.1", "-dst", "10.41.0.2", "-dst-mac", peerMAC, "-id", "4105")
		}, []string{"id 4105"})
}
