package netstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ProbeResult is what a neighbour probe learnt about one address.
type ProbeResult int

const (
	// Silent: no answer to ARP / neighbour solicitation before the deadline.
	Silent ProbeResult = iota
	// Answered: the neighbour answered; it is reachable through the device.
	Answered
	// Unprobed: the neighbour entry is static (permanent or noarp), so the
	// kernel never asks; nothing is known.
	Unprobed
)

func (r ProbeResult) String() string {
	switch r {
	case Answered:
		return "answered"
	case Unprobed:
		return "static neighbour, not probed"
	}
	return "silent"
}

// Neighbor is an address on the link of Dev (a gateway).
type Neighbor struct {
	Dev string
	IP  netip.Addr
}

// Probe asks each neighbour whether it is there, the way the kernel
// checks a neighbour itself, without holding up traffic to it:
//
//   - a neighbour whose link-layer address is known is put in the PROBE
//     state: the kernel keeps sending to the known address and confirms it
//     with unicast ARP / neighbour solicitations;
//   - an unknown one is resolved: its failed entry is forgotten and one UDP
//     datagram to the discard port is sent through the device.
//
// It then watches the neighbour table until each entry is confirmed,
// fails, or ctx ends. It needs no tool and works the same for IPv4 and
// IPv6. All neighbours are probed at once.
func Probe(ctx context.Context, h *netlink.Handle, ns []Neighbor) (map[Neighbor]ProbeResult, error) {
	out := make(map[Neighbor]ProbeResult, len(ns))
	pending := map[Neighbor]int{} // neighbour -> ifindex
	for _, n := range ns {
		l, err := h.LinkByName(n.Dev)
		if err != nil {
			return nil, fmt.Errorf("probe %s on %s: %w", n.IP, n.Dev, err)
		}
		idx := l.Attrs().Index
		cur, found, err := neighEntry(h, idx, n.IP)
		if err != nil {
			return nil, err
		}
		switch {
		case found && cur.State&(netlink.NUD_PERMANENT|netlink.NUD_NOARP) != 0:
			out[n] = Unprobed
			continue
		case found && len(cur.HardwareAddr) > 0 && cur.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0:
			err := h.NeighSet(&netlink.Neigh{LinkIndex: idx, Family: family(n.IP), IP: n.IP.AsSlice(),
				HardwareAddr: cur.HardwareAddr, State: netlink.NUD_PROBE})
			if err != nil {
				return nil, fmt.Errorf("probe %s on %s: %w", n.IP, n.Dev, err)
			}
		default:
			if found {
				err := h.NeighDel(&netlink.Neigh{LinkIndex: idx, Family: family(n.IP), IP: n.IP.AsSlice()})
				if err != nil && !errors.Is(err, unix.ENOENT) {
					return nil, fmt.Errorf("probe %s on %s: forget neighbour entry: %w", n.IP, n.Dev, err)
				}
			}
			if err := kick(n.IP, n.Dev, idx); err != nil {
				return nil, fmt.Errorf("probe %s on %s: %w", n.IP, n.Dev, err)
			}
		}
		pending[n] = idx
		out[n] = Silent
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for len(pending) > 0 {
		for n, idx := range pending {
			cur, found, err := neighEntry(h, idx, n.IP)
			if err != nil {
				return nil, err
			}
			switch {
			case !found:
			case cur.State&netlink.NUD_REACHABLE != 0:
				out[n] = Answered
				delete(pending, n)
			case cur.State&netlink.NUD_FAILED != 0:
				delete(pending, n)
			}
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-tick.C:
		}
	}
	return out, nil
}

func family(ip netip.Addr) int {
	if ip.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func neighEntry(h *netlink.Handle, idx int, ip netip.Addr) (netlink.Neigh, bool, error) {
	list, err := h.NeighList(idx, family(ip))
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return netlink.Neigh{}, false, fmt.Errorf("list neighbours: %w", err)
	}
	for _, n := range list {
		if a := addrOf(n.IP); a == ip {
			return n, true, nil
		}
	}
	return netlink.Neigh{}, false, nil
}

// NeighborsToCopy returns the neighbour entries of from that to lacks: the
// static ones (configuration) and the resolved dynamic ones (a warm cache:
// after a move, traffic flows at once instead of waiting for ARP). Each is
// returned as it should be set on to: static entries stay static, dynamic
// ones become STALE, which the kernel uses at once and re-confirms itself.
//
// static adds entries that from may no longer have: removing a link's last
// IPv4 address flushes its neighbour table, static entries included, so a
// resumed move takes them from its journal.
func NeighborsToCopy(h *netlink.Handle, from, to string, static []StaticNeighbor) ([]netlink.Neigh, error) {
	fl, err := h.LinkByName(from)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", from, err)
	}
	tl, err := h.LinkByName(to)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", to, err)
	}
	src, err := h.NeighList(fl.Attrs().Index, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list neighbours of %s: %w", from, err)
	}
	dst, err := h.NeighList(tl.Attrs().Index, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list neighbours of %s: %w", to, err)
	}
	have := map[netip.Addr]bool{}
	for _, n := range dst {
		if len(n.HardwareAddr) > 0 && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			have[addrOf(n.IP)] = true
		}
	}
	var out []netlink.Neigh
	for _, n := range src {
		ip := addrOf(n.IP)
		if have[ip] || len(n.HardwareAddr) == 0 || ip.IsMulticast() || n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE|netlink.NUD_NOARP) != 0 {
			continue
		}
		state := netlink.NUD_STALE
		if n.State&netlink.NUD_PERMANENT != 0 {
			state = netlink.NUD_PERMANENT
		}
		have[ip] = true
		out = append(out, netlink.Neigh{LinkIndex: tl.Attrs().Index, Family: n.Family, IP: n.IP, HardwareAddr: n.HardwareAddr, State: state})
	}
	for _, sn := range static {
		if have[sn.IP] {
			continue
		}
		hw, err := net.ParseMAC(sn.MAC)
		if err != nil {
			return nil, fmt.Errorf("static neighbour %s: %w", sn.IP, err)
		}
		have[sn.IP] = true
		out = append(out, netlink.Neigh{LinkIndex: tl.Attrs().Index, Family: family(sn.IP), IP: sn.IP.AsSlice(), HardwareAddr: hw, State: netlink.NUD_PERMANENT})
	}
	return out, nil
}

