package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Form is the kind of a networks entry.
type Form int

const (
	// FormIP: NIC/BRIDGE/IP or NIC/BRIDGE/V4/V6; the host IP moves from the NIC to the bridge.
	FormIP Form = iota + 1
	// FormWire: NIC/BRIDGE/WIRE; the NIC carries no IP, the bridge serves the wire.
	FormWire
)

func (f Form) String() string {
	switch f {
	case FormIP:
		return "ip"
	case FormWire:
		return "wire"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// MarshalText makes a Form print as "ip" or "wire" in JSON (status --json).
func (f Form) MarshalText() ([]byte, error) {
	if f != FormIP && f != FormWire {
		return nil, fmt.Errorf("config: cannot marshal unknown %s", f)
	}
	return []byte(f.String()), nil
}

// Entry is one item of networks.
type Entry struct {
	Index  int          // position in networks, for messages: networks[1]
	Raw    string       // as written
	NIC    string       // uplink NIC, e.g. eth1
	Bridge string       // bridge the NIC is enslaved to, e.g. brpub
	Wire   string       // wire form only
	IPs    []netip.Addr // IP form: one v4 and/or one v6, in the order written
}

// Form reports whether e is an IP-form or a wire-form entry.
func (e Entry) Form() Form {
	if e.Wire != "" {
		return FormWire
	}
	return FormIP
}

// Label is the prefix of every message about the entry:
// networks[1] "eth1/brpub/wire1".
func (e Entry) Label() string {
	return fmt.Sprintf("networks[%d] %q", e.Index, e.Raw)
}

func (e Entry) field() string { return fmt.Sprintf("networks[%d]", e.Index) }

func (e Entry) errorf(fix, problem string, args ...any) *FieldError {
	return &FieldError{Field: e.field(), Value: e.Raw, Problem: fmt.Sprintf(problem, args...), Fix: fix}
}

const entryForms = "NIC/BRIDGE/IP, NIC/BRIDGE/IPV4/IPV6 or NIC/BRIDGE/WIRE"

// ParseEntry parses one networks item. index is its position in the list
// and only labels messages. All problems of the item are reported, each as
// a *FieldError.
func ParseEntry(index int, raw string) (Entry, error) {
	e := Entry{Index: index, Raw: raw}
	if raw == "" {
		return Entry{}, e.errorf("write "+entryForms+", e.g. eth0/br0/192.168.222.10", "is empty")
	}
	parts := strings.Split(raw, "/")
	if len(parts) < 3 {
		return Entry{}, e.errorf("write "+entryForms+", e.g. eth0/br0/192.168.222.10 or eth1/brpub/wire1",
			"has %d part(s), an entry has 3 or 4", len(parts))
	}
	e.NIC, e.Bridge = parts[0], parts[1]
	errs := e.checkNames()
	if err := e.parseTail(parts[2:]); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Entry{}, errors.Join(errs...)
	}
	return e, nil
}

func (e *Entry) checkNames() []error {
	var errs []error
	nicOK := ValidateIfName(e.NIC)
	if nicOK != nil {
		errs = append(errs, e.errorf(`use the NIC's name as "ip link" shows it`, "NIC %v", nicOK))
	}
	if e.NIC == "lo" {
		errs = append(errs, e.errorf(`name the physical uplink NIC as "ip link" shows it, e.g. eth0`, "NIC lo is the loopback device, which carries no traffic off the host"))
	}
	brOK := ValidateIfName(e.Bridge)
	if brOK != nil {
		errs = append(errs, e.errorf("choose another bridge name, e.g. br0", "bridge %v", brOK))
	}
	if e.Bridge == "lo" {
		errs = append(errs, e.errorf("choose another bridge name, e.g. "+suggestBridge(e.NIC), "bridge lo is the loopback device, which cannot be a bridge"))
	}
	if nicOK == nil && brOK == nil && e.NIC == e.Bridge && e.NIC != "lo" {
		errs = append(errs, e.errorf("give the bridge its own name, e.g. "+suggestBridge(e.NIC), "NIC and bridge are both %s", e.NIC))
	}
	return errs
}

// parseTail reads what follows NIC/BRIDGE: one IP, two IPs or a wire.
func (e *Entry) parseTail(tail []string) error {
	if fixed, ok := withoutPrefixes(e.NIC, e.Bridge, tail); ok {
		return e.errorf(fmt.Sprintf("write the address alone: %q", fixed),
			"an address with a prefix length; the prefix comes from the live address on the NIC")
	}
	if len(tail) > 2 {
		return e.errorf("write "+entryForms, "has %d parts; an entry has at most 4", len(tail)+2)
	}
	if len(tail) == 1 && !looksLikeIP(tail[0]) {
		if err := ValidateWireName(tail[0]); err != nil {
			return e.errorf("rename the wire", "wire %v", err)
		}
		e.Wire = tail[0]
		return nil
	}
	if len(tail) == 2 && !looksLikeIP(tail[0]) {
		return e.errorf("a wire entry is NIC/BRIDGE/WIRE", "has 4 parts but %q is not an IP address", tail[0])
	}
	var errs []error
	for _, s := range tail {
		ip, problem := parseHostIP(s)
		if problem != "" {
			errs = append(errs, e.errorf("write the host's own address as it is on the NIC, e.g. 192.168.222.10 or 2001:db8::10", "%q %s", s, problem))
			continue
		}
		e.IPs = append(e.IPs, ip)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(e.IPs) == 2 && e.IPs[0].Is4() == e.IPs[1].Is4() {
		return e.errorf("list at most one IPv4 and one IPv6 address; the NIC's other addresses move with it",
			"has two %s addresses", family(e.IPs[0]))
	}
	return nil
}

// withoutPrefixes spots ADDRESS/LEN in the tail and returns the entry
// rewritten without the lengths, for the error's fix.
func withoutPrefixes(nic, bridge string, tail []string) (string, bool) {
	kept := []string{nic, bridge}
	found := false
	for i, s := range tail {
		if i > 0 && isPrefixLen(s) && looksLikeIP(tail[i-1]) {
			found = true
			continue
		}
		kept = append(kept, s)
	}
	return strings.Join(kept, "/"), found
}

func isPrefixLen(s string) bool {
	if len(s) == 0 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// looksLikeIP tells an intended (maybe mistyped) address from a wire name,
// so that "10.0.0.300" is reported as a bad IP, not taken as a wire.
func looksLikeIP(s string) bool {
	if strings.Contains(s, ":") {
		return true
	}
	if !strings.Contains(s, ".") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

func family(ip netip.Addr) string {
	if ip.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// parseHostIP parses an address that must be a host's own unicast address.
// It returns the problem as text ("" when fine), for the caller's message.
func parseHostIP(s string) (netip.Addr, string) {
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, "is not a valid IP address"
	}
	return ip, hostIPProblem(ip)
}

func hostIPProblem(ip netip.Addr) string {
	switch {
	case !ip.IsValid():
		return "is not a valid IP address"
	case ip.Zone() != "":
		return "has a zone; write the address without the %zone part"
	case ip.Is4In6():
		return "is an IPv4-mapped IPv6 address; write it as " + ip.Unmap().String()
	case ip.IsUnspecified():
		return "is the unspecified address"
	case ip.IsLoopback():
		return "is a loopback address"
	case ip.IsMulticast():
		return "is a multicast address"
	case ip.IsLinkLocalUnicast():
		return "is a link-local address (those stay on their link and 169.254.0.0/16 is for wire bridges)"
	case ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "is the broadcast address"
	}
	return ""
}

// validate re-checks an entry that may have been built by hand rather than
// by ParseEntry.
func (e Entry) validate() []error {
	errs := e.checkNames()
	switch {
	case e.Wire != "" && len(e.IPs) > 0:
		errs = append(errs, e.errorf("set either Wire or IPs", "has both a wire and IP addresses"))
	case e.Wire != "":
		if err := ValidateWireName(e.Wire); err != nil {
			errs = append(errs, e.errorf("rename the wire", "wire %v", err))
		}
	case len(e.IPs) == 0:
		errs = append(errs, e.errorf("set a wire or one IP per family", "has neither a wire nor an IP address"))
	case len(e.IPs) > 2:
		errs = append(errs, e.errorf("list at most one IPv4 and one IPv6 address", "has %d addresses", len(e.IPs)))
	default:
		for _, ip := range e.IPs {
			if p := hostIPProblem(ip); p != "" {
				errs = append(errs, e.errorf("use the host's own unicast address", "%q %s", ip.String(), p))
			}
		}
		if len(e.IPs) == 2 && e.IPs[0].Is4() == e.IPs[1].Is4() {
			errs = append(errs, e.errorf("list at most one IPv4 and one IPv6 address", "has two %s addresses", family(e.IPs[0])))
		}
	}
	return errs
}

// suggestBridge proposes a bridge name for a NIC that is not the NIC's own.
func suggestBridge(nic string) string {
	if nic == "br0" {
		return "br1"
	}
	return "br0"
}
