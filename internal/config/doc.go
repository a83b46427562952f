// Package config reads and validates hostnet's host config,
// /etc/hostnet/host.conf (DESIGN.md section 2). It is pure logic: it reads
// the file and two environment variables and nothing else; live checks
// (the NIC exists, carries the IP) belong to hostprep.
//
// # API
//
//	Path(flag) string                      flag, else $HOSTNET_CONFIG, else DefaultPath
//	Load(path) (*Config, []Warning, error) read the file, then Parse
//	Parse(data, path) (*Config, []Warning, error)
//	Defaults() Config                      the config of an empty file
//	(*Config).Validate() error             the rules below, for configs built in code
//	ParseEntry(index, raw) (Entry, error)  one networks item
//	ValidateIfName(name) error             1..15 bytes of [A-Za-z0-9_.-], not "." or ".."
//	ValidateWireName(name) error           same characters, at most 31 bytes
//	(*Config).BridgeForWire, EntryForBridge, EntryForNIC, Wires, OVNEnabled
//
// # File format
//
// YAML, a superset of the networking part of Cloudpods' /etc/yunion/host.conf:
//
//	networks:                      # may be empty or absent: a host with only VPC networking
//	  - eth0/br0/192.168.222.10    # IP form: NIC/BRIDGE/IP, or NIC/BRIDGE/IPV4/IPV6 in either order
//	  - eth1/brpub/wire1           # wire form: NIC/BRIDGE/WIRE
//	bridge_driver: openvswitch     # or linux_bridge (plain bridging; no host_vlans)
//	ovs_datapath_type: system      # or netdev (userspace datapath)
//	ovn_integration_bridge: brvpc
//	ovn_encap_ip: 10.0.0.5         # with ovn_south_database: OVN settings are written
//	ovn_south_database: tcp:10.0.0.2:6642   # tcp:HOST:PORT, ssl:HOST:PORT, unix:/PATH; comma separated
//	ovn_encap_type: geneve         # or vxlan
//	host_vlans: {br0: 100}         # bridge of an IP-form entry -> VLAN 1..4094, in plain decimal digits
//	ovs_rundir: /var/run/openvswitch        # default $OVS_RUNDIR, else /var/run/openvswitch
//	ovs_timeout: 5s                # Go duration, > 0 and <= 60s
//	state_dir: /var/lib/hostnet
//
// A key with no value (key:) or an empty string means "not set": the
// default applies. Keys hostnet does not use but Cloudpods does are
// ignored silently; any other key gives a Warning naming the file, the
// line, the key and the nearest known key when one is close. Values of
// known keys are typed strictly: a string where a list belongs is an error.
// Duplicate keys, YAML merge keys (<<) at the top level and files with more
// than one YAML document are errors.
//
// A networks entry's third part is an address when it contains ":" or is
// made of digits and dots (so 10.0.0.300 is a bad address, not a wire);
// otherwise it is a wire name. Addresses are the host's own unicast
// addresses, written without a prefix length: the prefix comes from the
// live address on the NIC, and all of the NIC's addresses move with the
// listed one. Wire names use the interface name characters and may be up
// to 31 bytes, because they are labels (domain XML, status), never kernel
// names.
//
// # Errors and warnings
//
// Everything is checked before anything is used, and every problem is
// reported: Parse returns an errors.Join of *FieldError, one line each,
// e.g.
//
//	networks[1] "eth1/brpub/wire1": bridge brpub is already used by networks[0]; give each entry its own bridge
//	bridge_driver "ovs": is not a known bridge driver; use one of: openvswitch, linux_bridge
//
// Field errors do not repeat the file name: callers say which file they
// loaded. A file that is not UTF-8 YAML gives an error wrapping ErrSyntax
// that names the file and the line. A missing file gives an error that
// matches fs.ErrNotExist and says how to point hostnet at another file.
//
// Warnings (unknown keys; only one of ovn_encap_ip and ovn_south_database
// set, which leaves OVN unconfigured) never stop hostnet. Parse returns
// them with its error too, since a misspelt key often explains one.
package config