// StaticNeighbor is a neighbour entry an operator configured (ip neigh add
// ... nud permanent).
type StaticNeighbor struct {
	IP  netip.Addr `json:"ip"`
	MAC string     `json:"mac"`
}

// StaticNeighbors returns dev's permanent neighbour entries.
func StaticNeighbors(h *netlink.Handle, dev string) ([]StaticNeighbor, error) {
	l, err := h.LinkByName(dev)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", dev, err)
	}
	list, err := h.NeighList(l.Attrs().Index, netlink.FAMILY_ALL)
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return nil, fmt.Errorf("list neighbours of %s: %w", dev, err)
	}
	var out []StaticNeighbor
	for _, n := range list {
		if n.State&netlink.NUD_PERMANENT != 0 && len(n.HardwareAddr) > 0 {
			out = append(out, StaticNeighbor{IP: addrOf(n.IP), MAC: n.HardwareAddr.String()})
		}
	}
	return out, nil
}

// SetNeighbor adds or replaces a neighbour entry.
func (c Changer) SetNeighbor(n netlink.Neigh) error {
	if err := c.H.NeighSet(&n); err != nil {
		return fmt.Errorf("set neighbour %s: %w", n.IP, err)
	}
	return nil
}

// kick sends one datagram to ip's discard port through dev, so the kernel
// resolves ip's link-layer address.
func kick(ip netip.Addr, dev string, idx int) error {
	fam := family(ip)
	fd, err := unix.Socket(fam, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return fmt.Errorf("open probe socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.BindToDevice(fd, dev); err != nil {
		return fmt.Errorf("bind probe socket to %s: %w", dev, err)
	}
	var sa unix.Sockaddr
	if ip.Is4() {
		sa = &unix.SockaddrInet4{Port: 9, Addr: ip.As4()}
	} else {
		s6 := &unix.SockaddrInet6{Port: 9, Addr: ip.As16()}
		if ip.IsLinkLocalUnicast() {
			s6.ZoneId = uint32(idx)
		}
		sa = s6
	}
	// EAGAIN/EHOSTUNREACH only mean the packet waits for resolution or
	// resolution failed at once: the neighbour table tells which.
	if err := unix.Sendto(fd, []byte{0}, 0, sa); err != nil &&
		!errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EHOSTUNREACH) && !errors.Is(err, unix.ENETUNREACH) {
		return fmt.Errorf("send probe: %w", err)
	}
	return nil
}
