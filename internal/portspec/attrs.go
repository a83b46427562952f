package portspec

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/hostnet/hostnet/internal/config"
)

// Attribute names, shared by the domain metadata, the CLI flags and the
// canonical encoding.
const (
	AttrMAC      = "mac"
	AttrTap      = "tap"
	AttrBridge   = "bridge"
	AttrWire     = "wire"
	AttrVPCPort  = "vpc-port"
	AttrVLAN     = "vlan"
	AttrTrunks   = "trunks"
	AttrSrcCheck = "src-check"
	AttrIP       = "ip"
)

// limitedBroadcast is 255.255.255.255: a destination only.
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// maxIPs bounds the addresses of one NIC: each becomes flows.
const maxIPs = 64

// Attrs is the raw attribute form of a spec. IPs come separately because
// the metadata lists them as child elements.
type Attrs struct {
	Values map[string]string
	IPs    []string
}

// FromAttrs builds and validates a spec. Every problem is reported, each
// naming the attribute, the value and the fix.
func FromAttrs(a Attrs) (PortSpec, error) {
	var errs []error
	fail := func(err error) { errs = append(errs, err) }
	s := PortSpec{VLAN: DefaultVLAN}

	mac, err := NormalizeMAC(a.Values[AttrMAC])
	if err != nil {
		fail(attrError(AttrMAC, fmt.Errorf("mac: %w", err)))
	}
	s.MAC = mac
	if tap := a.Values[AttrTap]; tap != "" {
		if err := config.ValidateIfName(tap); err != nil {
			fail(attrError(AttrTap, fmt.Errorf("tap: %w", err)))
		}
		s.Tap = tap
	}

	s.Bridge, s.Wire, s.VPCPort = a.Values[AttrBridge], a.Values[AttrWire], a.Values[AttrVPCPort]
	switch n := countSet(s.Bridge, s.Wire, s.VPCPort); {
	case n == 0:
		fail(errors.New("names no bridge, wire or vpc-port; set exactly one of them"))
	case n > 1:
		fail(fmt.Errorf("sets %s; set exactly one of bridge, wire and vpc-port", listSet(a.Values)))
	}
	if s.Bridge != "" {
		if err := config.ValidateIfName(s.Bridge); err != nil {
			fail(attrError(AttrBridge, fmt.Errorf("bridge: %w", err)))
		}
	}
	if s.Wire != "" {
		if err := config.ValidateWireName(s.Wire); err != nil {
			fail(attrError(AttrWire, fmt.Errorf("wire: %w", err)))
		}
	}
	if s.VPCPort != "" {
		if err := ValidateVPCPort(s.VPCPort); err != nil {
			fail(attrError(AttrVPCPort, err))
		}
	}

	if v, ok := a.Values[AttrVLAN]; ok {
		vlan, err := ParseVLAN(v)
		if err != nil {
			fail(attrError(AttrVLAN, err))
		}
		s.VLAN = vlan
	}
	if v, ok := a.Values[AttrTrunks]; ok {
		trunks, err := ParseTrunks(v)
		if err != nil {
			fail(attrError(AttrTrunks, err))
		}
		s.Trunks = trunks
	}
	if s.VPCPort != "" && (s.VLAN != DefaultVLAN || len(s.Trunks) > 0) {
		fail(errors.New("vpc-port NICs take no vlan or trunks (OVN isolates them); remove vlan/trunks"))
	}

	if len(a.IPs) > maxIPs {
		fail(attrError(AttrIP, fmt.Errorf("ip: %d addresses listed; at most %d per NIC", len(a.IPs), maxIPs)))
	}
	seen := map[netip.Addr]bool{}
	for _, raw := range a.IPs {
		ip, err := ParseIP(raw)
		if err != nil {
			fail(attrError(AttrIP, err))
			continue
		}
		if seen[ip] {
			fail(attrError(AttrIP, fmt.Errorf("ip %s is listed twice; list each address once", ip)))
			continue
		}
		seen[ip] = true
		s.IPs = append(s.IPs, ip)
	}

	s.SrcCheck = SrcCheckMAC
	switch {
	case s.VPCPort != "":
		// OVN owns the integration bridge's pipeline: a hostnet flow there
		// would send the VM's frames past it. OVN's port_security checks them.
		s.SrcCheck = SrcCheckOff
	case len(s.IPs) > 0:
		s.SrcCheck = SrcCheckOn
	}
	if v, ok := a.Values[AttrSrcCheck]; ok {
		switch SrcCheck(v) {
		case SrcCheckOn, SrcCheckMAC, SrcCheckOff:
			s.SrcCheck = SrcCheck(v)
		default:
			fail(attrError(AttrSrcCheck, fmt.Errorf("src-check %q is not a mode; use on, mac or off", v)))
		}
	}
	if s.VPCPort != "" && s.SrcCheck != SrcCheckOff {
		fail(attrError(AttrSrcCheck, fmt.Errorf("src-check %q on a vpc-port NIC: OVN checks a VPC port's sources (set port_security on logical port %s); remove src-check", s.SrcCheck, s.VPCPort)))
	}
	if s.SrcCheck == SrcCheckOn && len(s.IPs) == 0 && len(errs) == 0 {
		fail(attrError(AttrSrcCheck, errors.New("src-check on lists no ip, so the VM could send nothing but DHCP; add <hostnet:ip address=.../> or use src-check mac")))
	}
	if len(errs) > 0 {
		return PortSpec{}, errors.Join(errs...)
	}
	return s, nil
}

