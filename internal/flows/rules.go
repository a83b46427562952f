// Package flows turns a NIC's source-check mode into OpenFlow flows on its
// bridge (DESIGN.md sections 3 and 4) and installs them atomically.
//
// The flows sit in table 0 above the bridge's own NORMAL flow (priority 0,
// never touched): frames from the NIC's OpenFlow port that pass the checks
// go to NORMAL, so VLAN tags and MAC learning still apply; everything else
// from that port is dropped. Every flow of a NIC carries the NIC's cookie,
// derived from its MAC, so one NIC's flows are replaced or removed alone.
package flows

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/hostnet/hostnet/internal/portspec"
)

// Table is the OpenFlow table the flows live in.
const Table = 0

// Priorities, all above the bridge's NORMAL flow at 0.
const (
	PriorityDrop      = 30000 // everything else from the port
	PriorityAllow     = 30100 // frames that pass
	PriorityNDDrop    = 30150 // neighbour solicitations and advertisements not allowed below
	PriorityNDAllowed = 30200 // ND for the NIC's addresses with its MAC
	PriorityNoServer  = 30300 // DHCP server replies and router advertisements, whatever their source
)

// cookieTag marks hostnet's flows in the top 16 bits ("HN"); the low 48
// bits are the MAC.
const (
	cookieTag     = uint64(0x484e) << 48
	cookieTagMask = uint64(0xffff) << 48
)

// macOfCookie recovers the MAC from a cookie made by Cookie.
func macOfCookie(c uint64) string {
	hw := make(net.HardwareAddr, 6)
	for i := 5; i >= 0; i-- {
		hw[i] = byte(c)
		c >>= 8
	}
	return hw.String()
}

// Cookie returns the cookie of a NIC's flows.
func Cookie(mac string) (uint64, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return 0, fmt.Errorf("cookie for MAC %q: not an Ethernet MAC", mac)
	}
	var v uint64
	for _, b := range hw {
		v = v<<8 | uint64(b)
	}
	return cookieTag | v, nil
}

// Well-known values the checks let through.
var (
	linkLocalV6 = netip.MustParsePrefix("fe80::/10")
)

const (
	icmp6RouterAdvertisement   = 134
	icmp6NeighborSolicitation  = 135
	icmp6NeighborAdvertisement = 136
	icmp6MLDv2Report           = 143
	dhcpClientPort             = 68
	dhcpServerPort             = 67
	dhcp6ClientPort            = 546
	dhcp6ServerPort            = 547
)

