package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// parseDocument returns the top-level mapping, or nil for an empty file.
func parseDocument(data []byte, file string) (root *yaml.Node, err error) {
	// The YAML library is an input boundary fed by operators: turn a panic
	// inside it into an error rather than crash the boot step or the hook.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("%s: %w: the YAML parser failed (%v)", file, ErrSyntax, r)
		}
	}()
	if err := checkText(data, file); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(file, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("%s: %w: line %d: a second YAML document starts here; keep one document", file, ErrSyntax, next.Line)
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, err)
	}
	root = &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, nil
		}
		root = root.Content[0]
	}
	root = resolve(root)
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: %w: line %d: the top level is a %s; it must be a mapping of keys such as \"networks:\"",
			file, ErrSyntax, root.Line, kindName(root))
	}
	return root, nil
}

// syntaxError names the file and the line. The YAML library leaves the line
// out when it is the first one (it counts from 0 and prints only non-zero
// lines); checkText has already caught the errors it reports without any
// position, so a message without a line is about line 1.
func syntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if !strings.HasPrefix(msg, "line ") {
		msg = "line 1: " + msg
	}
	return fmt.Errorf("%s: %w: %s", file, ErrSyntax, msg)
}

// checkText finds what the YAML reader refuses without saying where: bytes
// that are not UTF-8 and characters YAML does not allow (C0/C1 controls
// other than tab, newline, carriage return and NEL; surrogates; U+FFFE/F).
func checkText(data []byte, file string) error {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return fmt.Errorf("%s: %w: line 1: the file is UTF-16; save it as UTF-8", file, ErrSyntax)
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Errorf("%s: %w: line %d: the file is not UTF-8 (byte 0x%02x)", file, ErrSyntax, line, data[i])
		case r == '\n':
			line++
		case r == '\t' || r == '\r' || r == 0x85 || r == 0xfeff:
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r >= 0xd800 && r <= 0xdfff || r == 0xfffe || r == 0xffff:
			return fmt.Errorf("%s: %w: line %d: control character %U is not allowed; remove it", file, ErrSyntax, line, r)
		}
		i += size
	}
	return nil
}

// resolve follows aliases (*name) to the node they point at.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "node"
}

// decoders fill one field from its node. A nil return keeps the default.
var decoders = map[string]func(c *Config, key string, v *yaml.Node) error{
	keyNetworks:             decodeNetworks,
	keyBridgeDriver:         stringInto(func(c *Config) *string { return &c.BridgeDriver }),
	keyDatapathType:         stringInto(func(c *Config) *string { return &c.DatapathType }),
	keyOVNIntegrationBridge: stringInto(func(c *Config) *string { return &c.OVNIntegrationBridge }),
	keyOVNSouthDatabase:     stringInto(func(c *Config) *string { return &c.OVNSouthDatabase }),
	keyOVNEncapType:         stringInto(func(c *Config) *string { return &c.OVNEncapType }),
	keyOVSRundir:            stringInto(func(c *Config) *string { return &c.OVSRundir }),
	keyStateDir:             stringInto(func(c *Config) *string { return &c.StateDir }),
	keyOVNEncapIP:           decodeEncapIP,
	keyOVSTimeout:           decodeTimeout,
	keyHostVLANs:            decodeHostVLANs,
}

// decode walks the top-level mapping. It returns warnings for unknown keys
// and an error for every key whose value has the wrong shape.
func (c *Config) decode(root *yaml.Node, file string) ([]Warning, []error) {
	if root == nil {
		return nil, nil
	}
	var warns []Warning
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := resolve(root.Content[i]), root.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("line %d", root.Content[i].Line),
				Problem: "a key that is not a plain name", Fix: "top-level keys are names such as networks"})
			continue
		}
		key := k.Value
		if k.ShortTag() == "!!merge" {
			errs = append(errs, &FieldError{Field: "<<", Problem: fmt.Sprintf("YAML merge keys are not supported at the top level (line %d)", k.Line),
				Fix: "write the keys out"})
			continue
		}
		if first, dup := seen[key]; dup {
			errs = append(errs, &FieldError{Field: displayKey(key),
				Problem: fmt.Sprintf("is set twice (lines %d and %d)", first, k.Line), Fix: "keep one of them"})
			continue
		}
		seen[key] = k.Line
		dec, ok := decoders[key]
		if !ok {
			if _, cloudpods := cloudpodsKeys[key]; !cloudpods {
				warns = append(warns, unknownKeyWarning(file, k.Line, key))
			}
			continue
		}
		if err := dec(c, key, resolve(v)); err != nil {
			errs = append(errs, err)
		}
	}
	return warns, errs
}

