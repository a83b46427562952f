package config

import (
	"net/netip"
	"testing"
)

func mustEntry(t *testing.T, i int, raw string) Entry {
	t.Helper()
	e, err := ParseEntry(i, raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestValidateBuilt covers configs built in code (tests of other packages,
// hostprep's own plans), which do not go through ParseEntry's checks.
func TestValidateBuilt(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tt := range []struct {
		name   string
		change func(c *Config)
		want   []string
	}{
		{"defaults plus entries", func(c *Config) {}, nil},
		{"index out of place", func(c *Config) { c.Networks[1].Index = 5 }, []string{`networks[5] "eth1/brpub/wire1": is at position 1 of networks`}},
		{"wire and IPs", func(c *Config) { c.Networks[1].IPs = []netip.Addr{ip("10.0.0.9")} }, []string{"has both a wire and IP addresses"}},
		{"neither", func(c *Config) { c.Networks[0].IPs = nil }, []string{"has neither a wire nor an IP address"}},
		{"three IPs", func(c *Config) {
			c.Networks[0].IPs = []netip.Addr{ip("10.0.0.1"), ip("2001:db8::1"), ip("10.0.0.2")}
		}, []string{"has 3 addresses"}},
		{"two v4", func(c *Config) { c.Networks[0].IPs = []netip.Addr{ip("10.0.0.1"), ip("10.0.0.2")} }, []string{"has two IPv4 addresses"}},
		{"zero IP", func(c *Config) { c.Networks[0].IPs = []netip.Addr{{}} }, []string{`"invalid IP" is not a valid IP address`}},
		{"loopback IP", func(c *Config) { c.Networks[0].IPs = []netip.Addr{ip("127.0.0.1")} }, []string{`"127.0.0.1" is a loopback address`}},
		{"bad wire", func(c *Config) { c.Networks[1].Wire = "a b" }, []string{`wire "a b" contains ' '`}},
		{"bad NIC", func(c *Config) { c.Networks[1].NIC = "" }, []string{`NIC "" is empty`}},
		{"empty integration bridge", func(c *Config) { c.OVNIntegrationBridge = "" }, []string{`ovn_integration_bridge: "" is empty`}},
		{"empty driver", func(c *Config) { c.BridgeDriver = "" }, []string{"bridge_driver: is not a known bridge driver; use one of: openvswitch, linux_bridge"}},
		{"multicast encap", func(c *Config) { c.OVNEncapIP = ip("239.1.1.1") }, []string{`ovn_encap_ip "239.1.1.1": is a multicast address`}},
		{"zero timeout", func(c *Config) { c.OVSTimeout = 0 }, []string{"ovs_timeout \"0s\": must be more than 0"}},
		{"empty state dir", func(c *Config) { c.StateDir = "" }, []string{"state_dir: is empty"}},
		{"empty rundir", func(c *Config) { c.OVSRundir = "" }, []string{"ovs_rundir: is empty"}},
		{"host VLAN", func(c *Config) { c.HostVLANs = map[string]int{"br0": 4095} }, []string{`host_vlans "br0": VLAN 4095 is out of range`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			c.OVSRundir = DefaultOVSRundir
			c.Networks = []Entry{mustEntry(t, 0, "eth0/br0/10.0.0.5"), mustEntry(t, 1, "eth1/brpub/wire1")}
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			wantErrors(t, err, tt.want...)
		})
	}
}
