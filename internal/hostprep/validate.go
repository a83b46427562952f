package hostprep

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/netstate"
)

// validateEntry checks one entry against the live host: the checks that
// the config package cannot make from the file alone. Every problem names
// the entry, the device and the fix.
func validateEntry(c *config.Config, obs *Observed, ep *EntryPlan, j *Journal) []Problem {
	e := ep.Entry
	var out []Problem
	bad := func(format string, args ...any) {
		out = append(out, Problem{Subject: e.Label(), Text: fmt.Sprintf(format, args...)})
	}
	ovs := c.BridgeDriver != config.DriverLinuxBridge

	if ep.HostVLAN > 0 && len(ep.Target) > config.MaxIfNameLen {
		out = append(out, Problem{Subject: "host_vlans " + e.Bridge, Text: fmt.Sprintf(
			"the host's VLAN %d port would be named %s, %d bytes, over the kernel's %d-byte limit for interface names; "+
				"shorten the bridge name to at most %d bytes",
			ep.HostVLAN, ep.Target, len(ep.Target), config.MaxIfNameLen, config.MaxIfNameLen-(len(ep.Target)-len(e.Bridge)))})
	}

	nic := obs.Net.Link(e.NIC)
	if nic == nil {
		bad(`%s does not exist; check the NIC's name with "ip link" (names can change with the kernel, udev rules or firmware) and fix the entry`, e.NIC)
		return out
	}

	// The NIC must be a plain uplink we may enslave.
	switch {
	case ovs && obs.OVS.Bridges[e.NIC] != nil:
		bad("%s is itself an Open vSwitch bridge; name the physical uplink NIC in the entry, not a bridge", e.NIC)
	case nic.Kind == "bridge" || nic.Kind == "openvswitch":
		bad("%s is itself a bridge (%s); name the physical uplink NIC in the entry, not a bridge", e.NIC, nic.Kind)
	case !ovs && nic.Kind == "vlan":
		bad("%s is a VLAN device; bridge_driver %s does plain bridging without VLANs: name the parent NIC, or use bridge_driver: %s",
			e.NIC, config.DriverLinuxBridge, config.DriverOpenVSwitch)
	}
	nicBridge := "" // another bridge that holds the NIC, reported here
	if ovs && obs.OVS.Bridges[e.NIC] == nil {
		if p := obs.OVS.Ports[e.NIC]; p != nil && p.Bridge != "" && p.Bridge != e.Bridge {
			nicBridge = p.Bridge
			if held, on := hostAddrsOfBridge(obs.Net, p.Bridge); len(held) > 0 {
				// Taking the NIC off that bridge cuts the host off: say so
				// rather than suggest it.
				bad("%s is a port of Open vSwitch bridge %s, which carries the host's %s%s; hostprep does not move a host's IP from one bridge to another: "+
					"keep %s in this entry (renaming it means moving the IP by hand from a console: ovs-vsctl del-port %s %s cuts the host off)",
					e.NIC, p.Bridge, strings.Join(held, ", "), on, p.Bridge, p.Bridge, e.NIC)
			} else {
				bad("%s is a port of Open vSwitch bridge %s, not of %s; take it off (ovs-vsctl del-port %s %s) or name %s in this entry",
					e.NIC, p.Bridge, e.Bridge, p.Bridge, e.NIC, p.Bridge)
			}
		}
	}
	if up := otherUplinks(c, obs, e); len(up) > 0 && !enslavedTo(c, obs, e.NIC, e.Bridge) {
		// The entry names another NIC for a bridge that has its uplink
		// (or one was added by hand): the two would loop the network.
		old := up[0]
		release := fmt.Sprintf("ovs-vsctl del-port %s %s", e.Bridge, old)
		if !ovs {
			release = fmt.Sprintf("ip link set %s nomaster", old)
		}
		holder, held := ep.Target, hostAddrsOn(obs.Net, ep.Target)
		if len(held) == 0 && ep.Target != e.Bridge {
			holder, held = e.Bridge, hostAddrsOn(obs.Net, e.Bridge)
		}
		if len(held) > 0 {
			bad("%s already has uplink %s, which carries the host's traffic (%s has %s); hostprep does not swap a bridge's uplink, "+
				"and %s next to %s would make a loop when both reach the same network: keep %s in this entry "+
				"(swapping it means moving cables or ports by hand from a console: %s cuts the host off)",
				e.Bridge, old, holder, strings.Join(held, ", "), e.NIC, old, old, release)
		} else {
			bad("%s already has uplink %s; hostprep does not swap a bridge's uplink, "+
				"and %s next to %s would make a loop when both reach the same network: keep %s in this entry, "+
				"or take it off first (%s: %s carries no host IP, but its VMs are cut off until apply adds %s)",
				e.Bridge, old, e.NIC, old, old, release, e.Bridge, e.NIC)
		}
	}
	if m := nic.Master; m != "" && m != e.Bridge {
		mk := ""
		if ml := obs.Net.Link(m); ml != nil {
			mk = ml.Kind
		}
		// With the kernel datapath every OVS port has the ovs-system master.
		if !(ovs && mk == "openvswitch") {
			nicBridge = m
			bad("%s is enslaved to %s (%s); release it (ip link set %s nomaster) or fix the entry", e.NIC, m, mk, e.NIC)
		}
	}

	// The bridge name must be free or already ours.
	if br := obs.Net.Link(e.Bridge); br != nil {
		switch {
		case ovs && obs.OVS.Bridges[e.Bridge] == nil:
			bad("%s exists as a %s device that is not an Open vSwitch bridge; delete it (ip link del %s) or choose another bridge name",
				e.Bridge, br.Kind, e.Bridge)
		case !ovs && br.Kind != "bridge":
			bad("%s exists as a %s device, not a Linux bridge; delete it (ip link del %s) or choose another bridge name",
				e.Bridge, br.Kind, e.Bridge)
		}
	}
	if ovs {
		if p := obs.OVS.Ports[e.Bridge]; p != nil && p.Bridge != "" && p.Bridge != e.Bridge {
			bad("%s is a port of Open vSwitch bridge %s; choose another bridge name", e.Bridge, p.Bridge)
		}
	}
	if ovs && ep.Target != e.Bridge && len(ep.Target) <= config.MaxIfNameLen {
		p := obs.OVS.Ports[ep.Target]
		switch {
		case p != nil && p.Bridge != "" && p.Bridge != e.Bridge:
			bad("the host VLAN port %s is a port of Open vSwitch bridge %s; take it off (ovs-vsctl del-port %s %s)",
				ep.Target, p.Bridge, p.Bridge, ep.Target)
		case p == nil && obs.Net.Link(ep.Target) != nil:
			bad("%s, the name of the host VLAN port, exists as a %s device that is not an Open vSwitch port; delete it (ip link del %s)",
				ep.Target, obs.Net.Link(ep.Target).Kind, ep.Target)
		}
	}

	if e.Form() == config.FormIP {
		for _, ip := range e.IPs {
			if text := misplacedIP(c, obs, ep, j, ip, nicBridge); text != "" {
				bad("%s", text)
			}
		}
	} else {
		var held []netstate.Addr
		for _, a := range nic.Addrs {
			if a.Is4() || !a.Prefix.Addr().IsLinkLocalUnicast() {
				held = append(held, a)
			}
		}
		if len(held) > 0 {
			bad("%s carries %s; a wire entry's NIC must have no IP (use %s, or remove the address: ip addr del %s dev %s)",
				e.NIC, prefixes(held), ipFormFor(e, held), held[0].Prefix, e.NIC)
		}
		// An IP-form entry turned into a wire entry: the bridge still
		// carries the host's address, which a wire bridge never does (its
		// only address is the 169.254/16 one); apply would leave it there
		// and status would call the host's bridge a wire.
		if br := obs.Net.Link(ep.Target); br != nil && (!ovs || obs.OVS.Bridges[ep.Target] != nil) {
			if held := hostAddrs(br); len(held) > 0 {
				bad("%s carries the host's %s; a wire entry's bridge must have no host IP: keep the IP form (%s), or move the address off %s by hand from a console first",
					ep.Target, prefixes(held), ipFormFor(e, held), ep.Target)
			}
		}
	}
	return out
}

