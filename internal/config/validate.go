package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Validate checks every rule on c and returns an errors.Join of a
// *FieldError per problem, or nil. Parse already did this; Validate is for
// configs built or changed in code.
func (c *Config) Validate() error {
	var errs []error
	for i, e := range c.Networks {
		if e.Index != i {
			errs = append(errs, e.errorf("build entries with ParseEntry(position, raw)",
				"is at position %d of networks", i))
		}
	}
	return errors.Join(append(errs, c.validate()...)...)
}

// validate returns every problem of c. Entries' own fields are re-checked
// (cheap) so that hand-built configs get the same guarantees.
func (c *Config) validate() []error {
	var errs []error
	errs = append(errs, c.validateNetworks()...)
	errs = append(errs, c.validateOVS()...)
	errs = append(errs, c.validateOVN()...)
	errs = append(errs, c.validateHostVLANs()...)
	return errs
}

func (c *Config) validateNetworks() []error {
	var errs []error
	nics := map[string]Entry{}
	bridges := map[string]Entry{}
	wires := map[string]Entry{}
	var good []Entry
	for _, e := range c.Networks {
		if es := e.validate(); len(es) > 0 {
			errs = append(errs, es...)
			continue
		}
		good = append(good, e)
		if other, dup := nics[e.NIC]; dup {
			errs = append(errs, e.errorf("give each NIC one entry; a dual-stack NIC is NIC/BRIDGE/IPV4/IPV6",
				"NIC %s is already used by %s", e.NIC, other.field()))
		} else {
			nics[e.NIC] = e
		}
		if other, dup := bridges[e.Bridge]; dup {
			errs = append(errs, e.errorf("give each entry its own bridge",
				"bridge %s is already used by %s", e.Bridge, other.field()))
		} else {
			bridges[e.Bridge] = e
		}
		if e.Wire == "" {
			continue
		}
		if other, dup := wires[e.Wire]; dup {
			errs = append(errs, e.errorf("a wire is reached through one NIC; keep one of the entries",
				"wire %s is already used by %s", e.Wire, other.field()))
		} else {
			wires[e.Wire] = e
		}
	}
	// A NIC of one entry as the bridge of another would enslave a bridge
	// into itself or move the host IP in a circle.
	for _, e := range good {
		if other, ok := bridges[e.NIC]; ok && other.Index != e.Index {
			errs = append(errs, e.errorf("a NIC cannot also be a bridge; rename the bridge of "+other.field(),
				"NIC %s is the bridge of %s", e.NIC, other.field()))
		}
	}

	br := c.OVNIntegrationBridge
	const key = keyOVNIntegrationBridge
	if err := ValidateIfName(br); err != nil {
		errs = append(errs, &FieldError{Field: key, Problem: err.Error(), Fix: "use e.g. " + DefaultOVNIntegrationBridge})
		return errs
	}
	if e, ok := bridges[br]; ok {
		errs = append(errs, &FieldError{Field: key, Value: br, Problem: "is also the bridge of " + e.Label(),
			Fix: "the VPC bridge is a bridge of its own (default " + DefaultOVNIntegrationBridge + ")"})
	}
	if e, ok := nics[br]; ok {
		errs = append(errs, &FieldError{Field: key, Value: br, Problem: "is the NIC of " + e.Label(),
			Fix: "the VPC bridge is a bridge of its own (default " + DefaultOVNIntegrationBridge + ")"})
	}
	return errs
}

func (c *Config) validateOVS() []error {
	var errs []error
	if c.BridgeDriver != DriverOpenVSwitch && c.BridgeDriver != DriverLinuxBridge {
		errs = append(errs, &FieldError{Field: keyBridgeDriver, Value: c.BridgeDriver, Problem: "is not a known bridge driver",
			Fix: "use one of: " + DriverOpenVSwitch + ", " + DriverLinuxBridge})
	}
	if c.DatapathType != DatapathSystem && c.DatapathType != DatapathNetdev {
		errs = append(errs, &FieldError{Field: keyDatapathType, Value: c.DatapathType, Problem: "is not a known datapath type",
			Fix: "use one of: " + DatapathSystem + " (kernel module), " + DatapathNetdev + " (userspace)"})
	}
	if c.OVSTimeout <= 0 || c.OVSTimeout > MaxOVSTimeout {
		errs = append(errs, &FieldError{Field: keyOVSTimeout, Value: c.OVSTimeout.String(),
			Problem: "must be more than 0 and at most " + MaxOVSTimeout.String(), Fix: "e.g. " + DefaultOVSTimeout.String()})
	}
	if p := pathProblem(c.OVSRundir); p != "" {
		errs = append(errs, &FieldError{Field: keyOVSRundir, Value: c.OVSRundir, Problem: p,
			Fix: "set ovs_rundir (or $" + EnvOVSRundir + ") to an absolute path, e.g. " + DefaultOVSRundir})
	}
	if p := pathProblem(c.StateDir); p != "" {
		errs = append(errs, &FieldError{Field: keyStateDir, Value: c.StateDir, Problem: p, Fix: "e.g. " + DefaultStateDir})
	}
	return errs
}

