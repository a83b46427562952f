package config

// Lookups used by the hook and hostprep. A host has a handful of entries,
// so a linear scan is cheaper than keeping indexes in sync.

// BridgeForWire returns the bridge that serves wire.
func (c *Config) BridgeForWire(wire string) (string, bool) {
	for _, e := range c.Networks {
		if e.Wire != "" && e.Wire == wire {
			return e.Bridge, true
		}
	}
	return "", false
}

// EntryForBridge returns the entry whose bridge is bridge.
func (c *Config) EntryForBridge(bridge string) (Entry, bool) {
	for _, e := range c.Networks {
		if e.Bridge == bridge {
			return e, true
		}
	}
	return Entry{}, false
}

// EntryForNIC returns the entry whose uplink NIC is nic (e.g. to refuse a
// domain that names an uplink as its tap).
func (c *Config) EntryForNIC(nic string) (Entry, bool) {
	for _, e := range c.Networks {
		if e.NIC == nic {
			return e, true
		}
	}
	return Entry{}, false
}

// Wires returns the wire-form entries, in file order.
func (c *Config) Wires() []Entry {
	var out []Entry
	for _, e := range c.Networks {
		if e.Form() == FormWire {
			out = append(out, e)
		}
	}
	return out
}

// OVNEnabled reports whether hostnet writes the OVN settings
// (ovn-remote, ovn-encap-ip, ...): both the encap IP and the south
// database are set.
func (c *Config) OVNEnabled() bool {
	return c.OVNEncapIP.IsValid() && c.OVNSouthDatabase != ""
}