// scalar returns the value of a single-value node; ok is false for null
// (or ""), which means "not set, keep the default".
func scalar(key string, v *yaml.Node) (string, bool, error) {
	if isNull(v) {
		return "", false, nil
	}
	if v.Kind != yaml.ScalarNode {
		return "", false, &FieldError{Field: key,
			Problem: fmt.Sprintf("must be a single value, not a %s (line %d)", kindName(v), v.Line),
			Fix:     fmt.Sprintf("write %s: VALUE", key)}
	}
	return v.Value, v.Value != "", nil
}

func stringInto(field func(*Config) *string) func(*Config, string, *yaml.Node) error {
	return func(c *Config, key string, v *yaml.Node) error {
		s, ok, err := scalar(key, v)
		if ok {
			*field(c) = s
		}
		return err
	}
}

func decodeEncapIP(c *Config, key string, v *yaml.Node) error {
	s, ok, err := scalar(key, v)
	if !ok {
		return err
	}
	ip, perr := netip.ParseAddr(s)
	if perr != nil {
		problem := "is not an IP address"
		if _, _, found := strings.Cut(s, "/"); found {
			problem = "is not a single IP address (no prefix length here)"
		}
		return &FieldError{Field: key, Value: s, Problem: problem,
			Fix: "write this host's tunnel endpoint address, e.g. 10.0.0.5"}
	}
	c.OVNEncapIP = ip
	return nil
}

func decodeTimeout(c *Config, key string, v *yaml.Node) error {
	s, ok, err := scalar(key, v)
	if !ok {
		return err
	}
	d, perr := time.ParseDuration(s)
	if perr != nil {
		problem := "is not a duration"
		if v.ShortTag() == "!!int" || v.ShortTag() == "!!float" {
			problem = "is a number without a unit"
		}
		return &FieldError{Field: key, Value: s, Problem: problem, Fix: "write a duration such as 5s or 1500ms"}
	}
	c.OVSTimeout = d
	return nil
}

func decodeNetworks(c *Config, key string, v *yaml.Node) error {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		value := ""
		if v.Kind == yaml.ScalarNode {
			value = v.Value
		}
		return &FieldError{Field: key, Value: value,
			Problem: fmt.Sprintf("must be a list, not a %s (line %d)", kindName(v), v.Line),
			Fix:     "write one entry per line, each as \"- NIC/BRIDGE/IP\" or \"- NIC/BRIDGE/WIRE\""}
	}
	var errs []error
	for i, item := range v.Content {
		item = resolve(item)
		raw := ""
		switch {
		case isNull(item):
		case item.Kind == yaml.ScalarNode:
			raw = item.Value
		default:
			errs = append(errs, &FieldError{Field: fmt.Sprintf("networks[%d]", i),
				Problem: fmt.Sprintf("is a %s (line %d); an entry is one string", kindName(item), item.Line),
				Fix:     "write " + entryForms})
			continue
		}
		e, err := ParseEntry(i, raw)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Networks = append(c.Networks, e)
	}
	return errors.Join(errs...)
}

func decodeHostVLANs(c *Config, key string, v *yaml.Node) error {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		return &FieldError{Field: key,
			Problem: fmt.Sprintf("must be a mapping of bridge to VLAN, not a %s (line %d)", kindName(v), v.Line),
			Fix:     "write host_vlans: {br0: 100}"}
	}
	var errs []error
	vlans := map[string]int{}
	lines := map[string]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := resolve(v.Content[i]), resolve(v.Content[i+1])
		if k == nil || k.Kind != yaml.ScalarNode || isNull(k) {
			errs = append(errs, &FieldError{Field: key, Problem: fmt.Sprintf("has a key that is not a bridge name (line %d)", v.Content[i].Line),
				Fix: "write host_vlans: {br0: 100}"})
			continue
		}
		bridge := k.Value
		if first, dup := lines[bridge]; dup {
			errs = append(errs, &FieldError{Field: key, Value: bridge,
				Problem: fmt.Sprintf("is set twice (lines %d and %d)", first, k.Line), Fix: "keep one of them"})
			continue
		}
		lines[bridge] = k.Line
		vlan, err := decodeHostVLAN(bridge, val)
		if err != nil {
			err.Field = key
			errs = append(errs, err)
			continue
		}
		vlans[bridge] = vlan
	}
	c.HostVLANs = vlans
	return errors.Join(errs...)
}