// enslavedTo reports whether nic is a port of bridge now.
func enslavedTo(c *config.Config, obs *Observed, nic, bridge string) bool {
	if c.BridgeDriver == config.DriverLinuxBridge {
		l := obs.Net.Link(nic)
		return l != nil && l.Master == bridge
	}
	p := obs.OVS.Ports[nic]
	return p != nil && p.Bridge == bridge
}

// prefixes lists addresses with their prefix lengths.
func prefixes(addrs []netstate.Addr) string {
	ss := make([]string, len(addrs))
	for i, a := range addrs {
		ss[i] = a.Prefix.String()
	}
	return strings.Join(ss, ", ")
}

func onNIC(h *netstate.Host, dev string, ip netip.Addr) bool {
	_, ok := h.AddrOf(dev, ip)
	return ok
}

// misplacedIP checks where ip, an address of an IP-form entry, is. The
// rule: the address is on the entry's NIC or on its target (the bridge or
// its host VLAN port), and on no other device. An address on no device at
// all passes only when the journal of a move of this NIC to this very
// target lists it (a move to finish, or its record putting back what
// ovs-vswitchd or a flap removed). Nothing excuses an address on another
// device: the move would put it on a second device, and hostprep moves an
// address from the NIC only, never from the bridge to its VLAN port or
// back (host_vlans changed after the first apply) nor from another
// entry's device. It returns the problem, "" when there is none, or when
// the address is on nicBridge (another bridge that holds the NIC, or its
// VLAN port), which a problem about the NIC already reports.
func misplacedIP(c *config.Config, obs *Observed, ep *EntryPlan, j *Journal, ip netip.Addr, nicBridge string) string {
	e := ep.Entry
	here := ""
	switch {
	case onNIC(obs.Net, ep.Target, ip):
		here = ep.Target
	case onNIC(obs.Net, e.NIC, ip):
		here = e.NIC
	}
	// The loopback may carry the host's address as a /32 too (a VIP, a
	// router ID): not a second home for it.
	others := devicesWith(obs.Net, ip, e.NIC, ep.Target, "lo")
	if nicBridge != "" && slices.ContainsFunc(others, func(dev string) bool {
		_, vlanPort := hostVLANName(nicBridge, dev)
		return dev == nicBridge || vlanPort
	}) {
		return ""
	}
	if len(others) == 0 {
		if here != "" || (j != nil && j.Target == ep.Target && inJournal(j, ip)) {
			return ""
		}
		moved := j != nil || enslavedTo(c, obs, e.NIC, e.Bridge)
		switch {
		case j != nil && inJournal(j, ip):
			// The record of the move is for another device: host_vlans
			// changed after it. Putting the address on the new one would
			// be a move nobody checked.
			return fmt.Sprintf("%s is on no device; hostprep's record of the move of %s puts it on %s, and host.conf now puts it on %s; "+
				"hostprep does not move a host's address between a bridge and its VLAN ports: put host_vlans back as it was (apply then puts the address back on %s), or move it by hand from a console",
				ip, e.NIC, j.Target, ep.Target, j.Target)
		case moved:
			// Adding it to the NIC, enslaved now, would not reach the host.
			return fmt.Sprintf("%s is neither on %s nor on %s, and %s is already a port of %s: there is no address of its own to move; write the address %s",
				ip, e.NIC, ep.Target, e.NIC, e.Bridge, ownAddress(obs.Net, e, ep.Target))
		}
		return fmt.Sprintf("%s is neither on %s nor on %s; the IP form moves the NIC's own address: add it to %s first (ip addr add %s/PREFIX dev %s) or write the address %s carries%s",
			ip, e.NIC, ep.Target, e.NIC, ip, e.NIC, e.NIC, carries(obs.Net, e.NIC))
	}
	dev := others[0]
	held := ip.String()
	if a, ok := obs.Net.AddrOf(dev, ip); ok {
		held = a.Prefix.String()
	}
	if dev == e.Bridge { // the target is the bridge's VLAN port
		return fmt.Sprintf("%s is on %s, and host_vlans {%s: %d} puts the host's address on %s; "+
			"hostprep does not move a host's address from the bridge to its VLAN port: remove host_vlans for %s, or move the address by hand from a console",
			ip, dev, e.Bridge, ep.HostVLAN, ep.Target, e.Bridge)
	}
	if v, ok := hostVLANOf(obs, e.Bridge, dev); ok {
		switch {
		case here != "":
			return fmt.Sprintf("%s is on %s and also on %s, the host's VLAN %d port of %s, which host.conf does not ask for; "+
				"an address must be on one device: remove it from %s from a console (ip addr del %s dev %s, or drop the port: ovs-vsctl del-port %s %s), then apply again",
				ip, here, dev, v, e.Bridge, dev, held, dev, e.Bridge, dev)
		case ep.Target == e.Bridge:
			return fmt.Sprintf("%s is on %s, the host's VLAN %d port of %s, and without host_vlans for %s the host's address belongs on %s; "+
				"hostprep does not move a host's address from a VLAN port to its bridge: set host_vlans {%s: %d} again, or move the address by hand from a console",
				ip, dev, v, e.Bridge, e.Bridge, e.Bridge, e.Bridge, v)
		default:
			return fmt.Sprintf("%s is on %s, the host's VLAN %d port of %s, and host_vlans {%s: %d} puts the host's address on %s; "+
				"hostprep does not move a host's address from one VLAN port to another: set host_vlans {%s: %d} again, or move the address by hand from a console",
				ip, dev, v, e.Bridge, e.Bridge, ep.HostVLAN, ep.Target, e.Bridge, v)
		}
	}
	o, role, owned := ownerOf(c, obs, e, dev)
	whose := ", not on " + e.NIC + " or " + ep.Target
	if owned {
		whose = ", " + role + " of " + o.Label()
	}
	switch {
	case here != "":
		return fmt.Sprintf("%s is on %s and also on %s%s; an address must be on one device, and hostprep does not choose which: "+
			"remove it from one of them from a console (ip addr del %s dev %s), or fix the entry",
			ip, here, dev, whose, held, dev)
	case owned:
		return fmt.Sprintf("%s is on %s%s; each address moves from its own NIC: write the address %s",
			ip, dev, whose, ownAddress(obs.Net, e, ep.Target))
	default:
		return fmt.Sprintf("%s is on %s%s; each address moves from its own NIC: name %s in the entry if it is the uplink that carries the address (%s/%s/%s), or write the address %s",
			ip, dev, whose, dev, dev, e.Bridge, ip, ownAddress(obs.Net, e, ep.Target))
	}
}

