// Package domain reads hostnet's contract out of a libvirt domain XML
// (DESIGN.md section 3): the NICs of type ethernet whose MAC has a
// <hostnet:interface> entry in the domain metadata, each as a PortSpec with
// its tap (the live XML's <target dev>).
//
// Other apps' metadata, interfaces without hostnet metadata and interfaces
// of other types are left alone. Everything here is pure.
package domain

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/hostnet/hostnet/internal/portspec"
)

// Namespace is the XML namespace of hostnet's domain metadata.
const Namespace = "urn:hostnet:domain:1"

// Domain is what hostnet needs of one domain.
type Domain struct {
	Name string
	UUID string
	NICs []portspec.PortSpec // in metadata order
}

// namespaceFamily starts every hostnet namespace, in any letter case:
// metadata in one that is not exactly Namespace is refused rather than
// ignored. Lower case.
const namespaceFamily = "urn:hostnet:"

// MentionsHostnet is a cheap test run before any parsing: a domain whose
// XML names no hostnet namespace, in any letter case, has nothing for
// hostnet, and the hook leaves it alone without reading config or
// connecting to OVS.
func MentionsHostnet(domainXML []byte) bool {
	return bytes.Contains(bytes.ToLower(domainXML), []byte(namespaceFamily))
}

// inNamespaceFamily reports whether an XML namespace is a hostnet one,
// ignoring letter case and surrounding white space.
func inNamespaceFamily(space string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(space)), namespaceFamily)
}

// Parse reads a domain XML. Every problem with hostnet's metadata is
// reported (errors.Join), each on one line naming the interface, the
// attribute, the value and the fix.
func Parse(domainXML []byte) (*Domain, error) {
	var dx libvirtxml.Domain
	if err := dx.Unmarshal(string(domainXML)); err != nil {
		return nil, fmt.Errorf("domain XML is not valid: %w", err)
	}
	d := &Domain{Name: dx.Name, UUID: dx.UUID}
	label := fmt.Sprintf("domain %q", dx.Name)
	if dx.Metadata == nil {
		return d, nil
	}
	entries, err := parseMetadata(dx.Metadata.XML)
	if err != nil {
		return nil, fmt.Errorf("%s: hostnet metadata: %w", label, err)
	}
	if len(entries) == 0 {
		return d, nil
	}

	nics, err := interfacesByMAC(dx.Devices)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	var errs []error
	seenMAC := map[string]bool{}
	seenTap := map[string]string{}
	for _, e := range entries {
		mac, err := portspec.NormalizeMAC(e.attrs.Values[portspec.AttrMAC])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: hostnet:interface #%d: mac: %w", label, e.index+1, err))
			continue
		}
		if seenMAC[mac] {
			errs = append(errs, fmt.Errorf("%s: interface %s: listed twice in hostnet metadata; keep one entry per MAC", label, mac))
			continue
		}
		seenMAC[mac] = true
		nic, ok := nics[mac]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: interface %s: no <interface> of the domain has this MAC; fix the mac in the hostnet metadata or add the interface", label, mac))
			continue
		}
		if nic.kind != "ethernet" {
			errs = append(errs, fmt.Errorf("%s: interface %s is <interface type='%s'>; hostnet plugs only type='ethernet' (make it ethernet or remove its hostnet entry)", label, mac, nic.kind))
			continue
		}
		e.attrs.Values[portspec.AttrTap] = nic.tap
		spec, err := portspec.FromAttrs(e.attrs)
		if err != nil {
			errs = append(errs, prefixEach(fmt.Sprintf("%s: interface %s", label, mac), err))
			continue
		}
		if spec.Tap != "" {
			if other, dup := seenTap[spec.Tap]; dup {
				errs = append(errs, fmt.Errorf("%s: interfaces %s and %s both use tap %s; give each its own <target dev>", label, other, mac, spec.Tap))
				continue
			}
			seenTap[spec.Tap] = mac
		}
		spec.DomainName, spec.DomainUUID = d.Name, d.UUID
		d.NICs = append(d.NICs, spec)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return d, nil
}

type domainNIC struct {
	kind string
	tap  string
}

