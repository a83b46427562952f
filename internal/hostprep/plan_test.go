package hostprep

import (
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/netstate"
	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/vswitch"
)

const mac0 = "02:00:00:00:00:01"

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, _, err := config.Parse([]byte(yaml), "host.conf")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}

const ipConf = `
networks:
  - eth0/br0/192.0.2.10
ovs_datapath_type: netdev
`

func route(dst, gw, dev string) netstate.Route {
	r := netstate.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: pfx(dst), Dev: dev, Protocol: unix.RTPROT_BOOT}
	if gw != "" {
		r.Gw = addr(gw)
	} else {
		r.Scope = unix.RT_SCOPE_LINK
	}
	return r
}

func kernelRoute(dst, dev string) netstate.Route {
	return netstate.Route{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST, Dst: pfx(dst), Dev: dev,
		Protocol: unix.RTPROT_KERNEL, Scope: unix.RT_SCOPE_LINK}
}

var (
	primary   = netstate.Addr{Prefix: pfx("192.0.2.10/24"), Label: "eth0", PreferredLft: netstate.Forever, ValidLft: netstate.Forever}
	secondary = netstate.Addr{Prefix: pfx("192.0.2.11/24"), Label: "eth0", Flags: unix.IFA_F_SECONDARY, PreferredLft: netstate.Forever, ValidLft: netstate.Forever}
	lladdr    = netstate.Addr{Prefix: pfx("fe80::1/64"), Scope: unix.RT_SCOPE_LINK}
	defRoute  = route("0.0.0.0/0", "192.0.2.1", "eth0")
)

func sysctls(v string, devs ...string) map[string]string {
	m := map[string]string{}
	for _, d := range devs {
		for _, s := range noAutoconf(d) {
			m[s.Key] = v
		}
	}
	return m
}

// freshHost is a host before hostprep: eth0 carries the IP configuration.
func freshHost() *Observed {
	return &Observed{
		Net: &netstate.Host{
			Links: map[string]*netstate.Link{
				"lo":   {Name: "lo", Index: 1, Kind: "device", Up: true, MTU: 65536},
				"eth0": {Name: "eth0", Index: 2, Kind: "veth", MAC: mac0, MTU: 1400, Up: true, Addrs: []netstate.Addr{primary, secondary, lladdr}},
			},
			Routes: []netstate.Route{defRoute, kernelRoute("192.0.2.0/24", "eth0")},
		},
		OVS:      &vswitch.Snapshot{Root: vswitch.Root{UUID: "root", ExternalIDs: map[string]string{}}, Bridges: map[string]*vswitch.Bridge{}, Ports: map[string]*vswitch.Port{}},
		Sysctls:  sysctls("1", "eth0"),
		Journals: map[string]*Journal{},
		BootID:   "boot-1",
		Hostname: "host1",
	}
}

func bridgeRows(snap *vswitch.Snapshot, name, failMode, hwaddr string, mtu int, ports ...string) {
	snap.Bridges[name] = &vswitch.Bridge{UUID: ovsdb.UUID("b-" + name), Name: name, DatapathType: "netdev", FailMode: failMode, OtherConfig: map[string]string{}}
	if hwaddr != "" {
		snap.Bridges[name].OtherConfig["hwaddr"] = hwaddr
	}
	if failMode == "secure" {
		snap.Bridges[name].OtherConfig["disable-in-band"] = "true"
	}
	snap.Ports[name] = &vswitch.Port{UUID: ovsdb.UUID("p-" + name), Name: name, Bridge: name,
		Interfaces: []vswitch.Interface{{UUID: ovsdb.UUID("i-" + name), Name: name, Type: "internal", MTURequest: mtu}}}
	for _, p := range ports {
		snap.Ports[p] = &vswitch.Port{UUID: ovsdb.UUID("p-" + p), Name: p, Bridge: name, Interfaces: []vswitch.Interface{{UUID: ovsdb.UUID("i-" + p), Name: p}}}
	}
}

// portsOf is what observeBridgePorts reads of bridge in snap: its ports
// with their interfaces.
func portsOf(snap *vswitch.Snapshot, bridge string) []BridgePort {
	var out []BridgePort
	for _, name := range slices.Sorted(maps.Keys(snap.Ports)) {
		p := snap.Ports[name]
		if p.Bridge != bridge {
			continue
		}
		bp := BridgePort{Name: name}
		for _, i := range p.Interfaces {
			bp.Ifaces = append(bp.Ifaces, BridgeIface{Name: i.Name, Type: i.Type})
		}
		out = append(out, bp)
	}
	return out
}

// convergedHost is freshHost after a successful apply of ipConf.
func convergedHost() *Observed {
	o := freshHost()
	eth0 := o.Net.Links["eth0"]
	eth0.Addrs = []netstate.Addr{lladdr}
	eth0.Master = ""
	br0 := &netstate.Link{Name: "br0", Index: 5, Kind: "tuntap", MAC: mac0, MTU: 1400, Up: true,
		Addrs: []netstate.Addr{{Prefix: primary.Prefix, Label: "br0"}, {Prefix: secondary.Prefix, Label: "br0", Flags: unix.IFA_F_SECONDARY}, lladdr}}
	o.Net.Links["br0"] = br0
	o.Net.Links["brvpc"] = &netstate.Link{Name: "brvpc", Index: 6, Kind: "tuntap", MAC: "02:00:00:00:00:99", MTU: 1500}
	o.Net.Routes = []netstate.Route{route("0.0.0.0/0", "192.0.2.1", "br0"), kernelRoute("192.0.2.0/24", "br0")}
	bridgeRows(o.OVS, "br0", "standalone", mac0, 1400, "eth0")
	bridgeRows(o.OVS, "brvpc", "secure", "", 0)
	o.BridgePorts = map[string][]BridgePort{"br0": portsOf(o.OVS, "br0")}
	o.Sysctls = sysctls("0", "eth0")
	o.Sysctls["net/ipv6/conf/br0/accept_dad"] = "0"
	o.Sysctls["net/ipv6/conf/br0/keep_addr_on_down"] = "1"
	return o
}

func steps(ep *EntryPlan) []string {
	if ep.Move == nil {
		return nil
	}
	var out []string
	for _, s := range ep.Move.Steps {
		out = append(out, s.String())
	}
	return out
}

func TestPlanFreshIPEntry(t *testing.T) {
	p := MakePlan(parse(t, ipConf), freshHost())
	if len(p.Problems) != 0 {
		t.Fatalf("problems: %v", p.Problems)
	}
	ep := p.Entries[0]
	if ep.State != StateMissing || ep.Target != "br0" {
		t.Fatalf("state %s target %s, want missing br0", ep.State, ep.Target)
	}
	if len(ep.OVSOps) == 0 || !strings.HasPrefix(ep.OVSChanges[0], "create bridge br0 (datapath_type netdev, fail_mode standalone, mtu 1400)") {
		t.Errorf("OVS changes = %q", ep.OVSChanges)
	}
	want := []string{
		"add address 192.0.2.10/24 to br0",
		"add address 192.0.2.11/24 to br0",
		"remove address 192.0.2.11/24 from eth0",
		"remove address 192.0.2.10/24 from eth0",
		"remove route default via 192.0.2.1 dev eth0",
		"add route default via 192.0.2.1 dev br0",
	}
	if got := steps(ep); !slices.Equal(got, want) {
		t.Errorf("move steps:\n%q\nwant\n%q", got, want)
	}
	if g := ep.Move.Gateways; len(g) != 1 || g[0] != addr("192.0.2.1") {
		t.Errorf("gateways to probe = %v", g)
	}
	if ep.Move.Journal != nil {
		t.Errorf("a new move has no journal yet")
	}
	if len(ep.Sysctls) != 4 {
		t.Errorf("sysctls = %v, want accept_ra and autoconf of eth0, accept_dad and keep_addr_on_down of br0", ep.Sysctls)
	}
	if p.Integration == nil || p.Integration.State != StateMissing {
		t.Errorf("integration bridge plan = %+v", p.Integration)
	}
	if p.Converged() {
		t.Errorf("a fresh host is not converged")
	}
}

