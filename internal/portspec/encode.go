package portspec

import (
	"fmt"
	"strconv"
	"strings"
)

// Encode writes the spec's attributes in one canonical line, the form
// hostnet stores on the OVS interface (external_ids:hostnet-spec) so that
// ports and flows can be rebuilt from OVSDB alone. Domain identity and the
// tap are stored in their own keys and are not part of it.
func (s PortSpec) Encode() string {
	parts := []string{AttrMAC + "=" + s.MAC}
	switch {
	case s.Wire != "":
		parts = append(parts, AttrWire+"="+s.Wire)
	case s.VPCPort != "":
		parts = append(parts, AttrVPCPort+"="+s.VPCPort)
	default:
		parts = append(parts, AttrBridge+"="+s.Bridge)
	}
	parts = append(parts, AttrVLAN+"="+strconv.Itoa(s.VLAN))
	if len(s.Trunks) > 0 {
		parts = append(parts, AttrTrunks+"="+FormatTrunks(s.Trunks))
	}
	parts = append(parts, AttrSrcCheck+"="+string(s.SrcCheck))
	if len(s.IPs) > 0 {
		ips := make([]string, len(s.IPs))
		for i, ip := range s.IPs {
			ips[i] = ip.String()
		}
		parts = append(parts, AttrIP+"="+strings.Join(ips, ","))
	}
	return strings.Join(parts, " ")
}

// Decode parses what Encode wrote, validating it like any other input: an
// external_ids value edited by hand is not trusted.
func Decode(encoded string) (PortSpec, error) {
	a := Attrs{Values: map[string]string{}}
	for _, field := range strings.Fields(encoded) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return PortSpec{}, fmt.Errorf("hostnet-spec %q: %q is not key=value", encoded, field)
		}
		if _, dup := a.Values[k]; dup || (k == AttrIP && a.IPs != nil) {
			return PortSpec{}, fmt.Errorf("hostnet-spec %q: %s appears twice", encoded, k)
		}
		switch k {
		case AttrIP:
			a.IPs = strings.Split(v, ",")
		case AttrMAC, AttrBridge, AttrWire, AttrVPCPort, AttrVLAN, AttrTrunks, AttrSrcCheck:
			a.Values[k] = v
		default:
			return PortSpec{}, fmt.Errorf("hostnet-spec %q: unknown attribute %q", encoded, k)
		}
	}
	s, err := FromAttrs(a)
	if err != nil {
		return PortSpec{}, fmt.Errorf("hostnet-spec %q: %w", encoded, err)
	}
	return s, nil
}
