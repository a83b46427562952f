package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	t.Setenv(EnvOVSRundir, "")
	want := Config{
		BridgeDriver:         "openvswitch",
		DatapathType:         "system",
		OVNIntegrationBridge: "brvpc",
		OVNEncapType:         "geneve",
		OVSRundir:            "/var/run/openvswitch",
		OVSTimeout:           5 * time.Second,
		StateDir:             "/var/lib/hostnet",
	}
	if got := Defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults() = %+v\nwant %+v", got, want)
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("Defaults() does not validate: %v", err)
	}
	for _, data := range []string{"", "# only a comment\n", "---\n", "~\n", "---\n...\n", "\ufeff# a UTF-8 byte order mark\nnetworks: []\n"} {
		c, warns, err := Parse([]byte(data), "host.conf")
		if err != nil || len(warns) > 0 {
			t.Fatalf("Parse(%q) = %v, %v", data, warns, err)
		}
		want.Path = "host.conf"
		if !reflect.DeepEqual(*c, want) {
			t.Errorf("Parse(%q) = %+v, want the defaults", data, *c)
		}
		if c.OVNEnabled() || len(c.Networks) != 0 || len(c.Wires()) != 0 {
			t.Errorf("empty config: OVN %v, networks %v", c.OVNEnabled(), c.Networks)
		}
	}
}

