package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// Frame is what to put on the wire: every field a source check looks at is
// set by hand, so a test can lie in exactly one of them.
type Frame struct {
	Kind   string // icmp4, udp4, arp, icmp6, udp6, na, ns, ra
	SrcMAC net.HardwareAddr
	DstMAC net.HardwareAddr
	Src    netip.Addr
	Dst    netip.Addr
	// Target is the address an ARP asks for (arp) or an ND message is
	// about (na, ns).
	Target netip.Addr
	// ARPSenderMAC is the ARP sender hardware address; nil = SrcMAC.
	ARPSenderMAC net.HardwareAddr
	// NDLinkLayer is the link-layer address option of an NA (target) or NS
	// (source); nil = SrcMAC. NoNDOption leaves the option out.
	NDLinkLayer net.HardwareAddr
	NoNDOption  bool
	// ID is the ICMP echo identifier, so a capture can tell one test's
	// frames from another's.
	ID      uint16
	SrcPort uint16 // udp4, udp6
	DstPort uint16 // udp4, udp6
}

// Ethertypes and protocol numbers.
const (
	etherIPv4 = 0x0800
	etherARP  = 0x0806
	etherIPv6 = 0x86dd

	protoICMP   = 1
	protoUDP    = 17
	protoICMPv6 = 58

	icmp6EchoRequest = 128
	icmp6RA          = 134
	icmp6NS          = 135
	icmp6NA          = 136
)

// Bytes builds the frame.
func (f Frame) Bytes(seq uint16) ([]byte, error) {
	switch f.Kind {
	case "icmp4":
		if !f.Src.Is4() || !f.Dst.Is4() {
			return nil, fmt.Errorf("icmp4 needs IPv4 -src and -dst")
		}
		return f.ether(etherIPv4, ipv4(f.Src, f.Dst, protoICMP, echo(8, f.ID, seq, true))), nil
	case "udp4":
		if !f.Src.Is4() || !f.Dst.Is4() {
			return nil, fmt.Errorf("udp4 needs IPv4 -src and -dst")
		}
		// Checksum 0: none, allowed over IPv4.
		return f.ether(etherIPv4, ipv4(f.Src, f.Dst, protoUDP, f.udp())), nil
	case "udp6":
		if !f.Src.Is6() || !f.Dst.Is6() {
			return nil, fmt.Errorf("udp6 needs IPv6 -src and -dst")
		}
		return f.ether(etherIPv6, ipv6(f.Src, f.Dst, 64, protoUDP, f.udp())), nil
	case "ra":
		// A router advertisement: hop limit 64, router lifetime 1800 s,
		// and the source link-layer address option.
		if !f.Src.Is6() || !f.Dst.Is6() {
			return nil, fmt.Errorf("ra needs IPv6 -src and -dst")
		}
		m := make([]byte, 16, 24)
		m[0], m[4] = icmp6RA, 64
		binary.BigEndian.PutUint16(m[6:], 1800)
		m = append(m, 1, 1)
		m = append(m, f.SrcMAC...)
		return f.ether(etherIPv6, ipv6(f.Src, f.Dst, 255, protoICMPv6, m)), nil
	case "arp":
		if !f.Src.Is4() || !f.Target.Is4() {
			return nil, fmt.Errorf("arp needs IPv4 -src and -target")
		}
		sha := f.ARPSenderMAC
		if sha == nil {
			sha = f.SrcMAC
		}
		a := []byte{0, 1, 8, 0, 6, 4, 0, 1} // Ethernet, IPv4, request
		a = append(a, sha...)
		a = append(a, f.Src.AsSlice()...)
		a = append(a, make([]byte, 6)...)
		a = append(a, f.Target.AsSlice()...)
		return f.ether(etherARP, a), nil
	case "icmp6":
		if !f.Src.Is6() || !f.Dst.Is6() {
			return nil, fmt.Errorf("icmp6 needs IPv6 -src and -dst")
		}
		return f.ether(etherIPv6, ipv6(f.Src, f.Dst, 64, protoICMPv6, echo(icmp6EchoRequest, f.ID, seq, false))), nil
	case "na", "ns":
		if !f.Src.Is6() || !f.Dst.Is6() || !f.Target.Is6() {
			return nil, fmt.Errorf("%s needs IPv6 -src, -dst and -target", f.Kind)
		}
		m := make([]byte, 8, 32)
		m[0] = icmp6NS
		optType := byte(1) // source link-layer address
		if f.Kind == "na" {
			m[0] = icmp6NA
			m[4] = 0x20 // override; unsolicited
			optType = 2 // target link-layer address
		}
		m = append(m, f.Target.AsSlice()...)
		lladdr := f.NDLinkLayer
		if lladdr == nil {
			lladdr = f.SrcMAC
		}
		// DAD (from ::) carries no link-layer option unless one is asked for.
		if (!f.Src.IsUnspecified() || f.NDLinkLayer != nil) && !f.NoNDOption {
			m = append(m, optType, 1)
			m = append(m, lladdr...)
		}
		return f.ether(etherIPv6, ipv6(f.Src, f.Dst, 255, protoICMPv6, m)), nil
	}
	return nil, fmt.Errorf("unknown kind %q: use icmp4, udp4, arp, icmp6, udp6, na, ns or ra", f.Kind)
}

