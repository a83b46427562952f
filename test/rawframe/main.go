// Command rawframe sends hand-built Ethernet frames out of one interface
// with an AF_PACKET socket, for the source-check tests: frames whose MAC,
// IP, ARP sender or ND target lie, which no ordinary tool sends. Run it
// inside the namespace of the interface (ip netns exec), as root.
//
//	rawframe -i eth0 -kind icmp4 -src 10.0.0.99 -dst 10.0.0.2 -dst-mac 52:54:00:00:00:02
//	rawframe -i eth0 -kind na -src fe80::1 -target 2001:db8::2
//
// The source MAC defaults to the interface's own. It sends -count frames
// -interval apart and exits 0 when all were sent.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "rawframe:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("rawframe", flag.ContinueOnError)
	dev := fs.String("i", "", "interface to send on (required)")
	kind := fs.String("kind", "", "icmp4, udp4, arp, icmp6, udp6, na, ns or ra")
	srcMAC := fs.String("src-mac", "", "Ethernet source (default: the interface's MAC)")
	dstMAC := fs.String("dst-mac", "", "Ethernet destination (default: broadcast, or the IPv6 multicast group of -dst)")
	arpSHA := fs.String("arp-sha", "", "ARP sender MAC (default: -src-mac)")
	ndLL := fs.String("nd-lladdr", "", `link-layer address option of na/ns (default: -src-mac; "none": no option)`)
	src := fs.String("src", "", "source IP (ARP: sender IP)")
	dst := fs.String("dst", "", "destination IP (na/ns/ra default ff02::1)")
	target := fs.String("target", "", "ARP target IP, ND target")
	id := fs.Uint("id", 0x4e48, "ICMP echo identifier")
	sport := fs.Uint("sport", 68, "udp4/udp6 source port")
	dport := fs.Uint("dport", 67, "udp4/udp6 destination port")
	count := fs.Int("count", 3, "frames to send")
	interval := fs.Duration("interval", 50*time.Millisecond, "time between frames")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dev == "" || *kind == "" {
		return errors.New("-i and -kind are required")
	}
	ifi, err := net.InterfaceByName(*dev)
	if err != nil {
		return err
	}
	f := Frame{Kind: *kind, SrcMAC: ifi.HardwareAddr, ID: uint16(*id), SrcPort: uint16(*sport), DstPort: uint16(*dport)}
	if f.SrcMAC, err = macOr(*srcMAC, ifi.HardwareAddr); err != nil {
		return err
	}
	if *arpSHA != "" {
		if f.ARPSenderMAC, err = net.ParseMAC(*arpSHA); err != nil {
			return err
		}
	}
	switch *ndLL {
	case "":
	case "none":
		f.NoNDOption = true
	default:
		if f.NDLinkLayer, err = net.ParseMAC(*ndLL); err != nil {
			return err
		}
	}
	for _, a := range []struct {
		s   string
		dst *netip.Addr
	}{{*src, &f.Src}, {*dst, &f.Dst}, {*target, &f.Target}} {
		if a.s == "" {
			continue
		}
		if *a.dst, err = netip.ParseAddr(a.s); err != nil {
			return err
		}
	}
	if (f.Kind == "na" || f.Kind == "ns" || f.Kind == "ra") && !f.Dst.IsValid() {
		f.Dst = netip.MustParseAddr("ff02::1")
	}
	broadcast := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	if f.Dst.Is6() && f.Dst.IsMulticast() {
		broadcast = multicastMAC(f.Dst)
	}
	if f.DstMAC, err = macOr(*dstMAC, broadcast); err != nil {
		return err
	}

	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	defer unix.Close(fd)
	addr := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
	copy(addr.Addr[:], f.DstMAC)
	for i := 0; i < *count; i++ {
		b, err := f.Bytes(uint16(i + 1))
		if err != nil {
			return err
		}
		if err := unix.Sendto(fd, b, 0, addr); err != nil {
			return fmt.Errorf("send on %s: %w", *dev, err)
		}
		if i+1 < *count {
			time.Sleep(*interval)
		}
	}
	return nil
}

func macOr(s string, def net.HardwareAddr) (net.HardwareAddr, error) {
	if s == "" {
		return def, nil
	}
	return net.ParseMAC(s)
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