func TestPlanConverged(t *testing.T) {
	p := MakePlan(parse(t, ipConf), convergedHost())
	if !p.Converged() {
		t.Fatalf("converged host has work: %+v %q", p.Entries[0], p.Entries[0].Reasons)
	}
	ep := p.Entries[0]
	if ep.State != StateOK || len(ep.Reasons) != 0 || ep.Move != nil || len(ep.OVSOps) != 0 {
		t.Errorf("entry = %+v", ep)
	}
	if got := ep.Addresses; len(got) != 2 || got[0] != primary.Prefix {
		t.Errorf("addresses = %v", got)
	}
	s := StatusOf(p)
	if !s.OK || s.Entries[0].State != StateOK || len(s.Wires) != 0 {
		t.Errorf("status = %+v", s)
	}
}

func TestPlanDrift(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(o *Observed)
		want   []string // substrings of the reasons
	}{
		{"address re-added on the NIC", func(o *Observed) {
			o.Net.Links["eth0"].Addrs = append(o.Net.Links["eth0"].Addrs, primary)
			o.Net.Routes = append(o.Net.Routes, kernelRoute("192.0.2.0/24", "eth0"))
		}, []string{"remove address 192.0.2.10/24 from eth0"}},
		{"NIC taken off the bridge", func(o *Observed) { delete(o.OVS.Ports, "eth0") }, []string{"add port eth0 to br0"}},
		{"bridge MTU changed", func(o *Observed) { o.Net.Links["br0"].MTU = 1300 }, []string{"set br0 mtu 1400 (is 1300)"}},
		{"bridge MAC changed", func(o *Observed) { o.Net.Links["br0"].MAC = "02:00:00:00:00:77" }, []string{"set br0 address " + mac0}},
		{"hwaddr changed in OVS", func(o *Observed) { o.OVS.Bridges["br0"].OtherConfig["hwaddr"] = "02:00:00:00:00:77" }, []string{"other_config:hwaddr=" + mac0}},
		{"bridge down", func(o *Observed) { o.Net.Links["br0"].Up = false }, []string{"bring br0 up"}},
		{"route added on the NIC", func(o *Observed) { o.Net.Routes = append(o.Net.Routes, route("10.8.0.0/16", "", "eth0")) },
			[]string{"remove route 10.8.0.0/16 dev eth0", "add route 10.8.0.0/16 dev br0"}},
		{"autoconf back on", func(o *Observed) { o.Sysctls["net/ipv6/conf/eth0/autoconf"] = "1" }, []string{"set net.ipv6.conf.eth0.autoconf=0 (is 1)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := convergedHost()
			c.mutate(o)
			p := MakePlan(parse(t, ipConf), o)
			ep := p.Entries[0]
			if ep.State != StateDrift {
				t.Fatalf("state = %s, want drift (reasons %q)", ep.State, ep.Reasons)
			}
			all := strings.Join(ep.Reasons, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("reasons lack %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestPlanResumeFromJournal(t *testing.T) {
	// Interrupted after the addresses moved: the kernel flushed eth0's
	// default route with its last address; only the journal has it.
	o := convergedHost()
	o.Net.Routes = []netstate.Route{kernelRoute("192.0.2.0/24", "br0")}
	o.Journals["eth0"] = &Journal{Version: journalVersion, BootID: "boot-1", NIC: "eth0", Target: "br0", Bridge: "br0",
		Addrs: []netstate.Addr{primary, secondary}, Routes: []netstate.Route{defRoute}, Answered: []netip.Addr{addr("192.0.2.1")}}
	p := MakePlan(parse(t, ipConf), o)
	ep := p.Entries[0]
	if ep.State != StateDrift || ep.Move == nil || ep.Move.Journal == nil {
		t.Fatalf("entry = %+v", ep)
	}
	if got := steps(ep); !slices.Equal(got, []string{"add route default via 192.0.2.1 dev br0"}) {
		t.Errorf("steps = %q", got)
	}
	if !strings.Contains(strings.Join(ep.Reasons, "\n"), "finish the move") {
		t.Errorf("reasons = %q", ep.Reasons)
	}

	// All done but the journal: the move is finished (journal removed).
	o = convergedHost()
	o.Journals["eth0"] = &Journal{Version: journalVersion, BootID: "boot-1", NIC: "eth0", Target: "br0", Bridge: "br0", Addrs: []netstate.Addr{primary}}
	ep = MakePlan(parse(t, ipConf), o).Entries[0]
	if ep.State != StateDrift || ep.Move == nil || len(ep.Move.Steps) != 0 {
		t.Errorf("journal of a finished move: %+v", ep)
	}

	// The record of a completed move: nothing to do while the bridge
	// carries what the move gave it...
	o = convergedHost()
	done := &Journal{Version: journalVersion, Done: true, BootID: "boot-1", NIC: "eth0", Target: "br0", Bridge: "br0",
		Addrs: []netstate.Addr{primary, secondary}, Routes: []netstate.Route{defRoute}}
	o.Journals["eth0"] = done
	if p := MakePlan(parse(t, ipConf), o); !p.Converged() {
		t.Errorf("converged host with the record of its move has work: %q", p.Entries[0].Reasons)
	}
	// ...and the default route back when a link flap flushed it.
	o.Net.Routes = []netstate.Route{kernelRoute("192.0.2.0/24", "br0")}
	ep = MakePlan(parse(t, ipConf), o).Entries[0]
	if ep.State != StateDrift || !slices.Equal(steps(ep), []string{"add route default via 192.0.2.1 dev br0"}) {
		t.Errorf("record with a flushed route: state %s, steps %q", ep.State, steps(ep))
	}
	if !strings.Contains(strings.Join(ep.Reasons, "\n"), "put back on br0 what the move of eth0") {
		t.Errorf("reasons = %q", ep.Reasons)
	}

	// A journal of another boot is stale: removed, not replayed.
	o = convergedHost()
	o.Journals["eth0"] = &Journal{Version: journalVersion, BootID: "boot-0", NIC: "eth0", Target: "br0", Routes: []netstate.Route{route("10.1.0.0/16", "192.0.2.1", "eth0")}}
	ep = MakePlan(parse(t, ipConf), o).Entries[0]
	if !ep.StaleJournal || ep.Move != nil {
		t.Errorf("stale journal: %+v", ep)
	}
}

// An address on no device at all (ovs-vswitchd of the userspace datapath
// recreated br0 without it, or a crash during a rollback after the bridge
// went) is excused by a journal of eth0's move to this very target, done or
// not: apply puts back what the journal lists. A journal of a move to
// another device excuses nothing, and the refusal says why without
// suggesting to add the address to eth0, a port of br0 now.
func TestPlanJournalExcusesOnlyItsTarget(t *testing.T) {
	bare := func(j *Journal) *Observed {
		o := convergedHost()
		o.Net.Links["br0"].Addrs = []netstate.Addr{lladdr}
		o.Net.Routes = nil
		o.Journals["eth0"] = j
		return o
	}
	unfinished := doneJournal("br0")
	unfinished.Done = false
	for name, j := range map[string]*Journal{"unfinished": unfinished, "done": doneJournal("br0")} {
		p := MakePlan(parse(t, ipConf), bare(j))
		if len(p.Problems) > 0 {
			t.Errorf("%s journal to br0, address on no device: problems %s", name, problems(p))
			continue
		}
		if got := steps(p.Entries[0]); len(got) == 0 || got[0] != "add address 192.0.2.10/24 to br0" {
			t.Errorf("%s journal to br0, address on no device: steps %q", name, got)
		}
	}
	const want = `networks[0] "eth0/br0/192.0.2.10": 192.0.2.10 is on no device; hostprep's record of the move of eth0 puts it on br0, and host.conf now puts it on br0-v100; ` +
		`hostprep does not move a host's address between a bridge and its VLAN ports: put host_vlans back as it was (apply then puts the address back on br0)`
	for name, j := range map[string]*Journal{"unfinished": unfinished, "done": doneJournal("br0")} {
		p := MakePlan(parse(t, ipConf+"host_vlans: {br0: 100}\n"), bare(j))
		if got := problems(p); len(p.Problems) != 1 || !strings.HasPrefix(got, want) {
			t.Errorf("%s journal to br0, target br0-v100: problems:\n%s\nwant one line starting with:\n%s", name, got, want)
		}
	}
}

func problems(p *Plan) string {
	var s []string
	for _, pr := range p.Problems {
		s = append(s, pr.String())
	}
	return strings.Join(s, "\n")
}

func TestPlanRefusals(t *testing.T) {
	cases := []struct {
		name   string
		conf   string
		mutate func(o *Observed)
		want   string
	}{
		{"missing NIC", ipConf, func(o *Observed) { delete(o.Net.Links, "eth0") },
			`networks[0] "eth0/br0/192.0.2.10": eth0 does not exist; check the NIC's name with "ip link"`},
		{"IP not on the NIC", `
networks:
  - eth0/br0/192.0.2.99
ovs_datapath_type: netdev
`, nil, `networks[0] "eth0/br0/192.0.2.99": 192.0.2.99 is neither on eth0 nor on br0; the IP form moves the NIC's own address: add it to eth0 first (ip addr add 192.0.2.99/PREFIX dev eth0) or write the address eth0 carries (eth0 has 192.0.2.10/24, 192.0.2.11/24)`},
		{"wire NIC with an IP", `
networks:
  - eth0/brpub/wire1
ovs_datapath_type: netdev
`, nil, `networks[0] "eth0/brpub/wire1": eth0 carries 192.0.2.10/24, 192.0.2.11/24; a wire entry's NIC must have no IP (use eth0/brpub/192.0.2.10, or remove the address: ip addr del 192.0.2.10/24 dev eth0)`},
		{"NIC is an OVS bridge", ipConf, func(o *Observed) { bridgeRows(o.OVS, "eth0", "standalone", "", 0) },
			"eth0 is itself an Open vSwitch bridge"},
		{"NIC on another bridge", ipConf, func(o *Observed) { bridgeRows(o.OVS, "brX", "standalone", "", 0, "eth0") },
			"eth0 is a port of Open vSwitch bridge brX, not of br0; take it off (ovs-vsctl del-port brX eth0)"},
		{"NIC in a Linux bridge", ipConf, func(o *Observed) {
			o.Net.Links["lb0"] = &netstate.Link{Name: "lb0", Kind: "bridge"}
			o.Net.Links["eth0"].Master = "lb0"
		}, "eth0 is enslaved to lb0 (bridge); release it (ip link set eth0 nomaster)"},
		{"NIC is a Linux bridge", ipConf, func(o *Observed) { o.Net.Links["eth0"].Kind = "bridge" }, "eth0 is itself a bridge (bridge)"},
		{"bridge name taken by another device", ipConf, func(o *Observed) { o.Net.Links["br0"] = &netstate.Link{Name: "br0", Kind: "veth"} },
			"br0 exists as a veth device that is not an Open vSwitch bridge; delete it (ip link del br0)"},
		{"kernel datapath missing", `
networks:
  - eth0/br0/192.0.2.10
ovs_datapath_type: system
`, nil, `ovs_datapath_type: system: the Open vSwitch kernel datapath is missing (the generic netlink family "ovs_datapath" does not exist); load the module with "modprobe openvswitch", or set ovs_datapath_type: netdev`},
		{"host VLAN port name too long", `
networks:
  - eth0/brpublic01/192.0.2.10
ovs_datapath_type: netdev
host_vlans: {brpublic01: 1000}
`, nil, "host_vlans brpublic01: the host's VLAN 1000 port would be named brpublic01-v1000, 16 bytes, over the kernel's 15-byte limit for interface names; shorten the bridge name to at most 9 bytes"},
		{"integration bridge name taken", ipConf, func(o *Observed) { o.Net.Links["brvpc"] = &netstate.Link{Name: "brvpc", Kind: "bridge"} },
			"ovn_integration_bridge brvpc: brvpc exists as a bridge device that is not an Open vSwitch bridge"},
		{"no Open_vSwitch row", ipConf, func(o *Observed) { o.OVS.Root = vswitch.Root{} }, "run `ovs-vsctl init`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := freshHost()
			if c.mutate != nil {
				c.mutate(o)
			}
			p := MakePlan(parse(t, c.conf), o)
			got := problems(p)
			if !strings.Contains(got, c.want) {
				t.Fatalf("problems:\n%s\nwant a line containing:\n%s", got, c.want)
			}
			for _, line := range strings.Split(got, "\n") {
				if !strings.Contains(line, ": ") {
					t.Errorf("problem line without subject: %q", line)
				}
			}
			if p.Converged() {
				t.Errorf("a refused plan reports converged")
			}
			if s := StatusOf(p); s.OK {
				t.Errorf("status ok despite problems")
			}
		})
	}
}

// After an apply, br0 carries the host's address: an entry that would
// take it off (br0 made a wire bridge, the bridge renamed) is refused.
func TestPlanRefusesToUnmakeTheHostBridge(t *testing.T) {
	for name, c := range map[string]struct{ entry, want string }{
		"IP form turned into a wire entry": {"eth0/br0/wire1",
			`networks[0] "eth0/br0/wire1": br0 carries the host's 192.0.2.10/24, 192.0.2.11/24; a wire entry's bridge must have no host IP: keep the IP form (eth0/br0/192.0.2.10), or move the address off br0 by hand from a console first`},
		"bridge renamed": {"eth0/br1/192.0.2.10",
			`networks[0] "eth0/br1/192.0.2.10": eth0 is a port of Open vSwitch bridge br0, which carries the host's 192.0.2.10/24, 192.0.2.11/24; hostprep does not move a host's IP from one bridge to another`},
	} {
		t.Run(name, func(t *testing.T) {
			o := convergedHost()
			o.Journals["eth0"] = doneJournal("br0") // as apply leaves it: it lists the address
			p := MakePlan(parse(t, "networks: ["+c.entry+"]\novs_datapath_type: netdev\n"), o)
			if got := problems(p); len(p.Problems) != 1 || !strings.Contains(got, c.want) {
				t.Fatalf("problems:\n%s\nwant one line containing:\n%s", got, c.want)
			}
		})
	}
}

// doneJournal is the record apply leaves of the move of convergedHost's
// eth0 to target.
func doneJournal(target string) *Journal {
	return &Journal{Version: journalVersion, Done: true, BootID: "boot-1", NIC: "eth0", Target: target, Bridge: "br0",
		Addrs: []netstate.Addr{primary, secondary}, Routes: []netstate.Route{defRoute}}
}

// convergedVLANHost is freshHost after a successful apply of ipConf with
// host_vlans {br0: 100}: the host's addresses and routes are on br0-v100.
func convergedVLANHost() *Observed {
	o := convergedHost()
	br0 := o.Net.Links["br0"]
	o.Net.Links["br0-v100"] = &netstate.Link{Name: "br0-v100", Index: 8, Kind: "tuntap", MAC: mac0, MTU: 1400, Up: true, Addrs: br0.Addrs}
	br0.Addrs = []netstate.Addr{lladdr}
	o.Net.Routes = []netstate.Route{route("0.0.0.0/0", "192.0.2.1", "br0-v100"), kernelRoute("192.0.2.0/24", "br0-v100")}
	o.OVS.Ports["br0-v100"] = &vswitch.Port{UUID: "p-v100", Name: "br0-v100", Bridge: "br0", Tag: 100,
		Interfaces: []vswitch.Interface{{UUID: "i-v100", Name: "br0-v100", Type: "internal", MAC: mac0, MTURequest: 1400}}}
	o.BridgePorts["br0"] = portsOf(o.OVS, "br0")
	o.Sysctls["net/ipv6/conf/br0-v100/accept_dad"] = "0"
	o.Sysctls["net/ipv6/conf/br0-v100/keep_addr_on_down"] = "1"
	o.Journals["eth0"] = doneJournal("br0-v100")
	return o
}

// The host's address is on br0 or on its VLAN port br0-v100 after an
// apply: host_vlans added, removed or changed later would have the next
// apply put it on the other device while the first keeps it. Refused, one
// line, nothing planned; the record of the completed move (which lists the
// address) excuses nothing.
func TestPlanRefusesToMoveBetweenBridgeAndVLANPort(t *testing.T) {
	const label = `networks[0] "eth0/br0/192.0.2.10": `
	withDone := func(o *Observed) *Observed { o.Journals["eth0"] = doneJournal("br0"); return o }
	for name, c := range map[string]struct {
		conf string
		host *Observed
		want string
	}{
		"host_vlans added to a configured host": {ipConf + "host_vlans: {br0: 100}\n", withDone(convergedHost()),
			label + "192.0.2.10 is on br0, and host_vlans {br0: 100} puts the host's address on br0-v100; " +
				"hostprep does not move a host's address from the bridge to its VLAN port: remove host_vlans for br0, or move the address by hand from a console"},
		"host_vlans removed": {ipConf, convergedVLANHost(),
			label + "192.0.2.10 is on br0-v100, the host's VLAN 100 port of br0, and without host_vlans for br0 the host's address belongs on br0; " +
				"hostprep does not move a host's address from a VLAN port to its bridge: set host_vlans {br0: 100} again, or move the address by hand from a console"},
		"host_vlans VLAN changed": {ipConf + "host_vlans: {br0: 200}\n", convergedVLANHost(),
			label + "192.0.2.10 is on br0-v100, the host's VLAN 100 port of br0, and host_vlans {br0: 200} puts the host's address on br0-v200; " +
				"hostprep does not move a host's address from one VLAN port to another: set host_vlans {br0: 100} again, or move the address by hand from a console"},
	} {
		t.Run(name, func(t *testing.T) {
			p := MakePlan(parse(t, c.conf), c.host)
			if got := problems(p); len(p.Problems) != 1 || got != c.want {
				t.Fatalf("problems:\n%s\nwant exactly:\n%s", got, c.want)
			}
			if ep := p.Entries[0]; ep.State != StateInvalid || len(ep.OVSOps) != 0 || ep.Move != nil {
				t.Errorf("refused entry planned work: state %s, OVS %q, move %v", ep.State, ep.OVSChanges, ep.Move)
			}
			if s := StatusOf(p); s.OK {
				t.Errorf("status ok")
			}
		})
	}

	// The bridge renamed while the address is on its VLAN port: taking eth0
	// off br0 would cut the host off, as when the address is on br0.
	want := `networks[0] "eth0/br1/192.0.2.10": eth0 is a port of Open vSwitch bridge br0, which carries the host's 192.0.2.10/24, 192.0.2.11/24 on br0-v100; ` +
		"hostprep does not move a host's IP from one bridge to another: keep br0 in this entry (renaming it means moving the IP by hand from a console: ovs-vsctl del-port br0 eth0 cuts the host off)"
	if p := MakePlan(parse(t, "networks: [eth0/br1/192.0.2.10]\novs_datapath_type: netdev\n"), convergedVLANHost()); problems(p) != want {
		t.Errorf("bridge renamed, address on br0-v100: problems:\n%s\nwant exactly:\n%s", problems(p), want)
	}

	// What an apply of the host_vlans {br0: 100} case left before this was
	// refused: the address on br0 and on br0-v100, the record retargeted.
	// Back on the original host.conf, the copy on the VLAN port that
	// host.conf no longer asks for is not "ok".
	o := convergedHost()
	o.Net.Links["br0-v100"] = &netstate.Link{Name: "br0-v100", Index: 8, Kind: "tuntap", MAC: mac0, MTU: 1400, Up: true,
		Addrs: []netstate.Addr{{Prefix: primary.Prefix, Label: "br0-v100"}, lladdr}}
	o.Net.Routes = append(o.Net.Routes, kernelRoute("192.0.2.0/24", "br0-v100"))
	o.OVS.Ports["br0-v100"] = &vswitch.Port{UUID: "p-v100", Name: "br0-v100", Bridge: "br0", Tag: 100,
		Interfaces: []vswitch.Interface{{UUID: "i-v100", Name: "br0-v100", Type: "internal", MAC: mac0}}}
	o.BridgePorts["br0"] = portsOf(o.OVS, "br0")
	o.Journals["eth0"] = doneJournal("br0-v100")
	want = label + "192.0.2.10 is on br0 and also on br0-v100, the host's VLAN 100 port of br0, which host.conf does not ask for; " +
		"an address must be on one device: remove it from br0-v100 from a console (ip addr del 192.0.2.10/24 dev br0-v100, or drop the port: ovs-vsctl del-port br0 br0-v100), then apply again"
	p := MakePlan(parse(t, ipConf), o)
	if got := problems(p); len(p.Problems) != 1 || got != want {
		t.Errorf("address left on br0-v100: problems:\n%s\nwant exactly:\n%s", got, want)
	}
	if s := StatusOf(p); s.OK || s.Entries[0].State != StateInvalid {
		t.Errorf("address left on br0-v100: status ok %v, entry %s; want not ok, invalid", s.OK, s.Entries[0].State)
	}
}

// An entry's address that is on another device is never "neither on the
// NIC nor on the bridge: add it to the NIC": that would put the address on
// two devices. The message says whose it is.
func TestPlanAddressOnAnotherDevice(t *testing.T) {
	// Two NICs, each with its address; the entries swap them.
	twoNICs := func() *Observed {
		o := freshHost()
		o.Net.Links["eth1"] = &netstate.Link{Name: "eth1", Index: 3, Kind: "veth", MAC: "02:00:00:00:01:01", MTU: 1500, Up: true,
			Addrs: []netstate.Addr{{Prefix: pfx("198.51.100.10/24"), Label: "eth1"}, lladdr}}
		o.Net.Routes = append(o.Net.Routes, kernelRoute("198.51.100.0/24", "eth1"))
		o.Sysctls = sysctls("1", "eth0", "eth1")
		return o
	}
	conf := "networks: [eth0/br0/198.51.100.10, eth1/br1/192.0.2.10]\novs_datapath_type: netdev\n"
	want := `networks[0] "eth0/br0/198.51.100.10": 198.51.100.10 is on eth1, the NIC of networks[1] "eth1/br1/192.0.2.10"; ` +
		"each address moves from its own NIC: write the address eth0 carries (eth0 has 192.0.2.10/24, 192.0.2.11/24)\n" +
		`networks[1] "eth1/br1/192.0.2.10": 192.0.2.10 is on eth0, the NIC of networks[0] "eth0/br0/198.51.100.10"; ` +
		"each address moves from its own NIC: write the address eth1 carries (eth1 has 198.51.100.10/24)"
	if got := problems(MakePlan(parse(t, conf), twoNICs())); got != want {
		t.Errorf("swapped addresses: problems:\n%s\nwant exactly:\n%s", got, want)
	}

	// The address of another entry's bridge, after both moved: eth0's
	// address is on br0 now, so the fix names br0's.
	o := convergedHost()
	o.Net.Links["eth1"] = &netstate.Link{Name: "eth1", Index: 3, Kind: "veth", MAC: "02:00:00:00:01:01", MTU: 1500, Up: true, Addrs: []netstate.Addr{lladdr}}
	o.Net.Links["br1"] = &netstate.Link{Name: "br1", Index: 9, Kind: "tuntap", MAC: "02:00:00:00:01:01", MTU: 1500, Up: true,
		Addrs: []netstate.Addr{{Prefix: pfx("198.51.100.10/24"), Label: "br1"}, lladdr}}
	o.Net.Routes = append(o.Net.Routes, kernelRoute("198.51.100.0/24", "br1"))
	bridgeRows(o.OVS, "br1", "standalone", "02:00:00:00:01:01", 1500, "eth1")
	o.BridgePorts["br1"] = portsOf(o.OVS, "br1")
	want = `networks[0] "eth0/br0/198.51.100.10": 198.51.100.10 is on br1, the bridge of networks[1] "eth1/br1/192.0.2.10"; ` +
		"each address moves from its own NIC: write the address br0 carries (br0 has 192.0.2.10/24, 192.0.2.11/24)\n" +
		`networks[1] "eth1/br1/192.0.2.10": 192.0.2.10 is on br0, the bridge of networks[0] "eth0/br0/198.51.100.10"; ` +
		"each address moves from its own NIC: write the address br1 carries (br1 has 198.51.100.10/24)"
	if got := problems(MakePlan(parse(t, conf), o)); got != want {
		t.Errorf("swapped addresses after the moves: problems:\n%s\nwant exactly:\n%s", got, want)
	}

	// A device no entry names.
	o = freshHost()
	o.Net.Links["eth2"] = &netstate.Link{Name: "eth2", Index: 4, Kind: "veth", MAC: "02:00:00:00:02:01", MTU: 1500, Up: true,
		Addrs: []netstate.Addr{{Prefix: pfx("198.51.100.10/24"), Label: "eth2"}}}
	want = `networks[0] "eth0/br0/198.51.100.10": 198.51.100.10 is on eth2, not on eth0 or br0; each address moves from its own NIC: ` +
		"name eth2 in the entry if it is the uplink that carries the address (eth2/br0/198.51.100.10), or write the address eth0 carries (eth0 has 192.0.2.10/24, 192.0.2.11/24)"
	if got := problems(MakePlan(parse(t, "networks: [eth0/br0/198.51.100.10]\novs_datapath_type: netdev\n"), o)); got != want {
		t.Errorf("address on eth2: problems:\n%s\nwant exactly:\n%s", got, want)
	}
}

// A bridge that has an uplink gets no second one: an entry that names
// another NIC for it is refused (two uplinks on one standalone bridge loop
// the network), on the host's bridge as on a wire bridge.
func TestPlanRefusesToSwapTheUplink(t *testing.T) {
	eth1 := func(o *Observed) {
		o.Net.Links["eth1"] = &netstate.Link{Name: "eth1", Index: 3, Kind: "veth", MAC: "02:00:00:00:01:01", MTU: 1400, Up: true, Addrs: []netstate.Addr{lladdr}}
	}
	// wireBridge is wireHost with eth1 on brpub, as an apply of
	// eth1/brpub/wire1 leaves it.
	wireBridge := func() *Observed {
		o := wireHost()
		bridgeRows(o.OVS, "brpub", "standalone", "02:00:00:00:01:01", 1500, "eth1")
		o.Net.Links["brpub"] = &netstate.Link{Name: "brpub", Index: 7, Kind: "tuntap", MAC: "02:00:00:00:01:01", MTU: 1500, Up: true,
			Addrs: []netstate.Addr{{Prefix: WireAddrs([]string{"brpub"})["brpub"], Scope: unix.RT_SCOPE_LINK}}}
		o.BridgePorts = map[string][]BridgePort{"brpub": portsOf(o.OVS, "brpub")}
		return o
	}
	for name, c := range map[string]struct {
		conf string
		host func() *Observed
		want string
	}{
		"IP form: another NIC for the host's bridge": {"networks: [eth1/br0/192.0.2.10]\novs_datapath_type: netdev\n",
			func() *Observed { o := convergedHost(); eth1(o); return o },
			`networks[0] "eth1/br0/192.0.2.10": br0 already has uplink eth0, which carries the host's traffic (br0 has 192.0.2.10/24, 192.0.2.11/24); ` +
				`hostprep does not swap a bridge's uplink, and eth1 next to eth0 would make a loop when both reach the same network: keep eth0 in this entry ` +
				`(swapping it means moving cables or ports by hand from a console: ovs-vsctl del-port br0 eth0 cuts the host off)`},
		"IP form with a host VLAN": {"networks: [eth1/br0/192.0.2.10]\novs_datapath_type: netdev\nhost_vlans: {br0: 100}\n",
			func() *Observed {
				o := convergedHost()
				eth1(o)
				br0 := o.Net.Links["br0"]
				o.Net.Links["br0-v100"] = &netstate.Link{Name: "br0-v100", Index: 8, Kind: "tuntap", MAC: mac0, MTU: 1400, Up: true, Addrs: br0.Addrs}
				br0.Addrs = []netstate.Addr{lladdr}
				o.OVS.Ports["br0-v100"] = &vswitch.Port{UUID: "p-v100", Name: "br0-v100", Bridge: "br0", Tag: 100,
					Interfaces: []vswitch.Interface{{UUID: "i-v100", Name: "br0-v100", Type: "internal", MAC: mac0}}}
				o.BridgePorts["br0"] = portsOf(o.OVS, "br0")
				return o
			},
			`br0 already has uplink eth0, which carries the host's traffic (br0-v100 has 192.0.2.10/24, 192.0.2.11/24)`},
		"wire form: another NIC for the wire's bridge": {"networks: [eth2/brpub/wire1]\novs_datapath_type: netdev\n", wireBridge,
			`networks[0] "eth2/brpub/wire1": brpub already has uplink eth1; hostprep does not swap a bridge's uplink, ` +
				`and eth2 next to eth1 would make a loop when both reach the same network: keep eth1 in this entry, ` +
				`or take it off first (ovs-vsctl del-port brpub eth1: brpub carries no host IP, but its VMs are cut off until apply adds eth2)`},
		"wire bridge made the host's bridge with another NIC": {"networks: [eth0/brpub/192.0.2.10]\novs_datapath_type: netdev\n", wireBridge,
			`networks[0] "eth0/brpub/192.0.2.10": brpub already has uplink eth1; hostprep does not swap a bridge's uplink`},
	} {
		t.Run(name, func(t *testing.T) {
			p := MakePlan(parse(t, c.conf), c.host())
			got := problems(p)
			if len(p.Problems) != 1 || !strings.Contains(got, c.want) {
				t.Fatalf("problems:\n%s\nwant one line containing:\n%s", got, c.want)
			}
			if ep := p.Entries[0]; ep.State != StateInvalid || len(ep.OVSOps) != 0 || ep.Move != nil {
				t.Errorf("refused entry planned work: state %s, OVS %q, move %v", ep.State, ep.OVSChanges, ep.Move)
			}
		})
	}

	// What is not another uplink: the bridge is the host's, eth1 is the
	// entry's NIC (not yet on br0) and each case adds one port to br0.
	for name, add := range map[string]func(o *Observed){
		"a VM's tap": func(o *Observed) {
			o.Net.Links["vnet0"] = &netstate.Link{Name: "vnet0", Index: 20, Kind: "tuntap"}
			o.BridgePorts["br0"] = append(o.BridgePorts["br0"], BridgePort{Name: "vnet0", Ifaces: []BridgeIface{{Name: "vnet0"}}})
		},
		"a VM's NIC by attached-mac (another tool's plug)": func(o *Observed) {
			o.Net.Links["vm0"] = &netstate.Link{Name: "vm0", Index: 20, Kind: "veth"}
			o.BridgePorts["br0"] = append(o.BridgePorts["br0"], BridgePort{Name: "vm0", Ifaces: []BridgeIface{{Name: "vm0", AttachedMAC: "52:54:00:00:00:01"}}})
		},
		"an internal port": func(o *Observed) {
			o.Net.Links["mon0"] = &netstate.Link{Name: "mon0", Index: 20, Kind: "tuntap"}
			o.BridgePorts["br0"] = append(o.BridgePorts["br0"], BridgePort{Name: "mon0", Ifaces: []BridgeIface{{Name: "mon0", Type: "internal"}}})
		},
		"an OVN localnet patch port": func(o *Observed) {
			o.BridgePorts["br0"] = append(o.BridgePorts["br0"], BridgePort{Name: "patch-br-int-to-ln", Ifaces: []BridgeIface{{Name: "patch-br-int-to-ln", Type: "patch"}}})
		},
		"the port of a NIC that is gone (renamed)": func(o *Observed) {
			o.BridgePorts["br0"] = append(o.BridgePorts["br0"], BridgePort{Name: "eth9", Ifaces: []BridgeIface{{Name: "eth9"}}})
		},
	} {
		t.Run("not an uplink: "+name, func(t *testing.T) {
			o := convergedHost()
			eth1(o)
			o.BridgePorts["br0"] = slices.DeleteFunc(o.BridgePorts["br0"], func(p BridgePort) bool { return p.Name == "eth0" })
			delete(o.OVS.Ports, "eth0")
			add(o)
			p := MakePlan(parse(t, "networks: [eth1/br0/192.0.2.10]\novs_datapath_type: netdev\n"), o)
			if len(p.Problems) > 0 {
				t.Fatalf("problems: %s", problems(p))
			}
			if !strings.Contains(strings.Join(p.Entries[0].Reasons, "\n"), "add port eth1 to br0") {
				t.Errorf("reasons = %q", p.Entries[0].Reasons)
			}
		})
	}

	// A second uplink the operator put on the bridge by hand next to the
	// entry's NIC is theirs: hostprep adds nothing, so it refuses nothing.
	o := convergedHost()
	eth1(o)
	o.OVS.Ports["eth1"] = &vswitch.Port{UUID: "p-eth1", Name: "eth1", Bridge: "br0", Interfaces: []vswitch.Interface{{UUID: "i-eth1", Name: "eth1"}}}
	o.BridgePorts["br0"] = portsOf(o.OVS, "br0")
	if p := MakePlan(parse(t, ipConf), o); !p.Converged() {
		t.Errorf("eth0 and a hand-added eth1 on br0: not converged: %s %q", problems(p), p.Entries[0].Reasons)
	}

	// linux_bridge: the same refusal, from the bridge's slaves.
	o = freshHost()
	o.OVS = nil
	eth1(o)
	o.Net.Links["eth0"].Master = "br0"
	o.Net.Links["eth0"].Addrs = []netstate.Addr{lladdr}
	o.Net.Links["br0"] = &netstate.Link{Name: "br0", Index: 5, Kind: "bridge", MAC: mac0, MTU: 1400, Up: true, Addrs: []netstate.Addr{{Prefix: primary.Prefix}}}
	o.Net.Links["vnet0"] = &netstate.Link{Name: "vnet0", Index: 20, Kind: "tuntap", Master: "br0"}
	want := `networks[0] "eth1/br0/192.0.2.10": br0 already has uplink eth0, which carries the host's traffic (br0 has 192.0.2.10/24); ` +
		`hostprep does not swap a bridge's uplink, and eth1 next to eth0 would make a loop when both reach the same network: keep eth0 in this entry ` +
		`(swapping it means moving cables or ports by hand from a console: ip link set eth0 nomaster cuts the host off)`
	if p := MakePlan(parse(t, "networks: [eth1/br0/192.0.2.10]\nbridge_driver: linux_bridge\n"), o); problems(p) != want {
		t.Errorf("linux_bridge swap: problems:\n%s\nwant:\n%s", problems(p), want)
	}
}

func TestPlanIPAlreadyOnBridge(t *testing.T) {
	// A re-run after the move: the IP is on br0, eth0 is bare. Not a refusal.
	o := convergedHost()
	delete(o.OVS.Ports, "eth0") // and even with the NIC off the bridge
	p := MakePlan(parse(t, ipConf), o)
	if len(p.Problems) > 0 {
		t.Fatalf("problems: %s", problems(p))
	}
}

const wireConf = `
networks:
  - eth1/brpub/wire1
  - eth2/brstore/wire2
ovs_datapath_type: netdev
`

func wireHost() *Observed {
	o := freshHost()
	o.Net.Links["eth1"] = &netstate.Link{Name: "eth1", Index: 3, Kind: "veth", MAC: "02:00:00:00:01:01", MTU: 1500, Up: true, Addrs: []netstate.Addr{lladdr}}
	o.Net.Links["eth2"] = &netstate.Link{Name: "eth2", Index: 4, Kind: "veth", MAC: "02:00:00:00:02:01", MTU: 9000, Up: false}
	o.Sysctls = sysctls("1", "eth1", "eth2")
	return o
}

func TestPlanWire(t *testing.T) {
	p := MakePlan(parse(t, wireConf), wireHost())
	if len(p.Problems) > 0 {
		t.Fatalf("problems: %s", problems(p))
	}
	a, b := p.Entries[0], p.Entries[1]
	if !a.AddWire || !b.AddWire || a.Wire == b.Wire || !isWireAddr(a.Wire) {
		t.Fatalf("wire addresses %s %s", a.Wire, b.Wire)
	}
	if a.Move != nil {
		t.Errorf("a wire entry moves nothing")
	}
	// NIC and bridge: accept_ra and autoconf; the bridge's are planned
	// before the bridge exists.
	if len(a.Sysctls) != 4 {
		t.Errorf("sysctls = %v", a.Sysctls)
	}
	if !strings.Contains(strings.Join(b.Reasons, "\n"), "bring eth2 up") {
		t.Errorf("a down NIC is brought up: %q", b.Reasons)
	}
	s := StatusOf(p)
	if len(s.Wires) != 2 || s.Wires[0].Wire != "wire1" || s.Wires[0].Bridge != "brpub" || s.Wires[0].State != StateMissing {
		t.Errorf("wires = %+v", s.Wires)
	}

	// A stale wire-style address on the bridge goes, the right one stays.
	o := wireHost()
	bridgeRows(o.OVS, "brpub", "standalone", "02:00:00:00:01:01", 1500, "eth1")
	o.Net.Links["brpub"] = &netstate.Link{Name: "brpub", Kind: "tuntap", MAC: "02:00:00:00:01:01", MTU: 1500, Up: true,
		Addrs: []netstate.Addr{{Prefix: a.Wire}, {Prefix: pfx("169.254.77.77/32")}}}
	ep := MakePlan(parse(t, wireConf), o).Entries[0]
	if ep.AddWire || len(ep.StaleWire) != 1 || ep.StaleWire[0].Prefix != pfx("169.254.77.77/32") {
		t.Errorf("wire plan = add %v stale %v", ep.AddWire, ep.StaleWire)
	}
}

func TestPlanHostVLAN(t *testing.T) {
	conf := ipConf + "host_vlans: {br0: 100}\n"
	p := MakePlan(parse(t, conf), freshHost())
	if len(p.Problems) > 0 {
		t.Fatalf("problems: %s", problems(p))
	}
	ep := p.Entries[0]
	if ep.Target != "br0-v100" || ep.HostVLAN != 100 {
		t.Fatalf("target = %s", ep.Target)
	}
	if !slices.ContainsFunc(ep.OVSChanges, func(s string) bool {
		return s == "add internal port br0-v100 to br0 (VLAN 100, mac "+mac0+", mtu 1400)"
	}) {
		t.Errorf("OVS changes = %q", ep.OVSChanges)
	}
	if got := steps(ep); len(got) == 0 || got[0] != "add address 192.0.2.10/24 to br0-v100" {
		t.Errorf("steps = %q", got)
	}
	var devs []string
	for _, d := range ep.Devices {
		devs = append(devs, d.Dev)
	}
	if !slices.Equal(devs, []string{"br0", "br0-v100", "eth0"}) {
		t.Errorf("devices = %v", devs)
	}
	// Host VLAN port name taken by a foreign device.
	o := freshHost()
	o.Net.Links["br0-v100"] = &netstate.Link{Name: "br0-v100", Kind: "veth"}
	if got := problems(MakePlan(parse(t, conf), o)); !strings.Contains(got, "br0-v100, the name of the host VLAN port, exists as a veth device") {
		t.Errorf("problems = %s", got)
	}
}

func TestPlanOVN(t *testing.T) {
	conf := ipConf + `
ovn_encap_ip: 192.0.2.10
ovn_south_database: tcp:192.0.2.2:6642
`
	p := MakePlan(parse(t, conf), convergedHost())
	all := strings.Join(p.Root.Changes, "\n")
	for _, w := range []string{"ovn-bridge=brvpc", "ovn-remote=tcp:192.0.2.2:6642", "ovn-encap-type=geneve",
		"ovn-encap-ip=192.0.2.10", "ovn-bridge-datapath-type=netdev", "system-id=host1"} {
		if !strings.Contains(all, w) {
			t.Errorf("root changes lack %s:\n%s", w, all)
		}
	}
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "system-id is not set") {
		t.Errorf("warnings = %q", p.Warnings)
	}
	if p.Converged() {
		t.Errorf("missing OVN keys: not converged")
	}
	if s := StatusOf(p); s.OVN == nil || s.OVN.Chassis != "host1" || s.OVN.State != StateDrift || s.OK {
		t.Errorf("status before apply: OK %v, OVN %+v, want chassis host1 (to be set), drift", s.OK, s.OVN)
	}
	o := convergedHost()
	o.OVS.Root.ExternalIDs = map[string]string{"ovn-bridge": "brvpc", "ovn-remote": "tcp:192.0.2.2:6642", "ovn-encap-type": "geneve",
		"ovn-encap-ip": "192.0.2.10", "ovn-bridge-datapath-type": "netdev", "system-id": "chassis-a"}
	if p := MakePlan(parse(t, conf), o); !p.Converged() || len(p.Warnings) != 0 {
		t.Errorf("OVN keys in place: converged %v, warnings %q, changes %q", p.Converged(), p.Warnings, p.Root.Changes)
	} else if s := StatusOf(p); s.OVN == nil || s.OVN.Chassis != "chassis-a" || s.OVN.State != StateOK ||
		s.OVN.Remote != "tcp:192.0.2.2:6642" || s.OVN.EncapIP.String() != "192.0.2.10" {
		t.Errorf("status when converged: OVN %+v", s.OVN)
	}
	// Without OVN keys, the row is not touched and status says nothing of OVN.
	if p := MakePlan(parse(t, ipConf), convergedHost()); len(p.Root.Ops) != 0 || StatusOf(p).OVN != nil {
		t.Errorf("no OVN config but root ops %q, status OVN %+v", p.Root.Changes, StatusOf(p).OVN)
	}
}

func TestPlanNetworkManager(t *testing.T) {
	conf := ipConf + "host_vlans: {br0: 100}\n"
	o := freshHost()
	o.NM = NM{RunDir: "/run/NetworkManager", Present: true, PID: 42}
	p := MakePlan(parse(t, conf), o)
	if !p.NM.Write || !p.NM.Reload || p.NM.Path != "/run/NetworkManager/conf.d/90-hostnet-hostprep.conf" {
		t.Fatalf("NM plan = %+v", p.NM)
	}
	if !strings.Contains(p.NM.Content, "unmanaged-devices+=interface-name:eth0;interface-name:br0;interface-name:br0-v100;interface-name:brvpc\n") {
		t.Errorf("content:\n%s", p.NM.Content)
	}
	o.NM.DropIn = p.NM.Content
	if p := MakePlan(parse(t, conf), o); p.NM.Write {
		t.Errorf("drop-in up to date but rewritten")
	}
	// No NetworkManager on the host: nothing written.
	if p := MakePlan(parse(t, conf), freshHost()); p.NM.Write {
		t.Errorf("NetworkManager absent but drop-in written")
	}
}

func TestNMDropIn(t *testing.T) {
	want := `# Written by hostnet's hostprep at boot; do not edit (it is rewritten on every apply).
# hostprep moved the host's IP configuration from these NICs onto Open vSwitch
# or Linux bridges: NetworkManager must not configure them.
[keyfile]
unmanaged-devices+=interface-name:eth0;interface-name:br0

[device-hostnet-hostprep]
match-device=interface-name:eth0;interface-name:br0
managed=0
`
	if got := NMDropIn([]string{"eth0", "br0"}); got != want {
		t.Errorf("drop-in:\n%s\nwant:\n%s", got, want)
	}
	if NMDropIn(nil) != "" {
		t.Errorf("no devices: want no file")
	}
}

const lbConf = `
networks:
  - eth0/br0/192.0.2.10
bridge_driver: linux_bridge
`

func TestPlanLinuxBridge(t *testing.T) {
	o := freshHost()
	o.OVS = nil // linux_bridge without OVN does not open OVS
	p := MakePlan(parse(t, lbConf), o)
	if len(p.Problems) > 0 {
		t.Fatalf("problems: %s", problems(p))
	}
	ep := p.Entries[0]
	if ep.LB == nil || !ep.LB.Create || !ep.LB.Enslave || ep.State != StateMissing || p.Integration != nil {
		t.Fatalf("plan = %+v", ep)
	}
	if !strings.Contains(strings.Join(ep.Reasons, "\n"), "create Linux bridge br0 (mac "+mac0+", mtu 1400)") {
		t.Errorf("reasons = %q", ep.Reasons)
	}
	// Converged linux bridge.
	o.Net.Links["br0"] = &netstate.Link{Name: "br0", Kind: "bridge", MAC: mac0, MTU: 1400, Up: true, Addrs: []netstate.Addr{{Prefix: primary.Prefix}}}
	o.Net.Links["eth0"].Master = "br0"
	o.Net.Links["eth0"].Addrs = []netstate.Addr{lladdr}
	o.Net.Routes = []netstate.Route{route("0.0.0.0/0", "192.0.2.1", "br0")}
	o.Sysctls = sysctls("0", "eth0")
	o.Sysctls["net/ipv6/conf/br0/accept_dad"] = "0"
	o.Sysctls["net/ipv6/conf/br0/keep_addr_on_down"] = "1"
	if p := MakePlan(parse(t, lbConf), o); !p.Converged() {
		t.Errorf("converged linux bridge has work: %q", p.Entries[0].Reasons)
	}
	// A non-bridge device in the way, and a VLAN NIC.
	o = freshHost()
	o.OVS = nil
	o.Net.Links["br0"] = &netstate.Link{Name: "br0", Kind: "tuntap"}
	o.Net.Links["eth0"].Kind = "vlan"
	got := problems(MakePlan(parse(t, lbConf), o))
	for _, w := range []string{"br0 exists as a tuntap device, not a Linux bridge", "eth0 is a VLAN device; bridge_driver linux_bridge does plain bridging without VLANs"} {
		if !strings.Contains(got, w) {
			t.Errorf("problems lack %q:\n%s", w, got)
		}
	}
}

func TestWireAddrs(t *testing.T) {
	var names []string
	for i := range 2000 {
		names = append(names, "br"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+strconv.Itoa(i))
	}
	a := WireAddrs(names)
	slices.Reverse(names)
	b := WireAddrs(names)
	seen := map[netip.Addr]string{}
	for name, p := range a {
		if b[name] != p {
			t.Fatalf("%s: %s then %s: not a function of the names alone", name, p, b[name])
		}
		ip := p.Addr().As4()
		if p.Bits() != 32 || ip[0] != 169 || ip[1] != 254 || ip[2] == 0 || ip[2] == 255 || ip[3] == 0 || ip[3] == 255 {
			t.Fatalf("%s: %s is outside 169.254.1.1-169.254.254.254", name, p)
		}
		if p.Addr() == metadataAddr {
			t.Fatalf("%s got the metadata address", name)
		}
		if other, dup := seen[p.Addr()]; dup {
			t.Fatalf("%s and %s share %s", name, other, p)
		}
		seen[p.Addr()] = name
	}
	// Stable as the set grows (barring a collision with an earlier name).
	one := WireAddrs([]string{"brpub"})["brpub"]
	if two := WireAddrs([]string{"brpub", "brstore"})["brpub"]; one != two {
		t.Errorf("brpub moved from %s to %s when brstore was added", one, two)
	}
}

// A host.conf without networks and without OVN is legal (the shipped
// example is all comments) but warned about, as is one with only half of
// OVN's settings; with both OVN settings it is a VPC-only host and is not.
func TestPlanNoNetworks(t *testing.T) {
	const want = "lists no networks and OVN is not set up (ovn_encap_ip and ovn_south_database)"
	for _, data := range []string{"ovs_datapath_type: netdev\n", "ovs_datapath_type: netdev\novn_encap_ip: 192.0.2.10\n"} {
		p := MakePlan(parse(t, data), freshHost())
		if len(p.Problems) > 0 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], want) {
			t.Errorf("%q: problems %v, warnings %q, want one warning", data, p.Problems, p.Warnings)
		}
	}
	p := MakePlan(parse(t, "ovs_datapath_type: netdev\novn_encap_ip: 192.0.2.10\novn_south_database: tcp:192.0.2.1:6642\n"), freshHost())
	for _, w := range p.Warnings {
		if strings.Contains(w, "no networks") {
			t.Errorf("VPC-only host warned: %q", w)
		}
	}
}