// udp is a UDP datagram from SrcPort to DstPort with a short payload; its
// checksum is left 0 (ipv6 fills it in).
func (f Frame) udp() []byte {
	payload := []byte("hostnet rawframe")
	u := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], f.SrcPort)
	binary.BigEndian.PutUint16(u[2:], f.DstPort)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	return append(u, payload...)
}

func (f Frame) ether(etherType uint16, payload []byte) []byte {
	b := make([]byte, 14, 14+len(payload))
	copy(b[0:], f.DstMAC)
	copy(b[6:], f.SrcMAC)
	binary.BigEndian.PutUint16(b[12:], etherType)
	return append(b, payload...)
}

// echo is an ICMP (v4: with its checksum) or ICMPv6 echo request; ICMPv6
// checksums need the IPv6 pseudo header and are filled in by ipv6.
func echo(typ byte, id, seq uint16, v4 bool) []byte {
	m := make([]byte, 8, 8+16)
	m[0] = typ
	binary.BigEndian.PutUint16(m[4:], id)
	binary.BigEndian.PutUint16(m[6:], seq)
	m = append(m, "hostnet rawframe"...)
	if v4 {
		binary.BigEndian.PutUint16(m[2:], checksum(0, m))
	}
	return m
}

func ipv4(src, dst netip.Addr, proto byte, payload []byte) []byte {
	h := make([]byte, 20, 20+len(payload))
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
	h[8] = 64
	h[9] = proto
	copy(h[12:], src.AsSlice())
	copy(h[16:], dst.AsSlice())
	binary.BigEndian.PutUint16(h[10:], checksum(0, h))
	return append(h, payload...)
}

// ipv6 wraps an ICMPv6 message or a UDP datagram and fills in its
// checksum, which IPv6 requires of both.
func ipv6(src, dst netip.Addr, hopLimit, proto byte, msg []byte) []byte {
	h := make([]byte, 40, 40+len(msg))
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(msg)))
	h[6] = proto
	h[7] = hopLimit
	copy(h[8:], src.AsSlice())
	copy(h[24:], dst.AsSlice())
	// Pseudo header: addresses, length, next header.
	pseudo := append(append([]byte{}, h[8:40]...), 0, 0, 0, 0, 0, 0, 0, proto)
	binary.BigEndian.PutUint16(pseudo[32:], uint16(len(msg)))
	at := 2 // ICMPv6 checksum
	if proto == protoUDP {
		at = 6
	}
	msg[at], msg[at+1] = 0, 0
	c := checksum(sum(0, pseudo), msg)
	if proto == protoUDP && c == 0 {
		c = 0xffff // 0 means "no checksum", which IPv6 forbids for UDP
	}
	binary.BigEndian.PutUint16(msg[at:], c)
	return append(h, msg...)
}

// sum adds b to the one's complement sum s (RFC 1071).
func sum(s uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func checksum(s uint32, b []byte) uint16 {
	s = sum(s, b)
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// multicastMAC is the Ethernet address of an IPv6 multicast group.
func multicastMAC(ip netip.Addr) net.HardwareAddr {
	a := ip.As16()
	return net.HardwareAddr{0x33, 0x33, a[12], a[13], a[14], a[15]}
}