// ParseVLAN parses a VLAN ID, 1..4094, written as plain decimal digits.
// A sign, spaces or leading zeros are refused rather than read past: the
// same value goes to other tools of the host's orchestration, and some
// read "0100" as octal.
func ParseVLAN(v string) (int, error) {
	n, ok := plainVLAN(v)
	if ok {
		return n, nil
	}
	if n, ok := lenientVLAN(v); ok {
		return 0, fmt.Errorf("vlan %q is not written as a plain VLAN ID; write %d (decimal digits only: no sign, spaces or leading zeros)", v, n)
	}
	return 0, fmt.Errorf("vlan %q is not a VLAN ID; use 1..4094 (1 = untagged, all VLANs pass)", v)
}

// plainVLAN accepts exactly the canonical form: 1 to 4 digits, the first
// not 0, with a value of at most 4094.
func plainVLAN(v string) (int, bool) {
	if len(v) == 0 || len(v) > 4 || v[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int(v[i]-'0')
	}
	return n, n <= 4094
}

// lenientVLAN reads what strconv.Atoi would, to suggest the plain form.
func lenientVLAN(v string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return n, err == nil && n >= 1 && n <= 4094
}

// ParseTrunks parses a trunk list such as "100,200-210" into sorted,
// unique VLAN IDs. Each VLAN is written as ParseVLAN wants it, without
// spaces around commas or dashes.
func ParseTrunks(v string) ([]int, error) {
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("trunks %q is empty; list VLANs like 100,200-210 or leave trunks out", v)
	}
	set, bad, ok := trunkSet(v, plainVLAN)
	if !ok {
		if lenient, _, ok := trunkSet(v, lenientVLAN); ok {
			return nil, fmt.Errorf("trunks %q is not written as a plain VLAN list; write %s (decimal digits, commas and dashes only: no signs, spaces or leading zeros)",
				v, FormatTrunks(sortedSet(lenient)))
		}
		return nil, fmt.Errorf("trunks %q: %q is not a VLAN or a range low-high of VLANs 1..4094; write them like 100,200-210", v, bad)
	}
	return sortedSet(set), nil
}

// trunkSet reads a trunk list with parse for each VLAN; unless ok, bad is
// the first element it cannot read.
func trunkSet(v string, parse func(string) (int, bool)) (set map[int]bool, bad string, ok bool) {
	set = map[int]bool{}
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, okA := parse(lo)
		b, okB := a, true
		if isRange {
			b, okB = parse(hi)
		}
		if !okA || !okB || a > b {
			return nil, part, false
		}
		for n := a; n <= b; n++ {
			set[n] = true
		}
	}
	return set, "", true
}

func sortedSet(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sortInts(out)
	return out
}

// FormatTrunks writes VLANs in the compact form ParseTrunks reads.
func FormatTrunks(vlans []int) string {
	var parts []string
	for i := 0; i < len(vlans); {
		j := i
		for j+1 < len(vlans) && vlans[j+1] == vlans[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(vlans[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", vlans[i], vlans[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// ParseIP parses one NIC address: an address without a prefix, not
// unspecified, multicast or link-local (link-local traffic always passes).
func ParseIP(raw string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(strings.TrimSpace(raw))
	if err != nil || ip.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("ip %q is not an IP address; write one address without prefix, like 192.0.2.10 or 2001:db8::10", raw)
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() || ip.IsMulticast() || ip.IsLinkLocalUnicast() || ip.IsLoopback() {
		return netip.Addr{}, fmt.Errorf("ip %s cannot be a NIC's own address (unspecified, multicast, loopback or link-local); list the VM's unicast addresses", ip)
	}
	if ip == limitedBroadcast {
		// A destination only: as a source it is always forged.
		return netip.Addr{}, fmt.Errorf("ip %s is the limited broadcast address, never a NIC's own; list the VM's unicast addresses", ip)
	}
	return ip, nil
}

func countSet(vals ...string) int {
	n := 0
	for _, v := range vals {
		if v != "" {
			n++
		}
	}
	return n
}

func listSet(values map[string]string) string {
	var set []string
	for _, k := range []string{AttrBridge, AttrWire, AttrVPCPort} {
		if values[k] != "" {
			set = append(set, fmt.Sprintf("%s=%q", k, values[k]))
		}
	}
	return strings.Join(set, " and ")
}

func sortInts(v []int) { sort.Ints(v) }