func interfacesByMAC(devices *libvirtxml.DomainDeviceList) (map[string]domainNIC, error) {
	out := map[string]domainNIC{}
	if devices == nil {
		return out, nil
	}
	for i, iface := range devices.Interfaces {
		if iface.MAC == nil || iface.MAC.Address == "" {
			continue // libvirt assigns a MAC on define; metadata cannot match it yet
		}
		mac, err := portspec.NormalizeMAC(iface.MAC.Address)
		if err != nil {
			return nil, fmt.Errorf("<interface> #%d: %w", i+1, err)
		}
		if _, dup := out[mac]; dup {
			return nil, fmt.Errorf("two <interface> elements have MAC %s; give each NIC its own MAC", mac)
		}
		nic := domainNIC{kind: interfaceType(iface)}
		if iface.Target != nil {
			nic.tap = iface.Target.Dev
		}
		out[mac] = nic
	}
	return out, nil
}

// interfaceType recovers the type attribute, which libvirtxml turns into
// the variant of Source that is set.
func interfaceType(iface libvirtxml.DomainInterface) string {
	s := iface.Source
	switch {
	case s == nil:
		return "unknown"
	case s.Ethernet != nil:
		return "ethernet"
	case s.Bridge != nil:
		return "bridge"
	case s.Network != nil:
		return "network"
	case s.Direct != nil:
		return "direct"
	case s.VHostUser != nil:
		return "vhostuser"
	case s.User != nil:
		return "user"
	case s.Hostdev != nil:
		return "hostdev"
	default:
		return "other"
	}
}

// prefixEach puts prefix in front of every joined error, so each stays one
// self-contained line.
func prefixEach(prefix string, err error) error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		var out []error
		for _, e := range joined.Unwrap() {
			out = append(out, fmt.Errorf("%s: %w", prefix, e))
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

// Instance is a domain's identity and the taps of its ethernet interfaces,
// read without judging its hostnet metadata: what an unplug needs, which
// must work even for a domain whose metadata has become invalid.
type Instance struct {
	Name string
	UUID string
	Taps []string
}

// ParseInstance reads the identity and ethernet taps of a domain XML. A
// document that does not parse whole (cut short, broken) still yields the
// domain's name and UUID when its start has them: the ports hostnet plugged
// for a domain are found by UUID, and a stop must still remove them.
func ParseInstance(domainXML []byte) (*Instance, error) {
	var dx libvirtxml.Domain
	if err := dx.Unmarshal(string(domainXML)); err != nil {
		if in := identityOf(domainXML); in.UUID != "" {
			return in, nil
		}
		return nil, fmt.Errorf("domain XML is not valid: %w", err)
	}
	in := &Instance{Name: dx.Name, UUID: dx.UUID}
	if dx.Devices == nil {
		return in, nil
	}
	for _, iface := range dx.Devices.Interfaces {
		if interfaceType(iface) == "ethernet" && iface.Target != nil && iface.Target.Dev != "" {
			in.Taps = append(in.Taps, iface.Target.Dev)
		}
	}
	return in, nil
}

// ParseStatus reads a libvirt status file (/run/libvirt/qemu/NAME.xml: a
// <domstatus> holding the live <domain>), for the NICs of a running domain
// without calling libvirt.
func ParseStatus(status []byte) (*Domain, error) {
	inner, err := liveDomain(status)
	if err != nil {
		return nil, err
	}
	return Parse(inner)
}

// liveDomain cuts the <domain> element out of a <domstatus> document.
func liveDomain(status []byte) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(status))
	depth := 0
	for {
		offset := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("libvirt status XML has no <domain>: %w", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 && el.Name.Local != "domstatus" {
				return nil, fmt.Errorf("libvirt status XML starts with <%s>, want <domstatus>", el.Name.Local)
			}
			if depth == 2 && el.Name.Local == "domain" {
				if err := dec.Skip(); err != nil {
					return nil, fmt.Errorf("libvirt status XML: %w", err)
				}
				return status[offset:dec.InputOffset()], nil
			}
		case xml.EndElement:
			depth--
		}
	}
}

// identityOf scans a domain XML for <domain>'s own <name> and <uuid>,
// stopping at the first error.
func identityOf(domainXML []byte) *Instance {
	in := &Instance{}
	dec := xml.NewDecoder(bytes.NewReader(domainXML))
	var path []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return in
		}
		switch el := tok.(type) {
		case xml.StartElement:
			path = append(path, el.Name.Local)
		case xml.EndElement:
			if len(path) > 0 {
				path = path[:len(path)-1]
			}
		case xml.CharData:
			if len(path) != 2 || path[0] != "domain" {
				continue
			}
			switch path[1] {
			case "uuid":
				in.UUID = strings.TrimSpace(string(el))
			case "name":
				in.Name = strings.TrimSpace(string(el))
			}
		}
	}
}
