package hostprep

import (
	"fmt"
	"net/netip"
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
	if ovs && obs.OVS.Bridges[e.NIC] == nil {
		if p := obs.OVS.Ports[e.NIC]; p != nil && p.Bridge != "" && p.Bridge != e.Bridge {
			if held := hostAddrsOn(obs.Net, p.Bridge); len(held) > 0 {
				// Taking the NIC off that bridge cuts the host off: say so
				// rather than suggest it.
				bad("%s is a port of Open vSwitch bridge %s, which carries the host's %s; hostprep does not move a host's IP from one bridge to another: "+
					"keep %s in this entry (renaming it means moving the IP by hand from a console: ovs-vsctl del-port %s %s cuts the host off)",
					e.NIC, p.Bridge, strings.Join(held, ", "), p.Bridge, p.Bridge, e.NIC)
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
			if onNIC(obs.Net, e.NIC, ip) || onNIC(obs.Net, ep.Target, ip) || inJournal(j, ip) {
				continue
			}
			where := ""
			if dev := deviceWith(obs.Net, ip); dev != "" {
				where = fmt.Sprintf(" (it is on %s)", dev)
			}
			bad("%s is neither on %s nor on %s%s; the IP form moves the NIC's own address: add it to %s first (ip addr add %s/PREFIX dev %s) or write the address %s carries%s",
				ip, e.NIC, ep.Target, where, e.NIC, ip, e.NIC, e.NIC, carries(obs.Net, e.NIC))
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

func deviceWith(h *netstate.Host, ip netip.Addr) string {
	for name, l := range h.Links {
		for _, a := range l.Addrs {
			if a.Prefix.Addr() == ip {
				return name
			}
		}
	}
	return ""
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
