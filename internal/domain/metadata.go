package domain

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hostnet/hostnet/internal/portspec"
)

// metadataEntry is one <hostnet:interface>.
type metadataEntry struct {
	index int
	attrs portspec.Attrs
}

// interfaceAttrs are the attributes <hostnet:interface> may carry. Anything
// else is refused so that a typo (vlna="100") is not silently ignored.
var interfaceAttrs = map[string]bool{
	portspec.AttrMAC: true, portspec.AttrBridge: true, portspec.AttrWire: true, portspec.AttrVPCPort: true,
	portspec.AttrVLAN: true, portspec.AttrTrunks: true, portspec.AttrSrcCheck: true,
}

// parseMetadata finds <hostnet:interfaces> among the metadata elements (the
// inner XML of <metadata>, where other apps keep theirs) and returns its
// entries. No hostnet element means no entries.
func parseMetadata(inner string) ([]metadataEntry, error) {
	dec := xml.NewDecoder(strings.NewReader("<metadata>" + inner + "</metadata>"))
	var entries []metadataEntry
	found := false
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("metadata is not valid XML: %w", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && el.Name.Space != Namespace && inNamespaceFamily(el.Name.Space) {
				// A typo, another version, another letter case or white
				// space around it: without this the VM would start with
				// its NICs on no bridge and nothing said.
				return nil, fmt.Errorf("<%s> is in namespace %q, which this hostnet does not read; write xmlns:hostnet=%q", el.Name.Local, el.Name.Space, Namespace)
			}
			if depth != 2 || el.Name.Space != Namespace {
				continue
			}
			if el.Name.Local != "interfaces" {
				return nil, fmt.Errorf("unknown element <%s> in %s; the root element is <hostnet:interfaces>", el.Name.Local, Namespace)
			}
			if found {
				return nil, fmt.Errorf("two <hostnet:interfaces> elements; keep one")
			}
			found = true
			entries, err = parseInterfaces(dec)
			if err != nil {
				return nil, err
			}
			depth--
		case xml.EndElement:
			depth--
		}
	}
}

// parseInterfaces reads the children of <hostnet:interfaces> up to its end.
func parseInterfaces(dec *xml.Decoder) ([]metadataEntry, error) {
	var entries []metadataEntry
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("metadata is not valid XML: %w", err)
		}
		switch el := tok.(type) {
		case xml.EndElement:
			return entries, nil
		case xml.StartElement:
			if el.Name.Space != Namespace || el.Name.Local != "interface" {
				return nil, fmt.Errorf("unexpected element <%s> in <hostnet:interfaces>; it holds <hostnet:interface> elements only", el.Name.Local)
			}
			e, err := parseInterface(dec, el, len(entries))
			if err != nil {
				return nil, err
			}
			entries = append(entries, e)
		}
	}
}

func parseInterface(dec *xml.Decoder, start xml.StartElement, index int) (metadataEntry, error) {
	e := metadataEntry{index: index, attrs: portspec.Attrs{Values: map[string]string{}}}
	where := fmt.Sprintf("hostnet:interface #%d", index+1)
	for _, a := range start.Attr {
		if a.Name.Space != "" {
			continue // xmlns declarations and other apps' attributes
		}
		if !interfaceAttrs[a.Name.Local] {
			return e, fmt.Errorf("%s: unknown attribute %s=%q; use mac, bridge, wire, vpc-port, vlan, trunks or src-check", where, a.Name.Local, a.Value)
		}
		e.attrs.Values[a.Name.Local] = a.Value
	}
	if mac := e.attrs.Values[portspec.AttrMAC]; mac != "" {
		where = "hostnet:interface " + mac
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return e, fmt.Errorf("%s: metadata is not valid XML: %w", where, err)
		}
		switch el := tok.(type) {
		case xml.EndElement:
			return e, nil
		case xml.StartElement:
			if el.Name.Space != Namespace || el.Name.Local != "ip" {
				return e, fmt.Errorf("%s: unexpected element <%s>; an interface holds <hostnet:ip address=.../> elements only", where, el.Name.Local)
			}
			addr, ok := attr(el, "address")
			if !ok {
				return e, fmt.Errorf("%s: <hostnet:ip> has no address attribute; write <hostnet:ip address=\"192.0.2.10\"/>", where)
			}
			e.attrs.IPs = append(e.attrs.IPs, addr)
			if err := dec.Skip(); err != nil {
				return e, fmt.Errorf("%s: metadata is not valid XML: %w", where, err)
			}
		}
	}
}

func attr(el xml.StartElement, name string) (string, bool) {
	for _, a := range el.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}
