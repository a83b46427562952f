package netstate

import (
	"context"
	"errors"
	"fmt"
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

// Probe asks each neighbour whether it is there, the way the kernel does
// before it sends a packet: it forgets the neighbour entry, sends one UDP
// datagram to the discard port through the device (the kernel resolves the
// address with ARP or neighbour solicitation), and watches the neighbour
// table until the entry is resolved, fails, or ctx ends. It needs no tool
// and works the same for IPv4 and IPv6. All neighbours are probed at once.
func Probe(ctx context.Context, h *netlink.Handle, ns []Neighbor) (map[Neighbor]ProbeResult, error) {
	out := make(map[Neighbor]ProbeResult, len(ns))
	pending := map[Neighbor]int{} // neighbour -> ifindex
	for _, n := range ns {
		l, err := h.LinkByName(n.Dev)
		if err != nil {
			return nil, fmt.Errorf("probe %s on %s: %w", n.IP, n.Dev, err)
		}
		idx := l.Attrs().Index
		st, found, err := neighState(h, idx, n.IP)
		if err != nil {
			return nil, err
		}
		if found && st&(netlink.NUD_PERMANENT|netlink.NUD_NOARP) != 0 {
			out[n] = Unprobed
			continue
		}
		if found {
			err := h.NeighDel(&netlink.Neigh{LinkIndex: idx, Family: family(n.IP), IP: n.IP.AsSlice()})
			if err != nil && !errors.Is(err, unix.ENOENT) {
				return nil, fmt.Errorf("probe %s on %s: forget neighbour entry: %w", n.IP, n.Dev, err)
			}
		}
		if err := kick(n.IP, n.Dev, idx); err != nil {
			return nil, fmt.Errorf("probe %s on %s: %w", n.IP, n.Dev, err)
		}
		pending[n] = idx
		out[n] = Silent
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for len(pending) > 0 {
		for n, idx := range pending {
			st, found, err := neighState(h, idx, n.IP)
			if err != nil {
				return nil, err
			}
			switch {
			case !found || st == 0 || st&netlink.NUD_INCOMPLETE != 0:
				// still resolving
			case st&netlink.NUD_FAILED != 0:
				delete(pending, n)
			default: // reachable, stale, delay, probe: it answered
				out[n] = Answered
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

func neighState(h *netlink.Handle, idx int, ip netip.Addr) (state int, found bool, err error) {
	list, err := h.NeighList(idx, family(ip))
	if err != nil && !errors.Is(err, netlink.ErrDumpInterrupted) {
		return 0, false, fmt.Errorf("list neighbours: %w", err)
	}
	for _, n := range list {
		if a := addrOf(n.IP); a == ip {
			return n.State, true, nil
		}
	}
	return 0, false, nil
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
