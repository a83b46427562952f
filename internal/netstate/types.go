package netstate

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Forever is the lifetime of a permanent address.
const Forever = 0xffffffff

// Host is one network namespace as netlink shows it.
type Host struct {
	Links  map[string]*Link
	Routes []Route // every table, cloned (cache) routes excluded
}

// Link is one network device.
type Link struct {
	Name   string
	Index  int
	Kind   string // netlink kind: veth, tuntap, bridge, openvswitch, device, ...
	MAC    string // lower-case colon form, "" when the device has none
	MTU    int
	Up     bool   // administratively up
	Master string // name of the master device, "" when none
	Addrs  []Addr
}

// Addr is one address of a link, with what is needed to re-create it.
type Addr struct {
	Prefix       netip.Prefix `json:"prefix"`             // address with its prefix length: 192.0.2.10/24
	Peer         netip.Prefix `json:"peer,omitzero"`      // point-to-point peer
	Broadcast    netip.Addr   `json:"broadcast,omitzero"` // IPv4 only
	Label        string       `json:"label,omitempty"`    // IPv4 only: eth0, eth0:1
	Scope        uint8        `json:"scope"`              // RT_SCOPE_*
	Flags        uint32       `json:"flags"`              // IFA_F_*
	PreferredLft uint32       `json:"preferred_lft"`      // seconds, Forever when permanent
	ValidLft     uint32       `json:"valid_lft"`          // seconds, Forever when permanent
}

// Is4 reports whether a is an IPv4 address.
func (a Addr) Is4() bool { return a.Prefix.Addr().Is4() }

// Secondary reports whether the kernel holds a as a secondary address of its
// subnet (deleting the primary first would delete it too).
func (a Addr) Secondary() bool { return a.Flags&unix.IFA_F_SECONDARY != 0 }

// Movable reports whether a belongs to the host's configuration rather than
// to the link itself: IPv6 link-local addresses are generated per link and
// stay where they are.
func (a Addr) Movable() bool {
	ip := a.Prefix.Addr()
	return !(ip.Is6() && ip.IsLinkLocalUnicast())
}

// settableFlags are the IFA_F_* flags a caller may ask for when adding an
// address; the others (secondary, permanent, tentative, ...) are state the
// kernel sets.
const settableFlags = unix.IFA_F_NODAD | unix.IFA_F_OPTIMISTIC | unix.IFA_F_HOMEADDRESS |
	unix.IFA_F_MANAGETEMPADDR | unix.IFA_F_NOPREFIXROUTE | unix.IFA_F_MCAUTOJOIN

// For returns a as it should be added to dev after living on from: the label
// renamed (eth0:1 becomes br0:1), only settable flags kept, and IPv6
// duplicate address detection skipped: the address is moving, not new, and
// a tentative address would cut the host off for a second.
func (a Addr) For(from, dev string) Addr {
	out := a
	out.Flags &= settableFlags
	if !a.Is4() {
		out.Flags |= unix.IFA_F_NODAD
	}
	out.Label = relabel(a.Label, from, dev)
	return out
}

func relabel(label, from, to string) string {
	if label == "" {
		return ""
	}
	suffix, ok := strings.CutPrefix(label, from)
	if !ok || (suffix != "" && suffix[0] != ':') {
		return to
	}
	l := to + suffix
	if len(l) > 15 {
		l = l[:15]
	}
	return l
}

func (a Addr) String() string {
	s := a.Prefix.String()
	if a.Peer.IsValid() {
		s += " peer " + a.Peer.String()
	}
	return s
}

// Route is one route, with its device named.
type Route struct {
	Family   int          `json:"family"` // unix.AF_INET or unix.AF_INET6
	Table    int          `json:"table"`
	Type     int          `json:"type"` // RTN_*
	Dst      netip.Prefix `json:"dst"`  // 0.0.0.0/0 or ::/0 for a default route
	Dev      string       `json:"dev,omitempty"`
	Gw       netip.Addr   `json:"gw,omitzero"`
	Src      netip.Addr   `json:"src,omitzero"`
	Metric   int          `json:"metric"`
	Scope    uint8        `json:"scope"`
	Protocol int          `json:"protocol"`
	Tos      int          `json:"tos,omitempty"`
	OnLink   bool         `json:"onlink,omitempty"`
	MTU      int          `json:"mtu,omitempty"`
	AdvMSS   int          `json:"advmss,omitempty"`
	Hops     []Hop        `json:"hops,omitempty"` // multipath
}

// Hop is one next hop of a multipath route.
type Hop struct {
	Dev    string     `json:"dev"`
	Gw     netip.Addr `json:"gw,omitzero"`
	Weight int        `json:"weight"` // 1..256, as ip route shows it
	OnLink bool       `json:"onlink,omitempty"`
}

var (
	linkLocal6 = netip.MustParsePrefix("fe80::/64")
	multicast6 = netip.MustParsePrefix("ff00::/8")
)

// KernelOwned reports whether the kernel maintains r itself from the
// link's addresses (prefix routes, the local table, IPv6 link-local and
// multicast routes): such routes follow their address and are never moved
// by hand.
func (r Route) KernelOwned() bool {
	switch {
	case r.Protocol == unix.RTPROT_KERNEL, r.Protocol == unix.RTPROT_REDIRECT:
		return true
	case r.Table == unix.RT_TABLE_LOCAL:
		return true
	case r.Type == unix.RTN_LOCAL, r.Type == unix.RTN_BROADCAST, r.Type == unix.RTN_MULTICAST, r.Type == unix.RTN_ANYCAST:
		return true
	case r.Family == unix.AF_INET6 && (r.Dst == linkLocal6 || multicast6.Contains(r.Dst.Addr())):
		return true
	}
	return false
}