func pathProblem(p string) string {
	switch {
	case p == "":
		return "is empty"
	case strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "contains a control character"
	case !filepath.IsAbs(p):
		return "is not an absolute path"
	}
	return ""
}

func (c *Config) validateOVN() []error {
	var errs []error
	if c.OVNEncapType != EncapGeneve && c.OVNEncapType != EncapVXLAN {
		errs = append(errs, &FieldError{Field: keyOVNEncapType, Value: c.OVNEncapType, Problem: "is not a supported encapsulation",
			Fix: "use one of: " + EncapGeneve + ", " + EncapVXLAN})
	}
	if ip := c.OVNEncapIP; ip.IsValid() {
		if p := encapIPProblem(ip); p != "" {
			errs = append(errs, &FieldError{Field: keyOVNEncapIP, Value: ip.String(), Problem: p,
				Fix: "write this host's tunnel endpoint address, e.g. 10.0.0.5"})
		}
	}
	if db := c.OVNSouthDatabase; db != "" {
		for _, remote := range strings.Split(db, ",") {
			if p := remoteProblem(remote); p != "" {
				errs = append(errs, &FieldError{Field: keyOVNSouthDatabase, Value: db,
					Problem: fmt.Sprintf("%q %s", remote, p),
					Fix:     "write tcp:HOST:PORT, ssl:HOST:PORT or unix:/PATH, comma separated, e.g. tcp:10.0.0.2:6642"})
			}
		}
	}
	return errs
}

func encapIPProblem(ip netip.Addr) string {
	switch {
	case ip.Zone() != "":
		return "has a zone"
	case ip.Is4In6():
		return "is an IPv4-mapped IPv6 address; write it as " + ip.Unmap().String()
	case ip.IsUnspecified():
		return "is the unspecified address"
	case ip.IsMulticast():
		return "is a multicast address"
	}
	return ""
}

// remoteProblem checks one OVSDB remote the way ovn-controller will read
// it: tcp:HOST:PORT, ssl:HOST:PORT (IPv6 hosts in brackets) or unix:PATH.
func remoteProblem(r string) string {
	method, rest, ok := strings.Cut(r, ":")
	if !ok {
		return "has no method"
	}
	switch method {
	case "unix":
		if p := pathProblem(rest); p != "" {
			return "socket path " + p
		}
		return ""
	case "tcp", "ssl":
	default:
		return "has an unknown method (tcp, ssl and unix are allowed)"
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return "is not METHOD:HOST:PORT (an IPv6 host goes in brackets: tcp:[2001:db8::2]:6642)"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
		return "has a port that is not 1..65535"
	}
	if strings.HasPrefix(rest, "[") {
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() || ip.Is4In6() {
			return "has a bracketed host that is not an IPv6 address"
		}
		return ""
	}
	if !validHostname(host) {
		return "has a host that is not an IP address or DNS name"
	}
	return ""
}

// validHostname accepts IPv4 literals and DNS names (letters, digits, -
// and dots, labels of 1..63).
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func (c *Config) validateHostVLANs() []error {
	if len(c.HostVLANs) == 0 {
		return nil
	}
	var errs []error
	if c.BridgeDriver == DriverLinuxBridge {
		errs = append(errs, &FieldError{Field: keyHostVLANs,
			Problem: "is set but bridge_driver linux_bridge is plain bridging without VLANs",
			Fix:     "remove host_vlans or use bridge_driver: " + DriverOpenVSwitch})
	}
	var ipBridges []string
	for _, e := range c.Networks {
		if e.Form() == FormIP {
			ipBridges = append(ipBridges, e.Bridge)
		}
	}
	fix := "use the bridge of an IP-form networks entry"
	if len(ipBridges) > 0 {
		fix += " (" + strings.Join(ipBridges, ", ") + ")"
	}
	bridges := make([]string, 0, len(c.HostVLANs))
	for b := range c.HostVLANs {
		bridges = append(bridges, b)
	}
	slices.Sort(bridges)
	for _, b := range bridges {
		vlan := c.HostVLANs[b]
		e, ok := c.EntryForBridge(b)
		switch {
		case !ok:
			errs = append(errs, &FieldError{Field: keyHostVLANs, Value: b, Problem: "is not the bridge of any networks entry", Fix: fix})
		case e.Form() != FormIP:
			errs = append(errs, &FieldError{Field: keyHostVLANs, Value: b,
				Problem: "is the bridge of wire entry " + e.Label() + ", which has no host IP", Fix: fix})
		}
		if vlan < 1 || vlan > 4094 {
			errs = append(errs, &FieldError{Field: keyHostVLANs, Value: b,
				Problem: fmt.Sprintf("VLAN %d is out of range", vlan), Fix: "use a VLAN ID from 1 to 4094"})
		}
	}
	return errs
}
