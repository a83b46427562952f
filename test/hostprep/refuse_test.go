package hostprep_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/test/harness"
)

// logLineRE matches the progress lines hostprep logs on stderr
// ("15:04:05.000 INF ..."), which are not the refusal itself.
var logLineRE = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} [A-Z]{3} `)

// problemLines are stderr's lines that are neither warnings nor log lines.
func problemLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if l != "" && !strings.HasPrefix(l, "warning: ") && !logLineRE.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// TestRefusals runs check and apply against configs that contradict the
// host (or themselves). Each is refused with exit 1 and one line naming
// the entry, the device and the fix, and nothing on the host changes: the
// netlink state, the OVS database and the state directory are compared
// before and after every case.
func TestRefusals(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	peer := harness.NewNetns(t, "peer")
	for i, nic := range []string{"eth0", "eth1", "eth2", "eth3"} {
		harness.Veth(t, h.ns, nic, peer, "p"+string(rune('0'+i)))
	}
	h.ns.AddAddr(t, "eth0", "10.0.0.5/24")
	h.ns.IP(t, "route", "add", "default", "via", "10.0.0.1", "dev", "eth0", "onlink")
	h.ovs.AddBridge(t, "brx")
	h.vsctl("add-port", "brx", "eth3")
	harness.Veth(t, h.ns, "br7", peer, "p7")

	h.settle()
	netBefore, ovsBefore := h.netState(), h.ovsState()

	const dp = "ovs_datapath_type: netdev\n"
	cases := []struct {
		name string
		conf string
		want string // the problem line contains this
	}{
		{"IP not on the NIC", "networks: [eth0/br0/10.0.0.99]\n" + dp,
			`networks[0] "eth0/br0/10.0.0.99": 10.0.0.99 is neither on eth0 nor on br0; the IP form moves the NIC's own address: add it to eth0 first (ip addr add 10.0.0.99/PREFIX dev eth0) or write the address eth0 carries (eth0 has 10.0.0.5/24)`},
		{"wire-form NIC carrying an IP", "networks: [eth0/brpub/wire1]\n" + dp,
			`networks[0] "eth0/brpub/wire1": eth0 carries 10.0.0.5/24; a wire entry's NIC must have no IP (use eth0/brpub/10.0.0.5, or remove the address: ip addr del 10.0.0.5/24 dev eth0)`},
		{"missing NIC", "networks: [eth9/br0/10.0.0.5]\n" + dp,
			`networks[0] "eth9/br0/10.0.0.5": eth9 does not exist; check the NIC's name with "ip link"`},
		{"NIC used twice", "networks: [eth0/br0/10.0.0.5, eth0/br1/wire1]\n" + dp,
			`networks[1] "eth0/br1/wire1": NIC eth0 is already used by networks[0]`},
		{"bridge used twice", "networks: [eth1/brpub/wire1, eth2/brpub/wire2]\n" + dp,
			`networks[1] "eth2/brpub/wire2": bridge brpub is already used by networks[0]`},
		{"wire used twice", "networks: [eth1/brpub/wire1, eth2/brstore/wire1]\n" + dp,
			`networks[1] "eth2/brstore/wire1": wire wire1 is already used by networks[0]`},
		{"name over 15 bytes", "networks: [eth1/brpublicnetwork1/wire1]\n" + dp,
			`networks[0] "eth1/brpublicnetwork1/wire1": bridge "brpublicnetwork1" is 16 bytes long`},
		{"odd characters", "networks: ['eth1/br$pub/wire1']\n" + dp,
			`networks[0] "eth1/br$pub/wire1": bridge "br$pub" contains '$'`},
		{"bad YAML", "networks: [eth1/brpub/wire1\n" + dp, "host.conf: not valid YAML: line 1: did not find expected ',' or ']'"},
		{"unknown bridge_driver", "networks: [eth1/brpub/wire1]\nbridge_driver: ovs\n" + dp,
			`bridge_driver "ovs": is not a known bridge driver; use one of: openvswitch, linux_bridge`},
		{"kernel datapath missing", "networks: [eth1/brpub/wire1]\novs_datapath_type: system\n",
			`ovs_datapath_type: system: the Open vSwitch kernel datapath is missing (the generic netlink family "ovs_datapath" does not exist); load the module with "modprobe openvswitch", or set ovs_datapath_type: netdev to use the userspace datapath`},
		{"NIC is an OVS bridge", "networks: [brx/brpub/wire1]\n" + dp,
			`networks[0] "brx/brpub/wire1": brx is itself an Open vSwitch bridge; name the physical uplink NIC in the entry, not a bridge`},
		{"NIC is a port of another bridge", "networks: [eth3/brpub/wire1]\n" + dp,
			`networks[0] "eth3/brpub/wire1": eth3 is a port of Open vSwitch bridge brx, not of brpub; take it off (ovs-vsctl del-port brx eth3) or name brx in this entry`},
		{"bridge name held by another device", "networks: [eth1/br7/wire1]\n" + dp,
			`networks[0] "eth1/br7/wire1": br7 exists as a veth device that is not an Open vSwitch bridge; delete it (ip link del br7) or choose another bridge name`},
		{"host VLAN port name too long", "networks: [eth0/brpublic01/10.0.0.5]\nhost_vlans: {brpublic01: 1000}\n" + dp,
			`host_vlans brpublic01: the host's VLAN 1000 port would be named brpublic01-v1000, 16 bytes, over the kernel's 15-byte limit for interface names; shorten the bridge name to at most 9 bytes`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			defer func() { h.t = nil }()
			h.writeConf(c.conf)
			for _, cmd := range []string{"check", "apply"} {
				r := h.run(cmd)
				lines := problemLines(r.stderr)
				if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
					t.Errorf("%s: want exit 1 and one line containing\n  %s\ngot %s", cmd, c.want, r)
				}
				if cmd == "check" && r.stdout != "" {
					t.Errorf("check printed a plan for a refused config:\n%s", r.stdout)
				}
			}
			equalOrDiff(t, "netlink state", netBefore, h.netState())
			equalOrDiff(t, "OVS database", ovsBefore, h.ovsState())
			if files := h.stateFiles(); len(files) != 0 {
				t.Errorf("state directory after a refusal: %v", files)
			}
		})
	}
}