// Rules returns the flows of one NIC plugged as OpenFlow port ofport: none
// for src-check off; MAC only for mac; MAC and its IPs for on, plus DHCP
// discovery, ARP probes, IPv6 link-local traffic and duplicate address
// detection, which a VM needs before or besides its own addresses. ARP and
// neighbour discovery may only bind the NIC's addresses to the NIC's MAC.
// With on, the VM may not act as the network's DHCP server or IPv6 router
// either, even from its own addresses: one such answer hands its
// neighbours a wrong address or gateway.
func Rules(s portspec.PortSpec, ofport int) ([]*ovs.Flow, error) {
	if s.SrcCheck == portspec.SrcCheckOff {
		return nil, nil
	}
	cookie, err := Cookie(s.MAC)
	if err != nil {
		return nil, err
	}
	hw, _ := net.ParseMAC(s.MAC)
	flow := func(prio int, proto ovs.Protocol, matches []ovs.Match, actions ...ovs.Action) *ovs.Flow {
		return &ovs.Flow{Priority: prio, Protocol: proto, InPort: ofport, Matches: matches, Table: Table, Cookie: cookie, Actions: actions}
	}
	fromMAC := func(more ...ovs.Match) []ovs.Match {
		return append([]ovs.Match{ovs.DataLinkSource(s.MAC)}, more...)
	}
	normal, drop := ovs.Normal(), ovs.Drop()

	if s.SrcCheck == portspec.SrcCheckMAC {
		return []*ovs.Flow{
			flow(PriorityAllow, "", fromMAC(), normal),
			flow(PriorityDrop, "", nil, drop),
		}, nil
	}

	// Neighbour discovery carries a link-layer address that neighbours
	// store for an IP, like an ARP sender MAC: only the NIC's own (or none)
	// may go with its addresses. So every NS and NA is dropped above the
	// plain IPv6 rules unless one of these allows it.
	zeroMAC := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	nd := func(typ uint8, addr ovs.Match, lladdr func(net.HardwareAddr) ovs.Match) []*ovs.Flow {
		return []*ovs.Flow{
			flow(PriorityNDAllowed, ovs.ProtocolICMPv6, fromMAC(ovs.ICMP6Type(typ), addr, lladdr(hw)), normal),
			flow(PriorityNDAllowed, ovs.ProtocolICMPv6, fromMAC(ovs.ICMP6Type(typ), addr, lladdr(zeroMAC)), normal),
		}
	}
	// A solicitation from one of the NIC's addresses (link-local ones
	// included); an advertisement for one of them.
	ns := func(src string) []*ovs.Flow {
		return nd(icmp6NeighborSolicitation, ovs.IPv6Source(src), ovs.NeighborDiscoverySourceLinkLayer)
	}
	na := func(target string) []*ovs.Flow {
		return nd(icmp6NeighborAdvertisement, ovs.NeighborDiscoveryTarget(target), ovs.NeighborDiscoveryTargetLinkLayer)
	}

	out := []*ovs.Flow{
		// DHCP discovery and requests are sent before the VM has its address.
		flow(PriorityAllow, ovs.ProtocolUDPv4, fromMAC(ovs.NetworkSource("0.0.0.0"),
			ovs.TransportSourcePort(dhcpClientPort), ovs.TransportDestinationPort(dhcpServerPort)), normal),
		// ARP probes (RFC 5227) carry sender address 0.0.0.0.
		flow(PriorityAllow, ovs.ProtocolARP, fromMAC(ovs.ARPSourceProtocolAddress("0.0.0.0"), ovs.ARPSourceHardwareAddress(hw)), normal),
		// IPv6 link-local traffic, router discovery and MLD from it.
		flow(PriorityAllow, ovs.ProtocolIPv6, fromMAC(ovs.IPv6Source(linkLocalV6.String())), normal),
		// Duplicate address detection is sent from the unspecified address,
		// without a link-layer address, and joins its multicast group first.
		flow(PriorityNDAllowed, ovs.ProtocolICMPv6, fromMAC(ovs.IPv6Source("::"), ovs.ICMP6Type(icmp6NeighborSolicitation),
			ovs.NeighborDiscoverySourceLinkLayer(zeroMAC)), normal),
		flow(PriorityAllow, ovs.ProtocolICMPv6, fromMAC(ovs.IPv6Source("::"), ovs.ICMP6Type(icmp6MLDv2Report)), normal),
		// Every other solicitation and advertisement: dropped.
		flow(PriorityNDDrop, ovs.ProtocolICMPv6, []ovs.Match{ovs.ICMP6Type(icmp6NeighborSolicitation)}, drop),
		flow(PriorityNDDrop, ovs.ProtocolICMPv6, []ovs.Match{ovs.ICMP6Type(icmp6NeighborAdvertisement)}, drop),
		// The server side of DHCP, DHCPv6 and router discovery: dropped.
		flow(PriorityNoServer, ovs.ProtocolUDPv4, []ovs.Match{
			ovs.TransportSourcePort(dhcpServerPort), ovs.TransportDestinationPort(dhcpClientPort)}, drop),
		flow(PriorityNoServer, ovs.ProtocolUDPv6, []ovs.Match{
			ovs.TransportSourcePort(dhcp6ServerPort), ovs.TransportDestinationPort(dhcp6ClientPort)}, drop),
		flow(PriorityNoServer, ovs.ProtocolICMPv6, []ovs.Match{ovs.ICMP6Type(icmp6RouterAdvertisement)}, drop),
	}
	out = append(out, ns(linkLocalV6.String())...)
	out = append(out, na(linkLocalV6.String())...)
	for _, ip := range s.IPs {
		a := ip.String()
		if ip.Is4() {
			out = append(out,
				flow(PriorityAllow, ovs.ProtocolIPv4, fromMAC(ovs.NetworkSource(a)), normal),
				flow(PriorityAllow, ovs.ProtocolARP, fromMAC(ovs.ARPSourceProtocolAddress(a), ovs.ARPSourceHardwareAddress(hw)), normal))
			continue
		}
		out = append(out, flow(PriorityAllow, ovs.ProtocolIPv6, fromMAC(ovs.IPv6Source(a)), normal))
		out = append(out, ns(a)...)
		out = append(out, na(a)...)
	}
	return append(out, flow(PriorityDrop, "", nil, drop)), nil
}