func TestOVSRundirResolution(t *testing.T) {
	t.Setenv(EnvOVSRundir, "/run/ovs-private")
	c, _, err := Parse([]byte("networks: []\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.OVSRundir != "/run/ovs-private" {
		t.Errorf("with $OVS_RUNDIR: OVSRundir = %s", c.OVSRundir)
	}
	c, _, err = Parse([]byte("ovs_rundir: /srv/ovs\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.OVSRundir != "/srv/ovs" {
		t.Errorf("the key must win over $OVS_RUNDIR: OVSRundir = %s", c.OVSRundir)
	}
	t.Setenv(EnvOVSRundir, "relative/dir")
	_, _, err = Parse(nil, "")
	wantErrors(t, err, `ovs_rundir "relative/dir": is not an absolute path; set ovs_rundir (or $OVS_RUNDIR)`)
}

func TestPath(t *testing.T) {
	t.Setenv(EnvConfig, "")
	if got := Path(""); got != DefaultPath || DefaultPath != "/etc/hostnet/host.conf" {
		t.Errorf("Path(\"\") = %s, want %s", got, DefaultPath)
	}
	t.Setenv(EnvConfig, "/etc/yunion/host.conf")
	if got := Path(""); got != "/etc/yunion/host.conf" {
		t.Errorf("Path with $HOSTNET_CONFIG = %s", got)
	}
	if got := Path("/tmp/x.conf"); got != "/tmp/x.conf" {
		t.Errorf("the flag must win over $HOSTNET_CONFIG: %s", got)
	}
}

// validConfigTests are whole files that must parse, with a check of what
// they produce.
var validConfigTests = []struct {
	name  string
	data  string
	check func(t *testing.T, c *Config)
}{
	{"design example", `
networks:
  - eth0/br0/192.168.222.10
  - eth1/brpub/wire1
bridge_driver: openvswitch
ovs_datapath_type: system
ovn_integration_bridge: brvpc
ovn_encap_ip: 10.0.0.5
ovn_south_database: tcp:10.0.0.2:6642
host_vlans: {br0: 100}
`, func(t *testing.T, c *Config) {
		if len(c.Networks) != 2 || c.Networks[0].Form() != FormIP || c.Networks[1].Form() != FormWire {
			t.Errorf("networks = %+v", c.Networks)
		}
		if !c.OVNEnabled() || c.OVNEncapIP != netip.MustParseAddr("10.0.0.5") || c.OVNSouthDatabase != "tcp:10.0.0.2:6642" {
			t.Errorf("OVN = %v %v %q", c.OVNEnabled(), c.OVNEncapIP, c.OVNSouthDatabase)
		}
		if c.HostVLANs["br0"] != 100 || len(c.HostVLANs) != 1 {
			t.Errorf("host_vlans = %v", c.HostVLANs)
		}
		if br, ok := c.BridgeForWire("wire1"); !ok || br != "brpub" {
			t.Errorf("BridgeForWire(wire1) = %s, %v", br, ok)
		}
		if _, ok := c.BridgeForWire("wire9"); ok {
			t.Error("BridgeForWire(wire9) found something")
		}
		if _, ok := c.BridgeForWire(""); ok {
			t.Error("BridgeForWire(\"\") matched an IP-form entry")
		}
		if e, ok := c.EntryForBridge("br0"); !ok || e.NIC != "eth0" {
			t.Errorf("EntryForBridge(br0) = %+v, %v", e, ok)
		}
		if _, ok := c.EntryForBridge("brvpc"); ok {
			t.Error("EntryForBridge(brvpc) found an entry")
		}
		if e, ok := c.EntryForNIC("eth1"); !ok || e.Bridge != "brpub" {
			t.Errorf("EntryForNIC(eth1) = %+v, %v", e, ok)
		}
		if _, ok := c.EntryForNIC("eth9"); ok {
			t.Error("EntryForNIC(eth9) found an entry")
		}
		if w := c.Wires(); len(w) != 1 || w[0].Wire != "wire1" || w[0].Index != 1 {
			t.Errorf("Wires() = %+v", w)
		}
	}},
	{"all keys set", `
networks: [eth0/br0/2001:db8::10/192.168.222.10]
bridge_driver: openvswitch
ovs_datapath_type: netdev
ovn_integration_bridge: br-int
ovn_encap_ip: 2001:db8::10
ovn_south_database: ssl:[2001:db8::2]:6642,ssl:ovn-sb.example.com:6642,unix:/var/run/ovn/ovnsb_db.sock
ovn_encap_type: vxlan
host_vlans: {br0: 4094}
ovs_rundir: /run/openvswitch
ovs_timeout: 1500ms
state_dir: /var/lib/hostnet-test
`, func(t *testing.T, c *Config) {
		want := Config{
			Path:                 "test.conf",
			Networks:             []Entry{{Index: 0, Raw: "eth0/br0/2001:db8::10/192.168.222.10", NIC: "eth0", Bridge: "br0", IPs: []netip.Addr{netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("192.168.222.10")}}},
			BridgeDriver:         "openvswitch",
			DatapathType:         "netdev",
			OVNIntegrationBridge: "br-int",
			OVNEncapIP:           netip.MustParseAddr("2001:db8::10"),
			OVNSouthDatabase:     "ssl:[2001:db8::2]:6642,ssl:ovn-sb.example.com:6642,unix:/var/run/ovn/ovnsb_db.sock",
			OVNEncapType:         "vxlan",
			HostVLANs:            map[string]int{"br0": 4094},
			OVSRundir:            "/run/openvswitch",
			OVSTimeout:           1500 * time.Millisecond,
			StateDir:             "/var/lib/hostnet-test",
		}
		if !reflect.DeepEqual(*c, want) {
			t.Errorf("got  %+v\nwant %+v", *c, want)
		}
	}},
	{"linux bridge, empty values keep defaults", `
bridge_driver: linux_bridge
networks:
  - eth0/br0/10.0.0.5
ovn_integration_bridge:
ovs_datapath_type: ""
ovn_encap_ip: ""
ovs_timeout: ~
host_vlans: {}
`, func(t *testing.T, c *Config) {
		if c.BridgeDriver != DriverLinuxBridge || c.OVNIntegrationBridge != "brvpc" || c.DatapathType != "system" ||
			c.OVNEncapIP.IsValid() || c.OVSTimeout != 5*time.Second {
			t.Errorf("got %+v", c)
		}
	}},
	{"only VPC: no networks", `
networks:
ovn_encap_ip: 10.0.0.5
ovn_south_database: tcp:10.0.0.2:6642
`, func(t *testing.T, c *Config) {
		if len(c.Networks) != 0 || !c.OVNEnabled() {
			t.Errorf("got %+v", c)
		}
	}},
	{"anchors and aliases", `
x-bridge: &br brvpc2
ovn_integration_bridge: *br
nets: &nets
  - eth0/br0/10.0.0.5
networks: *nets
`, func(t *testing.T, c *Config) {
		if c.OVNIntegrationBridge != "brvpc2" || len(c.Networks) != 1 {
			t.Errorf("got %+v", c)
		}
	}},
	{"VLAN in decimal and bounds", `
networks: [eth0/br0/10.0.0.5, eth1/br1/10.0.1.5]
host_vlans: {br0: 100, br1: 1}
ovs_timeout: 60s
`, func(t *testing.T, c *Config) {
		if c.HostVLANs["br0"] != 100 || c.HostVLANs["br1"] != 1 || c.OVSTimeout != time.Minute {
			t.Errorf("got %+v", c)
		}
	}},
}

func TestParseValid(t *testing.T) {
	for _, tt := range validConfigTests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse([]byte(tt.data), "test.conf")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("parsed config does not re-validate: %v", err)
			}
			tt.check(t, c)
		})
	}
}