// A wire that running VM NICs use and host.conf no longer has (renamed)
// is warned about, naming the live taps; dead ports are gc's and not named.
func TestPlanLostWire(t *testing.T) {
	o := wireHost()
	for _, tap := range []string{"vnet1", "vnet0"} {
		o.Net.Links[tap] = &netstate.Link{Name: tap, Kind: "tuntap"}
	}
	o.WireUsers = []WireUser{{Tap: "vnet1", Wire: "wire1", Bridge: "brpub"}, {Tap: "vnet0", Wire: "wire1", Bridge: "brpub"},
		{Tap: "dead0", Wire: "wire1", Bridge: "brpub"}, {Tap: "vnet0", Wire: "wire2", Bridge: "brstore"}}
	renamed := strings.Replace(wireConf, "wire1", "wire7", 1)
	p := MakePlan(parse(t, renamed), o)
	var lost []string
	for _, w := range p.Warnings {
		if strings.Contains(w, "running VM NICs use it") {
			lost = append(lost, w)
		}
	}
	want := "wire wire1 is not in host.conf, but running VM NICs use it (vnet0, vnet1; see hostnet-plug show): they cannot be started again or re-plugged on this host; put the wire back in its entry, or move those VMs first"
	if len(lost) != 1 || lost[0] != want {
		t.Errorf("warnings %q\nwant one: %s", p.Warnings, want)
	}
	if st := StatusOf(p); !slices.Contains(st.Warnings, want) {
		t.Errorf("status warnings %q lack it", st.Warnings)
	}
	if p := MakePlan(parse(t, wireConf), o); slices.ContainsFunc(p.Warnings, func(w string) bool { return strings.Contains(w, "VM NICs use it") }) {
		t.Errorf("warned with the wires in place: %q", p.Warnings)
	}
}

