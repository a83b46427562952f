package harness

import (
	"net/netip"
	"strings"
	"testing"
)

// Switch plays the physical switch: a userspace OVS bridge in its own namespace with its own
// private OVS, so VLAN tagging and demultiplexing work without the kernel's 8021q.
type Switch struct {
	NS     *Netns
	OVS    *OVS
	Bridge string
}

// NewSwitch starts a switch namespace with a private OVS and a bridge "sw0".
func NewSwitch(t testing.TB) *Switch {
	t.Helper()
	ns := NewNetns(t, "sw")
	s := &Switch{NS: ns, OVS: StartOVS(t, ns), Bridge: "sw0"}
	s.OVS.AddBridge(t, s.Bridge)
	return s
}

// TrunkTo cables host's nic to a trunk port of the switch: all VLANs pass tagged, untagged
// frames are the native VLAN 0. It returns the switch port name.
func (s *Switch) TrunkTo(t testing.TB, host *Netns, nic string) string {
	t.Helper()
	return s.OVS.Plug(t, s.Bridge, host, nic)
}

// Plug cables nic in ns to a switch port with the given port settings ("tag=100",
// "trunks=100,200", "vlan_mode=native-untagged", ...). It returns the switch port name.
func (s *Switch) Plug(t testing.TB, ns *Netns, nic string, portSettings ...string) string {
	t.Helper()
	return s.OVS.Plug(t, s.Bridge, ns, nic, portSettings...)
}

// AddPeer adds a machine on the switch: a namespace whose eth0 carries cidr on an access port
// of vlan (0: untagged, the trunk's native VLAN).
func (s *Switch) AddPeer(t testing.TB, vlan int, cidr string) *Netns {
	t.Helper()
	return s.OVS.AddPeer(t, s.Bridge, vlan, cidr)
}

// Fixed addresses of the network beyond every gateway (documentation ranges; each test has
// its own namespaces, so they never clash).
const (
	FarIP    = "198.51.100.2"
	FarIP6   = "2001:db8:ff::2"
	farGW    = "198.51.100.1/24"
	farGW6   = "2001:db8:ff::1/64"
	farCIDR  = FarIP + "/24"
	farCIDR6 = FarIP6 + "/64"
)

// Gateway is a router namespace with a "far" namespace behind it: reaching Far (FarIP,
// FarIP6) proves routing through the gateway works.
type Gateway struct {
	NS  *Netns
	Far *Netns
	IP  string // the gateway's address on the host side, without prefix
}

// NewGateway cables a gateway namespace to host's nic (its eth0 gets gwCIDR). When hostCIDR is
// not empty, nic gets it and host gets a default route via the gateway (same family), the
// state a host has before hostprep moves its IP onto a bridge.
func NewGateway(t testing.TB, host *Netns, nic, hostCIDR, gwCIDR string) *Gateway {
	t.Helper()
	ns := NewNetns(t, "gw")
	Veth(t, host, nic, ns, "eth0")
	ns.AddAddr(t, "eth0", gwCIDR)
	g := newGateway(t, ns, gwCIDR)
	if hostCIDR != "" {
		host.AddAddr(t, nic, hostCIDR)
		fam := "-4"
		if strings.Contains(g.IP, ":") {
			fam = "-6"
		}
		host.IP(t, fam, "route", "add", "default", "via", g.IP, "dev", nic)
	}
	return g
}

// AddGateway puts a gateway on the switch, on an access port of vlan (0: untagged), with
// address gwCIDR.
func (s *Switch) AddGateway(t testing.TB, vlan int, gwCIDR string) *Gateway {
	t.Helper()
	return newGateway(t, s.AddPeer(t, vlan, gwCIDR), gwCIDR)
}

// newGateway turns ns (eth0 already addressed) into a router with the far network on eth1.
func newGateway(t testing.TB, ns *Netns, gwCIDR string) *Gateway {
	t.Helper()
	p, err := netip.ParsePrefix(gwCIDR)
	if err != nil {
		t.Fatalf("gateway address %q: %v (want a CIDR like 192.0.2.1/24)", gwCIDR, err)
	}
	ns.Exec(t, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	far := NewNetns(t, "far")
	Veth(t, ns, "eth1", far, "eth0")
	ns.AddAddr(t, "eth1", farGW)
	ns.AddAddr(t, "eth1", farGW6)
	far.AddAddr(t, "eth0", farCIDR)
	far.AddAddr(t, "eth0", farCIDR6)
	far.IP(t, "-4", "route", "add", "default", "via", strings.TrimSuffix(farGW, "/24"))
	far.IP(t, "-6", "route", "add", "default", "via", strings.TrimSuffix(farGW6, "/64"))
	return &Gateway{NS: ns, Far: far, IP: p.Addr().String()}
}