// TestCheckWarnsUnknownKey: a Cloudpods host.conf parses; its own keys are
// ignored silently, a misspelt key gets a warning naming the nearest known
// key, on check as on every command.
func TestCheckWarnsUnknownKey(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	peer := harness.NewNetns(t, "peer")
	harness.Veth(t, h.ns, "eth1", peer, "eth0")
	h.writeConf(`
networks:
  - eth1/brpub/wire1
ovs_datapath_type: netdev
ovn_integration_brige: brvpc
region: region0
zone: zone0
port: 8885
hostname: host-a
listen_interface: eth1
`)
	r := h.run("check")
	if r.code != 0 {
		t.Fatalf("check:\n%s", r)
	}
	want := `unknown key "ovn_integration_brige" ignored; did you mean "ovn_integration_bridge"?`
	warnings := 0
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "warning: ") {
			warnings++
		}
	}
	if !strings.Contains(r.stderr, want) || warnings != 1 {
		t.Errorf("check: want exactly one warning, containing %q:\n%s", want, r)
	}
	if !strings.Contains(r.stdout, `networks[0] "eth1/brpub/wire1": missing`) {
		t.Errorf("check printed no plan:\n%s", r)
	}
	if r := h.run("status"); !strings.Contains(r.stderr, want) {
		t.Errorf("status does not repeat the warning:\n%s", r)
	}
}

// TestRenameBridgeOfHostIP: after apply, an entry that names another bridge
// for the NIC whose IP lives on br0 is refused without advice that would
// cut the host off (taking the NIC off br0), and nothing changes.
func TestRenameBridgeOfHostIP(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	gw := ipHost(t, h)
	h.writeConf("networks:\n  - eth0/br0/" + hostIP + "\novs_datapath_type: netdev\n")
	h.apply()
	h.writeConf("networks:\n  - eth0/brx/" + hostIP + "\novs_datapath_type: netdev\n")
	routes, addrs := h.routes(), h.addrs("br0")
	for _, cmd := range []string{"check", "apply"} {
		r := h.run(cmd)
		lines := problemLines(r.stderr)
		if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "eth0 is a port of Open vSwitch bridge br0, which carries the host's "+hostIP+"/24") ||
			!strings.Contains(lines[0], "keep br0 in this entry") || strings.Contains(lines[0], "take it off") {
			t.Errorf("%s with the bridge renamed: want exit 1 and one line saying br0 carries the host's IP and to keep br0, got %s", cmd, r)
		}
	}
	checkRoutes(t, "routes after the refusals", h.routes(), routes)
	if got := h.addrs("br0"); strings.Join(got, " ") != strings.Join(addrs, " ") {
		t.Errorf("br0 addresses changed: %q, want %q", got, addrs)
	}
	if got := h.vsctl("port-to-br", "eth0"); got != "br0" {
		t.Errorf("eth0 is on %q after the refusals, want br0", got)
	}
	harness.ExpectReach(t, gw.NS, hostIP)
}