// After the move, an entry naming an address no device has (a typo) is
// refused without the advice to add it to eth0, a port of br0 now.
func TestPlanTypoAfterTheMove(t *testing.T) {
	o := convergedHost()
	o.Journals["eth0"] = doneJournal("br0")
	p := MakePlan(parse(t, "networks: [eth0/br0/192.0.2.99]\novs_datapath_type: netdev\n"), o)
	want := `networks[0] "eth0/br0/192.0.2.99": 192.0.2.99 is neither on eth0 nor on br0, and eth0 is already a port of br0: there is no address of its own to move; write the address br0 carries (br0 has 192.0.2.10/24, 192.0.2.11/24)`
	if got := problems(p); got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// The record of a move to br0 is not put back onto br0-v100 (host_vlans
// added since) when the address is on eth0 again: that is a new move, with
// the gateway check and rollback of any move.
func TestPlanJournalOfAnotherTargetIsANewMove(t *testing.T) {
	o := convergedHost()
	o.Journals["eth0"] = doneJournal("br0")
	o.Net.Links["eth0"].Addrs = []netstate.Addr{primary, secondary, lladdr}
	o.Net.Links["br0"].Addrs = []netstate.Addr{lladdr}
	o.Net.Routes = []netstate.Route{defRoute, kernelRoute("192.0.2.0/24", "eth0")}
	p := MakePlan(parse(t, ipConf+"host_vlans: {br0: 100}\n"), o)
	if len(p.Problems) > 0 {
		t.Fatalf("problems: %s", problems(p))
	}
	mv := p.Entries[0].Move
	if mv == nil || mv.Journal != nil || mv.Move.To != "br0-v100" || !slices.Contains(mv.Gateways, addr("192.0.2.1")) {
		t.Fatalf("move %+v: want a new move to br0-v100 that checks gateway 192.0.2.1", mv)
	}
}

// A wire that running VM NICs were plugged through, now on another bridge
// in host.conf, is warned about: sync would move them to that network.
func TestPlanWireOnAnotherBridge(t *testing.T) {
	o := wireHost()
	o.Net.Links["vnet0"] = &netstate.Link{Name: "vnet0", Kind: "tuntap"}
	o.WireUsers = []WireUser{{Tap: "vnet0", Wire: "wire1", Bridge: "brpub"}}
	swapped := strings.NewReplacer("wire1", "wire2", "wire2", "wire1").Replace(wireConf)
	p := MakePlan(parse(t, swapped), o)
	want := "wire wire1 is on bridge brstore in host.conf, but running VM NICs were plugged through it on another bridge (vnet0; see hostnet-plug show): " +
		"the next hostnet-plug sync (each Open vSwitch restart runs one) moves them to brstore's network; put the wire back on its bridge, or move those VMs first"
	if !slices.Contains(p.Warnings, want) {
		t.Errorf("warnings %q\nwant: %s", p.Warnings, want)
	}
}

// The host's address also on the loopback as a /32 (a VIP, a router ID)
// is no second home for it: the converged host stays converged.
func TestPlanAddressAlsoOnLoopback(t *testing.T) {
	o := convergedHost()
	o.Net.Links["lo"].Addrs = []netstate.Addr{{Prefix: pfx("127.0.0.1/8")}, {Prefix: pfx("192.0.2.10/32")}}
	if p := MakePlan(parse(t, ipConf), o); len(p.Problems) > 0 {
		t.Errorf("problems: %s", problems(p))
	}
}