// invalidConfigTests list, per file, the substring of every error it must
// produce, in order.
var invalidConfigTests = []struct {
	name string
	data string
	want []string
}{
	{"networks is a string", "networks: eth0/br0/10.0.0.5\n",
		[]string{`networks "eth0/br0/10.0.0.5": must be a list, not a single value (line 1)`}},
	{"networks is a mapping", "networks: {eth0: br0}\n", []string{"networks: must be a list, not a mapping"}},
	{"networks item is a list", "networks:\n  - [eth0, br0]\n", []string{"networks[0]: is a list (line 2); an entry is one string"}},
	{"networks item empty", "networks:\n  -\n", []string{"networks[0]: is empty"}},
	{"bad entries all reported", "networks:\n  - eth0/br0/10.0.0.5/24\n  - eth1\n  - eth2/br2/wire2\n",
		[]string{"prefix comes from the live address", "has 1 part(s)"}},
	{"duplicate bridge", "networks:\n  - eth0/brpub/10.0.0.5\n  - eth1/brpub/wire1\n",
		[]string{`networks[1] "eth1/brpub/wire1": bridge brpub is already used by networks[0]; give each entry its own bridge`}},
	{"duplicate NIC", "networks:\n  - eth0/br0/10.0.0.5\n  - eth0/br1/2001:db8::5\n",
		[]string{`networks[1] "eth0/br1/2001:db8::5": NIC eth0 is already used by networks[0]; give each NIC one entry; a dual-stack NIC is NIC/BRIDGE/IPV4/IPV6`}},
	{"duplicate wire", "networks:\n  - eth0/br0/wire1\n  - eth1/br1/wire1\n",
		[]string{`networks[1] "eth1/br1/wire1": wire wire1 is already used by networks[0]`}},
	{"NIC is another entry's bridge", "networks:\n  - eth0/br0/10.0.0.5\n  - br0/br1/wire1\n",
		[]string{`networks[1] "br0/br1/wire1": NIC br0 is the bridge of networks[0]; a NIC cannot also be a bridge`}},
	{"NIC is a later entry's bridge", "networks:\n  - eth1/br1/wire1\n  - eth0/eth1/10.0.0.5\n",
		[]string{`networks[0] "eth1/br1/wire1": NIC eth1 is the bridge of networks[1]`}},
	{"index counts bad entries", "networks:\n  - bad\n  - eth0/br0/wire1\n  - eth1/br0/wire2\n",
		[]string{"networks[0]", `networks[2] "eth1/br0/wire2": bridge br0 is already used by networks[1]`}},
	{"integration bridge is a networks bridge", "networks: [eth0/brvpc/10.0.0.5]\n",
		[]string{`ovn_integration_bridge "brvpc": is also the bridge of networks[0] "eth0/brvpc/10.0.0.5"; the VPC bridge is a bridge of its own`}},
	{"integration bridge is a NIC", "networks: [eth0/br0/10.0.0.5]\novn_integration_bridge: eth0\n",
		[]string{`ovn_integration_bridge "eth0": is the NIC of networks[0]`}},
	{"integration bridge name invalid", "ovn_integration_bridge: br-integration-01\n",
		[]string{`ovn_integration_bridge: "br-integration-01" is 17 bytes long (interface names are 1 to 15 bytes`}},
	{"integration bridge is a list", "ovn_integration_bridge: [a, b]\n",
		[]string{"ovn_integration_bridge: must be a single value, not a list (line 1); write ovn_integration_bridge: VALUE"}},
	{"bridge driver unknown", "bridge_driver: ovs\n",
		[]string{`bridge_driver "ovs": is not a known bridge driver; use one of: openvswitch, linux_bridge`}},
	{"bridge driver Cloudpods spelling", "bridge_driver: bridge\n", []string{`bridge_driver "bridge": is not a known bridge driver`}},
	{"datapath unknown", "ovs_datapath_type: dpdk\n",
		[]string{`ovs_datapath_type "dpdk": is not a known datapath type; use one of: system (kernel module), netdev (userspace)`}},
	{"host_vlans on a wire bridge", "networks: [eth1/brpub/wire1]\nhost_vlans: {brpub: 10}\n",
		[]string{`host_vlans "brpub": is the bridge of wire entry networks[0] "eth1/brpub/wire1", which has no host IP`}},
	{"host_vlans unknown bridge", "networks: [eth0/br0/10.0.0.5, eth1/br1/10.0.1.5]\nhost_vlans: {brx: 10}\n",
		[]string{`host_vlans "brx": is not the bridge of any networks entry; use the bridge of an IP-form networks entry (br0, br1)`}},
	{"host_vlans VLAN 0 and 4095", "networks: [eth0/br0/10.0.0.5, eth1/br1/10.0.1.5]\nhost_vlans: {br0: 0, br1: 4095}\n",
		[]string{`host_vlans "br0": VLAN 0 is out of range; use a VLAN ID from 1 to 4094`, `host_vlans "br1": VLAN 4095 is out of range`}},
	{"host_vlans negative", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: -1}\n", []string{"VLAN -1 is out of range"}},
	{"host_vlans quoted", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: \"0100\"}\n",
		[]string{`host_vlans "br0": VLAN "0100" is quoted text, not a number; write it without quotes: br0: 100`}},
	{"host_vlans not a number", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: ten}\n",
		[]string{`host_vlans "br0": VLAN "ten" is not a number; use a VLAN ID from 1 to 4094`}},
	{"host_vlans leading zero", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 0100}\n",
		[]string{`host_vlans "br0": VLAN 0100 has a leading zero, which YAML reads as an octal number; write br0: 100`}},
	{"host_vlans leading zero 08", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 08}\n",
		[]string{`host_vlans "br0": VLAN 08 has a leading zero, which YAML reads as an octal number; write br0: 8`}},
	{"host_vlans leading zero 09", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 09}\n", []string{`VLAN 09 has a leading zero, which YAML reads as an octal number; write br0: 9`}},
	{"host_vlans leading zero 00", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 00}\n",
		[]string{`VLAN 00 has a leading zero, which YAML reads as an octal number; use a VLAN ID from 1 to 4094`}},
	{"host_vlans negative leading zero", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: -0100}\n", []string{`VLAN -0100 is out of range`}},
	{"host_vlans hex", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 0x64}\n",
		[]string{`host_vlans "br0": VLAN 0x64 is not written as a plain VLAN ID; write br0: 100`}},
	{"host_vlans octal 0o", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 0o144}\n", []string{`VLAN 0o144 is not written as a plain VLAN ID; write br0: 100`}},
	{"host_vlans binary", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 0b1100100}\n", []string{`VLAN 0b1100100 is not written as a plain VLAN ID; write br0: 100`}},
	{"host_vlans underscore", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 1_00}\n", []string{`VLAN 1_00 is not written as a plain VLAN ID; write br0: 100`}},
	{"host_vlans plus sign", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: +100}\n", []string{`VLAN +100 is not written as a plain VLAN ID; write br0: 100`}},
	{"host_vlans octal with underscore", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 0_100}\n",
		[]string{`host_vlans "br0": VLAN 0_100 is not written as a plain VLAN ID (YAML reads it as octal: 64); write br0: 100`}},
	{"host_vlans negative hex", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: -0x64}\n",
		[]string{`VLAN -0x64 is not written as a plain VLAN ID; use a VLAN ID from 1 to 4094`}},
	{"host_vlans hex out of int64", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 0xffffffffffffffff}\n",
		[]string{`VLAN 0xffffffffffffffff is not written as a plain VLAN ID; write the VLAN ID in decimal digits`}},
	{"host_vlans float", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 100.0}\n",
		[]string{`VLAN 100.0 is not written as a plain VLAN ID; write the VLAN ID in decimal digits`}},
	{"host_vlans quoted hex", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: '0x64'}\n", []string{`VLAN "0x64" is not a number`}},
	{"host_vlans tagged int in quotes", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: !!int \"100\"}\n",
		[]string{`VLAN "100" is quoted text, not a number; write it without quotes: br0: 100`}},
	{"host_vlans tagged float", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: !!float 100}\n",
		[]string{`VLAN 100 is tagged !!float, not a plain VLAN ID; write br0: 100`}},
	{"host_vlans a list", "host_vlans: [br0, 100]\n", []string{"host_vlans: must be a mapping of bridge to VLAN, not a list"}},
	{"host_vlans duplicate", "networks: [eth0/br0/10.0.0.5]\nhost_vlans:\n  br0: 1\n  br0: 2\n", []string{`host_vlans "br0": is set twice (lines 3 and 4)`}},
	{"host_vlans with linux_bridge", "bridge_driver: linux_bridge\nnetworks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 100}\n",
		[]string{"host_vlans: is set but bridge_driver linux_bridge is plain bridging without VLANs; remove host_vlans or use bridge_driver: openvswitch"}},
	{"encap ip invalid", "ovn_encap_ip: 10.0.0\n", []string{`ovn_encap_ip "10.0.0": is not an IP address`}},
	{"encap ip with prefix", "ovn_encap_ip: 10.0.0.5/24\n", []string{"is not a single IP address (no prefix length here)"}},
	{"encap ip unspecified", "ovn_encap_ip: 0.0.0.0\n", []string{`ovn_encap_ip "0.0.0.0": is the unspecified address`}},
	{"encap ip multicast", "ovn_encap_ip: ff02::1\n", []string{"is a multicast address"}},
	{"encap ip mapped", "ovn_encap_ip: ::ffff:10.0.0.5\n", []string{"write it as 10.0.0.5"}},
	{"encap ip zone", "ovn_encap_ip: fe80::1%eth0\n", []string{"has a zone"}},
	{"south db no port", "ovn_south_database: tcp:10.0.0.2\n", []string{`"tcp:10.0.0.2" is not METHOD:HOST:PORT`}},
	{"south db bad method", "ovn_south_database: http://10.0.0.2:6642\n", []string{"has an unknown method"}},
	{"south db no method", "ovn_south_database: 10.0.0.2\n", []string{`"10.0.0.2" has no method`}},
	{"south db bad port", "ovn_south_database: tcp:10.0.0.2:70000\n", []string{"has a port that is not 1..65535"}},
	{"south db port 0", "ovn_south_database: tcp:10.0.0.2:0\n", []string{"has a port that is not 1..65535"}},
	{"south db unbracketed v6", "ovn_south_database: tcp:2001:db8::2:6642\n", []string{"an IPv6 host goes in brackets"}},
	{"south db bracketed v4", "ovn_south_database: tcp:[10.0.0.2]:6642\n", []string{"bracketed host that is not an IPv6 address"}},
	{"south db bad host", "ovn_south_database: tcp:bad_host:6642\n", []string{"has a host that is not an IP address or DNS name"}},
	{"south db relative unix", "ovn_south_database: unix:ovnsb_db.sock\n", []string{"socket path is not an absolute path"}},
	{"south db list with a bad one", "ovn_south_database: tcp:10.0.0.2:6642,,ssl:10.0.0.3\n",
		[]string{`"" has no method`, `"ssl:10.0.0.3" is not METHOD:HOST:PORT`}},
	{"south db with spaces", "ovn_south_database: tcp:10.0.0.2:6642, tcp:10.0.0.3:6642\n", []string{`" tcp:10.0.0.3:6642" has an unknown method`}},
	{"encap type", "ovn_encap_type: stt\n", []string{`ovn_encap_type "stt": is not a supported encapsulation; use one of: geneve, vxlan`}},
	{"timeout no unit", "ovs_timeout: 5\n", []string{`ovs_timeout "5": is a number without a unit; write a duration such as 5s`}},
	{"timeout garbage", "ovs_timeout: soon\n", []string{`ovs_timeout "soon": is not a duration`}},
	{"timeout zero", "ovs_timeout: 0s\n", []string{`ovs_timeout "0s": must be more than 0 and at most 1m0s`}},
	{"timeout negative", "ovs_timeout: -1s\n", []string{"must be more than 0"}},
	{"timeout too long", "ovs_timeout: 61s\n", []string{`ovs_timeout "1m1s": must be more than 0 and at most 1m0s`}},
	{"state dir relative", "state_dir: var/lib/hostnet\n", []string{`state_dir "var/lib/hostnet": is not an absolute path`}},
	{"rundir control char", "ovs_rundir: \"/run/a\\tb\"\n", []string{"contains a control character"}},
	{"duplicate key", "bridge_driver: openvswitch\nbridge_driver: linux_bridge\n",
		[]string{"bridge_driver: is set twice (lines 1 and 2); keep one of them"}},
	{"duplicate unknown key", "\"a b\": 1\n\"a b\": 2\n", []string{`"a b": is set twice (lines 1 and 2)`}},
	{"host_vlans list key", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {[br0]: 1}\n", []string{"host_vlans: has a key that is not a bridge name (line 2)"}},
	{"host_vlans list value", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: [100]}\n",
		[]string{`host_vlans "br0": VLAN must be a single number, not a list (line 2); write one VLAN ID, e.g. br0: 100`}},
	{"host_vlans mapping value", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: {vlan: 100}}\n",
		[]string{`host_vlans "br0": VLAN must be a single number, not a mapping`}},
	{"host_vlans no value", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: }\n", []string{`host_vlans "br0": has no VLAN (line 2); write br0: VLAN`}},
	{"host_vlans huge", "networks: [eth0/br0/10.0.0.5]\nhost_vlans: {br0: 99999999999999999999999}\n", []string{`host_vlans "br0": VLAN 99999999999999999999999 is out of range; use a VLAN ID from 1 to 4094`}},
	{"merge key", "base: &b {bridge_driver: openvswitch}\n<<: *b\n", []string{"<<: YAML merge keys are not supported at the top level"}},
	{"non-scalar key", "[a, b]: 1\n", []string{"line 1: a key that is not a plain name"}},
	{"every problem reported", `
networks:
  - eth0/br0/10.0.0.5/24
  - eth1/br1/wire1
  - eth2/br1/wire1
bridge_driver: ovs
ovs_datapath_type: dpdk
ovn_encap_type: stt
ovs_timeout: 5
host_vlans: {br1: 100}
`, []string{
		"prefix comes from the live address",
		`ovs_timeout "5"`,
		`networks[2] "eth2/br1/wire1": bridge br1 is already used by networks[1]`,
		`networks[2] "eth2/br1/wire1": wire wire1 is already used by networks[1]`,
		`bridge_driver "ovs"`,
		`ovs_datapath_type "dpdk"`,
		`ovn_encap_type "stt"`,
		`host_vlans "br1": is the bridge of wire entry networks[1]`,
	}},
}