// decodeHostVLAN reads the VLAN of a host_vlans entry. Like the hook's
// VLANs it must be written as plain decimal digits: an unquoted YAML
// integer without a sign, an underscore, a base prefix (0x, 0o, 0b) or a
// leading zero (YAML reads 0100 as octal 64, which no operator means). A
// negative plain number decodes and Validate reports it out of range.
func decodeHostVLAN(bridge string, val *yaml.Node) (int, *FieldError) {
	const rangeFix = "use a VLAN ID from 1 to 4094"
	refuse := func(fix, problem string, args ...any) (int, *FieldError) {
		return 0, &FieldError{Value: bridge, Problem: fmt.Sprintf(problem, args...), Fix: fix}
	}
	write := func(n int64) string { // the fix that suggests n, if it is a VLAN ID
		if n < 1 || n > 4094 {
			return rangeFix
		}
		return fmt.Sprintf("write %s: %d", bridge, n)
	}
	switch {
	case val == nil:
		return refuse(rangeFix, "VLAN is missing")
	case val.Kind == yaml.SequenceNode || val.Kind == yaml.MappingNode:
		return refuse(fmt.Sprintf("write one VLAN ID, e.g. %s: 100", bridge),
			"VLAN must be a single number, not a %s (line %d)", kindName(val), val.Line)
	case val.Kind != yaml.ScalarNode:
		return refuse(rangeFix, "VLAN is not a number")
	case isNull(val):
		return refuse(fmt.Sprintf("write %s: VLAN, e.g. %s: 100", bridge, bridge), "has no VLAN (line %d)", val.Line)
	}
	s, tag := val.Value, val.ShortTag()
	quoted := val.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	digits := strings.TrimPrefix(s, "-")
	n, nerr := decimalDigits(digits)
	negative := digits != s
	switch {
	case (quoted || tag == "!!str") && !negative && nerr == nil:
		return refuse(fmt.Sprintf("write it without quotes: %s: %d", bridge, n), "VLAN %q is quoted text, not a number", s)
	case quoted:
		return refuse(rangeFix, "VLAN %q is not a number", s)
	case errors.Is(nerr, strconv.ErrRange): // only digits, too many of them
		return refuse(rangeFix, "VLAN %s is out of range", s)
	case nerr == nil && len(digits) > 1 && digits[0] == '0':
		if negative {
			return refuse(rangeFix, "VLAN %s is out of range", s)
		}
		return refuse(write(n), "VLAN %s has a leading zero, which YAML reads as an octal number", s)
	case nerr == nil && tag != "!!int": // an explicit tag such as !!float 100
		return refuse(write(n), "VLAN %s is tagged %s, not a plain VLAN ID", s, val.Tag)
	case nerr == nil:
		var vlan int
		if err := val.Decode(&vlan); err != nil {
			return refuse(rangeFix, "VLAN %s is out of range", s)
		}
		return vlan, nil
	case tag == "!!int": // 0x64, 0o144, 0b1100100, 1_00, +100, 0_100
		note, fix := notPlain(val, write)
		return refuse(fix, "VLAN %s is not written as a plain VLAN ID%s", s, note)
	case tag == "!!float": // 1e2, 100.0, .inf
		return refuse("write the VLAN ID in decimal digits, from 1 to 4094", "VLAN %s is not written as a plain VLAN ID", s)
	}
	return refuse(rangeFix, "VLAN %q is not a number", s)
}

// decimalDigits reads s if it is only decimal digits (leading zeros
// allowed); the error is strconv.ErrRange when there are too many.
func decimalDigits(s string) (int64, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(s, 10, 64)
}

// notPlain explains an integer that YAML accepts in a form other than
// plain digits, and suggests its plain spelling. Digits with a leading zero
// and an underscore or a sign (0_100, +0100) are what YAML reads as octal:
// the operator meant the decimal digits, and the note says what YAML made
// of them.
func notPlain(val *yaml.Node, write func(int64) string) (note, fix string) {
	var yamlValue int64
	decoded := val.Decode(&yamlValue) == nil
	digits := strings.ReplaceAll(strings.TrimPrefix(val.Value, "+"), "_", "")
	if n, err := decimalDigits(digits); err == nil {
		if len(digits) > 1 && digits[0] == '0' && decoded {
			note = fmt.Sprintf(" (YAML reads it as octal: %d)", yamlValue)
		}
		return note, write(n)
	}
	if !decoded {
		return "", "write the VLAN ID in decimal digits, from 1 to 4094"
	}
	return "", write(yamlValue)
}
