package netstate

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// dumpAttempts bounds the retries of a dump that the kernel interrupted
// because the table changed under it (netlink.ErrDumpInterrupted).
const dumpAttempts = 5

// Read returns the links, addresses and routes of the current network
// namespace.
func Read(h *netlink.Handle) (*Host, error) {
	var lastErr error
	for range dumpAttempts {
		host, err := read(h)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return host, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("read network state: the kernel interrupted %d dumps in a row: %w", dumpAttempts, lastErr)
}

func read(h *netlink.Handle) (*Host, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	host := &Host{Links: make(map[string]*Link, len(links))}
	names := make(map[int]string, len(links))
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
	}
	for _, l := range links {
		a := l.Attrs()
		host.Links[a.Name] = &Link{
			Name:   a.Name,
			Index:  a.Index,
			Kind:   l.Type(),
			MAC:    macString(a.HardwareAddr),
			MTU:    a.MTU,
			Up:     a.Flags&net.FlagUp != 0,
			Master: names[a.MasterIndex],
		}
	}
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		l := host.Links[names[a.LinkIndex]]
		if l == nil || a.IPNet == nil {
			continue
		}
		l.Addrs = append(l.Addrs, fromNetlinkAddr(a))
	}
	routes, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		if r.Family != unix.AF_INET && r.Family != unix.AF_INET6 {
			continue
		}
		host.Routes = append(host.Routes, fromNetlinkRoute(r, names))
	}
	return host, nil
}

func macString(hw net.HardwareAddr) string {
	if len(hw) == 0 {
		return ""
	}
	return hw.String()
}

func prefixOf(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.Prefix{}
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	ip = ip.Unmap()
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(ip, ones)
}

func addrOf(ip net.IP) netip.Addr {
	if ip == nil {
		return netip.Addr{}
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}

func fromNetlinkAddr(a netlink.Addr) Addr {
	out := Addr{
		Prefix:       prefixOf(a.IPNet),
		Peer:         prefixOf(a.Peer),
		Broadcast:    addrOf(a.Broadcast),
		Label:        a.Label,
		Scope:        uint8(a.Scope),
		Flags:        uint32(a.Flags),
		PreferredLft: uint32(a.PreferedLft),
		ValidLft:     uint32(a.ValidLft),
	}
	return out
}

func toNetlinkAddr(a Addr, index int) *netlink.Addr {
	ipnet := &net.IPNet{IP: a.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), a.Prefix.Addr().BitLen())}
	out := &netlink.Addr{
		IPNet:       ipnet,
		Label:       a.Label,
		Flags:       int(a.Flags),
		Scope:       int(a.Scope),
		PreferedLft: int(a.PreferredLft),
		ValidLft:    int(a.ValidLft),
		LinkIndex:   index,
	}
	if a.Peer.IsValid() {
		out.Peer = &net.IPNet{IP: a.Peer.Addr().AsSlice(), Mask: net.CIDRMask(a.Peer.Bits(), a.Peer.Addr().BitLen())}
	}
	if a.Broadcast.IsValid() {
		out.Broadcast = a.Broadcast.AsSlice()
	} else if a.Is4() {
		// netlink computes a broadcast address when none is given; the
		// snapshot had none, so ask for none.
		out.Broadcast = net.IPv4zero
	}
	return out
}

func fromNetlinkRoute(r netlink.Route, names map[int]string) Route {
	out := Route{
		Family:   r.Family,
		Table:    r.Table,
		Type:     r.Type,
		Dst:      prefixOf(r.Dst),
		Dev:      names[r.LinkIndex],
		Gw:       addrOf(r.Gw),
		Src:      addrOf(r.Src),
		Metric:   r.Priority,
		Scope:    uint8(r.Scope),
		Protocol: int(r.Protocol),
		Tos:      r.Tos,
		OnLink:   r.Flags&unix.RTNH_F_ONLINK != 0,
		MTU:      r.MTU,
		AdvMSS:   r.AdvMSS,
	}
	for _, h := range r.MultiPath {
		out.Hops = append(out.Hops, Hop{
			Dev:    names[h.LinkIndex],
			Gw:     addrOf(h.Gw),
			Weight: h.Hops + 1,
			OnLink: h.Flags&unix.RTNH_F_ONLINK != 0,
		})
	}
	return out
}

// toNetlinkRoute resolves r's device names with index.
func toNetlinkRoute(r Route, index func(string) (int, error)) (*netlink.Route, error) {
	out := &netlink.Route{
		Family:   r.Family,
		Table:    r.Table,
		Type:     r.Type,
		Gw:       ipOrNil(r.Gw),
		Src:      ipOrNil(r.Src),
		Priority: r.Metric,
		Scope:    netlink.Scope(r.Scope),
		Protocol: netlink.RouteProtocol(r.Protocol),
		Tos:      r.Tos,
		MTU:      r.MTU,
		AdvMSS:   r.AdvMSS,
	}
	if r.Dst.IsValid() {
		out.Dst = &net.IPNet{IP: r.Dst.Addr().AsSlice(), Mask: net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen())}
	}
	if r.OnLink {
		out.Flags |= unix.RTNH_F_ONLINK
	}
	if r.Dev != "" {
		i, err := index(r.Dev)
		if err != nil {
			return nil, err
		}
		out.LinkIndex = i
	}
	for _, h := range r.Hops {
		i, err := index(h.Dev)
		if err != nil {
			return nil, err
		}
		nh := &netlink.NexthopInfo{LinkIndex: i, Gw: ipOrNil(h.Gw), Hops: h.Weight - 1}
		if h.OnLink {
			nh.Flags |= unix.RTNH_F_ONLINK
		}
		out.MultiPath = append(out.MultiPath, nh)
	}
	return out, nil
}

func ipOrNil(a netip.Addr) net.IP {
	if !a.IsValid() {
		return nil
	}
	return a.AsSlice()
}