func TestParseInvalid(t *testing.T) {
	for _, tt := range invalidConfigTests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse([]byte(tt.data), "test.conf")
			if c != nil {
				t.Errorf("Parse returned a config with an error: %+v", c)
			}
			wantErrors(t, err, tt.want...)
		})
	}
}

var syntaxTests = []struct {
	name string
	data string
	want string
}{
	{"unclosed list", "networks: [eth0/br0/10.0.0.5\nbridge_driver: x\n", "/etc/hostnet/host.conf: not valid YAML: line "},
	{"bad indentation", "networks:\n  - eth0/br0/10.0.0.5\n bridge_driver: openvswitch\n", "/etc/hostnet/host.conf: not valid YAML: line 2: did not find expected key"},
	{"tab indentation", "networks:\n\t- eth0/br0/10.0.0.5\n", "/etc/hostnet/host.conf: not valid YAML: line 2"},
	{"top level is a list", "- eth0/br0/10.0.0.5\n", "/etc/hostnet/host.conf: not valid YAML: line 1: the top level is a list; it must be a mapping"},
	{"top level is a string", "networks\n", "line 1: the top level is a single value"},
	{"two documents", "networks: []\n---\nbridge_driver: x\n", "line 2: a second YAML document starts here; keep one document"},
	{"undefined alias", "networks: *nets\n", "/etc/hostnet/host.conf: not valid YAML: "},
	{"ini style", "[DEFAULT]\nport = 8885\n", "/etc/hostnet/host.conf: not valid YAML: line 1"},
	{"error on line 1", "bridge_driver: a: b\n", "/etc/hostnet/host.conf: not valid YAML: line 1: mapping values are not allowed"},
	{"unclosed quote", "networks: []\nbridge_driver: 'openvswitch\n", "not valid YAML: line 2"},
	{"control character", "networks: []\nbridge_driver: \"open\x01vswitch\"\n", "not valid YAML: line 2: control character U+0001 is not allowed"},
	{"NUL byte", "networks: []\n\n\x00", "not valid YAML: line 3: control character U+0000"},
	{"C1 control", "a: \u0081\n", "line 1: control character U+0081"},
	{"Latin-1 file", "networks: []\nhostname: k\xf6ln\n", "not valid YAML: line 2: the file is not UTF-8 (byte 0xf6)"},
	{"UTF-16 file", "\xff\xfen\x00e\x00", "not valid YAML: line 1: the file is UTF-16; save it as UTF-8"},
}