func inJournal(j *Journal, ip netip.Addr) bool {
	if j == nil {
		return false
	}
	for _, a := range j.Addrs {
		if a.Prefix.Addr() == ip {
			return true
		}
	}
	return false
}

// devicesWith lists, sorted, the devices other than except that carry ip.
func devicesWith(h *netstate.Host, ip netip.Addr, except ...string) []string {
	var out []string
	for name, l := range h.Links {
		if slices.Contains(except, name) {
			continue
		}
		if slices.ContainsFunc(l.Addrs, func(a netstate.Addr) bool { return a.Prefix.Addr() == ip }) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// hostVLANOf returns the VLAN of dev when dev is a host VLAN port of
// bridge, as HostVLANPort names them: an Open vSwitch port of bridge
// called bridge-vN.
func hostVLANOf(obs *Observed, bridge, dev string) (int, bool) {
	v, ok := hostVLANName(bridge, dev)
	if !ok {
		return 0, false
	}
	if obs.OVS != nil {
		if p := obs.OVS.Ports[dev]; p != nil && p.Bridge == bridge {
			return v, true
		}
	}
	if slices.ContainsFunc(obs.BridgePorts[bridge], func(p BridgePort) bool { return p.Name == dev }) {
		return v, true
	}
	return 0, false
}

// hostVLANName returns the VLAN of dev when HostVLANPort would name bridge's
// port of that VLAN dev.
func hostVLANName(bridge, dev string) (int, bool) {
	n, ok := strings.CutPrefix(dev, bridge+"-v")
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 1 || v > 4094 || HostVLANPort(bridge, v) != dev {
		return 0, false
	}
	return v, true
}

// ownerOf finds the entry other than self whose NIC, bridge or host VLAN
// port dev is, and says which of them dev is.
func ownerOf(c *config.Config, obs *Observed, self config.Entry, dev string) (config.Entry, string, bool) {
	for _, o := range c.Networks {
		if o.Index == self.Index {
			continue
		}
		switch dev {
		case o.NIC:
			return o, "the NIC", true
		case o.Bridge:
			return o, "the bridge", true
		}
		if v, ok := c.HostVLANs[o.Bridge]; ok && o.Form() == config.FormIP && dev == HostVLANPort(o.Bridge, v) {
			return o, "the host VLAN port", true
		}
		if v, ok := hostVLANOf(obs, o.Bridge, dev); ok {
			return o, fmt.Sprintf("a VLAN %d port of %s, the bridge", v, o.Bridge), true
		}
	}
	return config.Entry{}, "", false
}

// ownAddress says which address an IP-form entry may name: the NIC's, or
// once moved, its target's.
func ownAddress(h *netstate.Host, e config.Entry, target string) string {
	if len(h.MovableAddrs(e.NIC)) == 0 {
		for _, dev := range []string{target, e.Bridge} {
			if len(h.MovableAddrs(dev)) > 0 {
				return dev + " carries" + carries(h, dev)
			}
		}
	}
	return e.NIC + " carries" + carries(h, e.NIC)
}

func carries(h *netstate.Host, dev string) string {
	addrs := h.MovableAddrs(dev)
	if len(addrs) == 0 {
		return " (" + dev + " has no address)"
	}
	var ss []string
	for _, a := range addrs {
		ss = append(ss, a.Prefix.String())
	}
	return " (" + dev + " has " + strings.Join(ss, ", ") + ")"
}

// ipFormFor writes the IP-form entry that would take the NIC's addresses:
// one IPv4 and one IPv6 at most.
func ipFormFor(e config.Entry, held []netstate.Addr) string {
	parts := []string{e.NIC, e.Bridge}
	var v4, v6 bool
	for _, a := range held {
		switch {
		case a.Is4() && !v4:
			v4 = true
			parts = append(parts, a.Prefix.Addr().String())
		case !a.Is4() && !v6:
			v6 = true
			parts = append(parts, a.Prefix.Addr().String())
		}
	}
	return strings.Join(parts, "/")
}

// hostAddrsOn lists dev's addresses other than IPv6 link-local and the
// 169.254/16 wire addresses: those the host is reached at.
func hostAddrsOn(h *netstate.Host, dev string) []string {
	l := h.Link(dev)
	if l == nil {
		return nil
	}
	var out []string
	for _, a := range hostAddrs(l) {
		out = append(out, a.Prefix.String())
	}
	return out
}

// hostAddrsOfBridge lists the host's addresses on bridge or, when it has
// none, on one of its host VLAN ports; on then says " on PORT".
func hostAddrsOfBridge(h *netstate.Host, bridge string) (held []string, on string) {
	if held = hostAddrsOn(h, bridge); len(held) > 0 {
		return held, ""
	}
	for _, name := range slices.Sorted(maps.Keys(h.Links)) {
		if _, ok := hostVLANName(bridge, name); ok {
			if held = hostAddrsOn(h, name); len(held) > 0 {
				return held, " on " + name
			}
		}
	}
	return nil, ""
}

// hostAddrs are l's addresses other than link-local ones (IPv6 fe80::/10,
// the 169.254/16 wire addresses).
func hostAddrs(l *netstate.Link) []netstate.Addr {
	var out []netstate.Addr
	for _, a := range l.Addrs {
		if !a.Prefix.Addr().IsLinkLocalUnicast() {
			out = append(out, a)
		}
	}
	return out
}
