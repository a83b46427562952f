package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
)

var (
	macA = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}
	macB = net.HardwareAddr{0x52, 0x54, 0, 0, 0, 2}
)

// A correct Internet checksum makes the one's complement sum of the
// covered bytes 0xffff, so checksum() over them is 0.
func TestIPv4Checksums(t *testing.T) {
	f := Frame{Kind: "icmp4", SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), ID: 7}
	b, err := f.Bytes(3)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[0:6], macB) || !bytes.Equal(b[6:12], macA) || binary.BigEndian.Uint16(b[12:]) != etherIPv4 {
		t.Fatalf("Ethernet header % x", b[:14])
	}
	ip := b[14:34]
	if checksum(0, ip) != 0 {
		t.Errorf("IPv4 header checksum wrong: % x", ip)
	}
	if checksum(0, b[34:]) != 0 {
		t.Errorf("ICMP checksum wrong: % x", b[34:])
	}
	if id, seq := binary.BigEndian.Uint16(b[38:]), binary.BigEndian.Uint16(b[40:]); id != 7 || seq != 3 {
		t.Errorf("echo id %d seq %d", id, seq)
	}
}

func TestICMPv6Checksum(t *testing.T) {
	f := Frame{Kind: "na", SrcMAC: macA, DstMAC: multicastMAC(netip.MustParseAddr("ff02::1")),
		Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("ff02::1"), Target: netip.MustParseAddr("2001:db8::9")}
	b, err := f.Bytes(1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[0:6], net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}) {
		t.Errorf("destination MAC % x", b[0:6])
	}
	ip6, icmp := b[14:54], b[54:]
	pseudo := append(append([]byte{}, ip6[8:40]...), 0, 0, 0, 0, 0, 0, 0, protoICMPv6)
	binary.BigEndian.PutUint16(pseudo[32:], uint16(len(icmp)))
	if checksum(sum(0, pseudo), icmp) != 0 {
		t.Errorf("ICMPv6 checksum wrong")
	}
	if icmp[0] != icmp6NA || !bytes.Equal(icmp[8:24], netip.MustParseAddr("2001:db8::9").AsSlice()) || ip6[7] != 255 {
		t.Errorf("NA layout: % x", icmp)
	}
	if len(icmp) != 32 || icmp[24] != 2 || !bytes.Equal(icmp[26:32], macA) {
		t.Errorf("NA target link-layer option: % x", icmp[24:])
	}
}

func TestARPSenderMAC(t *testing.T) {
	f := Frame{Kind: "arp", SrcMAC: macA, DstMAC: net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ARPSenderMAC: macB,
		Src: netip.MustParseAddr("10.0.0.1"), Target: netip.MustParseAddr("10.0.0.2")}
	b, err := f.Bytes(1)
	if err != nil {
		t.Fatal(err)
	}
	a := b[14:]
	if !bytes.Equal(b[6:12], macA) || !bytes.Equal(a[8:14], macB) || !bytes.Equal(a[14:18], []byte{10, 0, 0, 1}) || !bytes.Equal(a[24:28], []byte{10, 0, 0, 2}) {
		t.Errorf("ARP frame % x", b)
	}
}

func TestDADCarriesNoOption(t *testing.T) {
	f := Frame{Kind: "ns", SrcMAC: macA, DstMAC: macB, Src: netip.IPv6Unspecified(), Dst: netip.MustParseAddr("ff02::1:ff00:9"), Target: netip.MustParseAddr("2001:db8::9")}
	b, err := f.Bytes(1)
	if err != nil {
		t.Fatal(err)
	}
	if icmp := b[54:]; len(icmp) != 24 || icmp[0] != icmp6NS {
		t.Errorf("DAD NS: % x", icmp)
	}
}

func TestBadFrames(t *testing.T) {
	for _, f := range []Frame{
		{Kind: "icmp4", Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("10.0.0.1")},
		{Kind: "na", Src: netip.MustParseAddr("fe80::1")},
		{Kind: "bogus"},
	} {
		if _, err := f.Bytes(1); err == nil {
			t.Errorf("%+v: no error", f)
		}
	}
}

func TestNDOption(t *testing.T) {
	f := Frame{Kind: "na", SrcMAC: macA, DstMAC: macB, Src: netip.MustParseAddr("fe80::1"), Dst: netip.MustParseAddr("ff02::1"),
		Target: netip.MustParseAddr("2001:db8::9"), NDLinkLayer: macB}
	b, err := f.Bytes(1)
	if err != nil {
		t.Fatal(err)
	}
	if icmp := b[54:]; !bytes.Equal(icmp[26:32], macB) || !bytes.Equal(b[6:12], macA) {
		t.Errorf("NA with another target link-layer address: % x", b)
	}
	f.NoNDOption = true
	if b, _ := f.Bytes(1); len(b[54:]) != 24 {
		t.Errorf("NA without option is %d bytes of ICMPv6, want 24", len(b[54:]))
	}
}

// The UDP-over-IPv6 and router advertisement frames carry valid checksums
// over the pseudo header of their own next-header value.
func TestUDP6AndRAChecksums(t *testing.T) {
	src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1:2")
	for _, tc := range []struct {
		kind  string
		proto byte
		check func(msg []byte) bool
	}{
		{"udp6", protoUDP, func(m []byte) bool {
			return binary.BigEndian.Uint16(m[0:]) == 547 && binary.BigEndian.Uint16(m[2:]) == 546 && int(binary.BigEndian.Uint16(m[4:])) == len(m)
		}},
		{"ra", protoICMPv6, func(m []byte) bool {
			return m[0] == icmp6RA && binary.BigEndian.Uint16(m[6:]) == 1800 && len(m) == 24 && m[16] == 1 && bytes.Equal(m[18:24], macA)
		}},
	} {
		f := Frame{Kind: tc.kind, SrcMAC: macA, DstMAC: multicastMAC(dst), Src: src, Dst: dst, SrcPort: 547, DstPort: 546}
		b, err := f.Bytes(1)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		ip6, msg := b[14:54], b[54:]
		if ip6[6] != tc.proto || int(binary.BigEndian.Uint16(ip6[4:])) != len(msg) {
			t.Errorf("%s: IPv6 header % x", tc.kind, ip6)
		}
		pseudo := append(append([]byte{}, ip6[8:40]...), 0, 0, 0, 0, 0, 0, 0, tc.proto)
		binary.BigEndian.PutUint16(pseudo[32:], uint16(len(msg)))
		if checksum(sum(0, pseudo), msg) != 0 {
			t.Errorf("%s: checksum wrong: % x", tc.kind, msg)
		}
		if !tc.check(msg) {
			t.Errorf("%s: layout % x", tc.kind, msg)
		}
	}
	if _, err := (Frame{Kind: "ra", SrcMAC: macA, Src: netip.MustParseAddr("10.0.0.1"), Dst: dst}).Bytes(1); err == nil {
		t.Error("ra from an IPv4 source accepted")
	}
}