func TestParseSyntax(t *testing.T) {
	for _, tt := range syntaxTests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse([]byte(tt.data), "/etc/hostnet/host.conf")
			if c != nil || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse = %+v, %v; want an ErrSyntax error", c, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	for _, tt := range []struct {
		name string
		data string
		want []string
	}{
		{"Cloudpods keys are silent", "port: 8885\nmaster_address: 10.0.0.1\nzone: z\nsdn_enable_guest_man: true\nnetworks: []\n", nil},
		{"typo suggests the key", "ovn_intergration_bridge: brvpc\n",
			[]string{`/p/host.conf:1: unknown key "ovn_intergration_bridge" ignored; did you mean "ovn_integration_bridge"?`}},
		{"dash and case", "\n\nBridge-Driver: linux_bridge\n", []string{`/p/host.conf:3: unknown key "Bridge-Driver" ignored; did you mean "bridge_driver"?`}},
		{"transposition", "ovs_tiemout: 5s\n", []string{`did you mean "ovs_timeout"?`}},
		{"typo of a Cloudpods key", "master_adress: x\n", []string{`unknown key "master_adress" ignored; did you mean "master_address"?`}},
		{"nothing close", "frobnicate: 1\n", []string{`/p/host.conf:1: unknown key "frobnicate" ignored`}},
		{"key with a newline", "\"a\\nb\": 1\n", []string{`unknown key "a\nb" ignored`}},
		{"OVN database without encap ip", "ovn_south_database: unix:/var/run/openvswitch/ovnsb_db.sock\n",
			[]string{"/p/host.conf: ovn_south_database is set but ovn_encap_ip is not; OVN settings are not written (set both to enable)"}},
		{"OVN encap ip without database", "ovn_encap_ip: 10.0.0.5\n", []string{"ovn_encap_ip is set but ovn_south_database is not"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := Parse([]byte(tt.data), "/p/host.conf")
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != len(tt.want) {
				t.Fatalf("warnings = %q, want %d", warns, len(tt.want))
			}
			for i, w := range tt.want {
				msg := warns[i].Message
				if !strings.Contains(msg, w) || strings.Contains(msg, "\n") || warns[i].String() != msg || warns[i].Key == "" {
					t.Errorf("warning %d = %+v, want one line containing %q", i, warns[i], w)
				}
			}
			if strings.Contains(tt.name, "OVN") && c.OVNEnabled() {
				t.Error("OVNEnabled with one of the two settings")
			}
		})
	}
	// Nothing close: no suggestion at all.
	_, warns, _ := Parse([]byte("frobnicate: 1\n"), "x")
	if len(warns) != 1 || strings.Contains(warns[0].Message, "did you mean") {
		t.Errorf("warnings = %q", warns)
	}
	// Warnings come back with errors too: a typo may explain an error.
	_, warns, err := Parse([]byte("bridge_drivr: linux_bridge\nbridge_driver: ovs\n"), "x")
	if err == nil || len(warns) != 1 {
		t.Errorf("Parse = %q, %v; want a warning and an error", warns, err)
	}
}

