// Package portspec is what one VM NIC needs from hostnet: where it plugs
// (bridge, wire or VPC port), its VLAN settings, its source checks and its
// IPs. The same attributes come from the domain metadata, from the flags of
// `hostnet-plug add` and from the external_ids hostnet writes on the OVS
// interface, so all three parse through FromAttrs and one canonical encoding.
//
// Everything here is pure: no OVS, no netlink.
package portspec

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// SrcCheck is the source check mode of a NIC.
type SrcCheck string

// Source check modes (DESIGN.md section 3).
const (
	SrcCheckOn  SrcCheck = "on"  // MAC and IPs
	SrcCheckMAC SrcCheck = "mac" // MAC only
	SrcCheckOff SrcCheck = "off" // nothing
)

// VLANMode is how the port treats VLANs; the names are OVS's vlan_mode.
type VLANMode string

// VLAN modes of a hostnet port.
const (
	// ModeBRTrunk is VLAN 1: no tag, every VLAN passes, untagged frames
	// stay untagged. For VMs that run their own VLAN interfaces.
	ModeBRTrunk VLANMode = "brtrunk"
	// ModeAccess carries one VLAN, untagged on the VM side.
	ModeAccess VLANMode = "access"
	// ModeTrunk carries only the listed VLANs, tagged.
	ModeTrunk VLANMode = "trunk"
	// ModeNativeUntagged carries the listed VLANs tagged and the native
	// VLAN untagged.
	ModeNativeUntagged VLANMode = "native-untagged"
)

// DefaultVLAN is the VLAN of a NIC that names none: untagged and transparent.
const DefaultVLAN = 1

// PortSpec is what one NIC needs. Exactly one of Bridge, Wire and VPCPort
// is set.
type PortSpec struct {
	MAC      string // lower case, colon separated
	Tap      string // the tap device; empty before libvirt creates it
	Bridge   string
	Wire     string
	VPCPort  string
	VLAN     int   // 1..4094; 1 = untagged and transparent (BRTRUNK)
	Trunks   []int // sorted, unique; empty = no trunk list
	SrcCheck SrcCheck
	IPs      []netip.Addr

	DomainUUID string
	DomainName string
}

// Mode returns the VLAN mode the settings mean.
func (s PortSpec) Mode() VLANMode {
	switch {
	case s.VLAN == DefaultVLAN && len(s.Trunks) == 0:
		return ModeBRTrunk
	case s.VLAN == DefaultVLAN:
		return ModeTrunk
	case len(s.Trunks) == 0:
		return ModeAccess
	default:
		return ModeNativeUntagged
	}
}

// PortVLAN is the OVS Port columns for the VLAN settings: Tag 0 means no
// tag, an empty Mode means OVS's default (trunk of every VLAN).
type PortVLAN struct {
	Tag    int
	Trunks []int
	Mode   string
}

// PortVLAN maps the spec to the Port's tag, trunks and vlan_mode. Every
// column is always written, so a re-plug clears what an earlier plug set.
func (s PortSpec) PortVLAN() PortVLAN {
	switch s.Mode() {
	case ModeAccess:
		return PortVLAN{Tag: s.VLAN, Mode: "access"}
	case ModeTrunk:
		return PortVLAN{Trunks: s.Trunks, Mode: "trunk"}
	case ModeNativeUntagged:
		// The native VLAN is carried too, untagged.
		return PortVLAN{Tag: s.VLAN, Trunks: mergeVLAN(s.Trunks, s.VLAN), Mode: "native-untagged"}
	default:
		return PortVLAN{}
	}
}

// Label names the NIC in messages: its MAC, and its tap once known.
func (s PortSpec) Label() string {
	if s.Tap != "" {
		return fmt.Sprintf("interface %s (%s)", s.MAC, s.Tap)
	}
	return "interface " + s.MAC
}

// Target describes where the NIC plugs, for messages and logs.
func (s PortSpec) Target() string {
	switch {
	case s.Wire != "":
		return "wire " + s.Wire
	case s.VPCPort != "":
		return "vpc-port " + s.VPCPort
	default:
		return "bridge " + s.Bridge
	}
}

func mergeVLAN(trunks []int, vlan int) []int {
	for _, t := range trunks {
		if t == vlan {
			return trunks
		}
	}
	out := append([]int{}, trunks...)
	out = append(out, vlan)
	sortInts(out)
	return out
}

// NormalizeMAC parses a unicast Ethernet MAC and returns it lower case,
// colon separated.
func NormalizeMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("%q is not an Ethernet MAC address; write it as 52:54:00:12:34:56", s)
	}
	if hw[0]&1 == 1 {
		return "", fmt.Errorf("%q is a multicast MAC address; a NIC needs a unicast one", s)
	}
	if bytes.Equal(hw, make(net.HardwareAddr, 6)) {
		// "No address": ARP probes and neighbour discovery use it so, and
		// the source-check flows let it through as such.
		return "", fmt.Errorf("%q is the all-zero MAC address, which no NIC may use; give the NIC its own unicast MAC, like 52:54:00:12:34:56", s)
	}
	return hw.String(), nil
}

// validVPCPort is what hostnet accepts as an OVN logical port name: 1-128
// letters, digits, '_', '.', ':' or '-', starting with a letter or digit;
// enough for UUIDs and the usual names, nothing that OVS or a shell could
// read as syntax. Written out rather than as a regexp: compiling
// {0,127} cost every hook run half a millisecond at start.
func validVPCPort(name string) bool {
	if len(name) == 0 || len(name) > 128 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_.:-", rune(c))) {
			return false
		}
	}
	return true
}

// ValidateVPCPort checks an OVN logical switch port name.
func ValidateVPCPort(name string) error {
	if !validVPCPort(name) {
		return fmt.Errorf("vpc-port %q is not a valid logical port name; use 1-128 letters, digits, '_', '.', ':' or '-', starting with a letter or digit", name)
	}
	return nil
}