// Uses reports whether r sends traffic through dev (directly or as one hop
// of a multipath route).
func (r Route) Uses(dev string) bool {
	if r.Dev == dev {
		return true
	}
	for _, h := range r.Hops {
		if h.Dev == dev {
			return true
		}
	}
	return false
}

// Retarget returns r with every use of from replaced by to.
func (r Route) Retarget(from, to string) Route {
	out := r
	if out.Dev == from {
		out.Dev = to
	}
	if len(r.Hops) > 0 {
		out.Hops = slices.Clone(r.Hops)
		for i := range out.Hops {
			if out.Hops[i].Dev == from {
				out.Hops[i].Dev = to
			}
		}
	}
	return out
}

// ViaGateway reports whether r needs another route to reach its next hop:
// such routes are added after the link-scope routes they may depend on.
func (r Route) ViaGateway() bool {
	if r.Gw.IsValid() {
		return true
	}
	for _, h := range r.Hops {
		if h.Gw.IsValid() {
			return true
		}
	}
	return false
}

// IsDefault reports whether r is a default route (0.0.0.0/0 or ::/0).
func (r Route) IsDefault() bool { return r.Dst.IsValid() && r.Dst.Bits() == 0 }

// Equal reports whether r and o are the same route.
func (r Route) Equal(o Route) bool {
	return r.Family == o.Family && r.Table == o.Table && r.Type == o.Type && r.Dst == o.Dst &&
		r.Dev == o.Dev && r.Gw == o.Gw && r.Src == o.Src && r.Metric == o.Metric && r.Scope == o.Scope &&
		r.Protocol == o.Protocol && r.Tos == o.Tos && r.OnLink == o.OnLink && r.MTU == o.MTU &&
		r.AdvMSS == o.AdvMSS && slices.Equal(r.Hops, o.Hops)
}

// String renders r roughly as ip route does.
func (r Route) String() string {
	var b strings.Builder
	if r.IsDefault() {
		b.WriteString("default")
	} else {
		b.WriteString(r.Dst.String())
	}
	if r.Gw.IsValid() {
		fmt.Fprintf(&b, " via %s", r.Gw)
	}
	if r.Dev != "" {
		fmt.Fprintf(&b, " dev %s", r.Dev)
	}
	for _, h := range r.Hops {
		b.WriteString(" nexthop")
		if h.Gw.IsValid() {
			fmt.Fprintf(&b, " via %s", h.Gw)
		}
		fmt.Fprintf(&b, " dev %s weight %d", h.Dev, h.Weight)
		if h.OnLink {
			b.WriteString(" onlink")
		}
	}
	if r.Table != unix.RT_TABLE_MAIN {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Protocol != unix.RTPROT_BOOT {
		fmt.Fprintf(&b, " proto %d", r.Protocol)
	}
	if r.Scope != unix.RT_SCOPE_UNIVERSE {
		fmt.Fprintf(&b, " scope %d", r.Scope)
	}
	if r.Src.IsValid() {
		fmt.Fprintf(&b, " src %s", r.Src)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	if r.OnLink {
		b.WriteString(" onlink")
	}
	if r.MTU != 0 {
		fmt.Fprintf(&b, " mtu %d", r.MTU)
	}
	return b.String()
}

// Link returns the link called name, or nil.
func (h *Host) Link(name string) *Link {
	if h == nil {
		return nil
	}
	return h.Links[name]
}

// LinkByIndex returns the link with ifindex i, or nil.
func (h *Host) LinkByIndex(i int) *Link {
	for _, l := range h.Links {
		if l.Index == i {
			return l
		}
	}
	return nil
}

// HasAddr reports whether dev carries the address p (same IP and prefix
// length).
func (h *Host) HasAddr(dev string, p netip.Prefix) bool {
	l := h.Link(dev)
	if l == nil {
		return false
	}
	for _, a := range l.Addrs {
		if a.Prefix == p {
			return true
		}
	}
	return false
}

// AddrOf returns the address of dev whose IP is ip.
func (h *Host) AddrOf(dev string, ip netip.Addr) (Addr, bool) {
	if l := h.Link(dev); l != nil {
		for _, a := range l.Addrs {
			if a.Prefix.Addr() == ip {
				return a, true
			}
		}
	}
	return Addr{}, false
}

// HasRoute reports whether a route equal to r exists.
func (h *Host) HasRoute(r Route) bool {
	for _, o := range h.Routes {
		if o.Equal(r) {
			return true
		}
	}
	return false
}

// MovableAddrs returns the addresses of dev that belong to the host's
// configuration (see Addr.Movable), in the kernel's order.
func (h *Host) MovableAddrs(dev string) []Addr {
	l := h.Link(dev)
	if l == nil {
		return nil
	}
	var out []Addr
	for _, a := range l.Addrs {
		if a.Movable() {
			out = append(out, a)
		}
	}
	return out
}

// MovableRoutes returns the routes that use dev and that the kernel does not
// maintain itself.
func (h *Host) MovableRoutes(dev string) []Route {
	var out []Route
	for _, r := range h.Routes {
		if r.Uses(dev) && !r.KernelOwned() {
			out = append(out, r)
		}
	}
	return out
}