func TestCloudpodsHostConf(t *testing.T) {
	t.Setenv(EnvOVSRundir, "")
	c, warns, err := Load(filepath.Join("testdata", "cloudpods-host.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("a Cloudpods host.conf gave warnings: %q", warns)
	}
	if len(c.Networks) != 3 || len(c.Wires()) != 1 || c.Wires()[0].Wire != "bcast0" {
		t.Errorf("networks = %+v", c.Networks)
	}
	if got := c.Networks[2].IPs; len(got) != 2 || !got[0].Is6() || !got[1].Is4() {
		t.Errorf("dual-stack entry IPs = %v", got)
	}
	if !c.OVNEnabled() || c.DatapathType != DatapathNetdev || c.OVSTimeout != 3*time.Second || c.HostVLANs["br0"] != 100 {
		t.Errorf("config = %+v", c)
	}
	if c.Path != filepath.Join("testdata", "cloudpods-host.conf") || c.OVSRundir != DefaultOVSRundir {
		t.Errorf("Path %s, OVSRundir %s", c.Path, c.OVSRundir)
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "host.conf")
	_, _, err := Load(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	want := "config file " + missing + " does not exist; create it, or point --config or $HOSTNET_CONFIG at the right file"
	if err.Error() != want {
		t.Errorf("Load(missing) = %q\nwant %q", err, want)
	}

	dir := t.TempDir()
	if _, _, err := Load(dir); err == nil || err.Error() != "config file "+dir+" is a directory; point --config or $HOSTNET_CONFIG at the host config file itself (default /etc/hostnet/host.conf)" {
		t.Errorf("Load(directory) = %v, want an error naming it and the fix", err)
	}

	big := filepath.Join(t.TempDir(), "big.conf")
	if err := os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) = %v", err)
	}

	bad := filepath.Join(t.TempDir(), "bad.conf")
	if err := os.WriteFile(bad, []byte("networks: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(bad); !errors.Is(err, ErrSyntax) || !strings.HasPrefix(err.Error(), bad+": not valid YAML: line") {
		t.Errorf("Load(bad YAML) = %v", err)
	}
}
