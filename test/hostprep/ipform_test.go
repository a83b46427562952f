package hostprep_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

const (
	hostIP  = "192.168.222.10"
	hostIP2 = "192.168.222.11"
	gwIP    = "192.168.222.1"
	hostIP6 = "2001:db8:1::10"
	gwIP6   = "2001:db8:1::1"
	nicMTU  = "1400"
)

// ipHost is a host whose eth0 carries the classic configuration of a
// server: a primary and a secondary address, a default route, static
// routes with a metric and a source, a route in another table, a
// link-scope route, an on-link gateway and a multipath route. eth0 has a
// non-default MTU.
func ipHost(t *testing.T, h *host) *harness.Gateway {
	t.Helper()
	gw := harness.NewGateway(t, h.ns, "eth0", hostIP+"/24", gwIP+"/24")
	h.ns.IP(t, "link", "set", "eth0", "mtu", nicMTU)
	gw.NS.IP(t, "link", "set", "eth0", "mtu", nicMTU)
	h.ns.IP(t, "addr", "add", hostIP2+"/24", "dev", "eth0")
	h.ns.IP(t, "route", "add", "10.20.0.0/16", "via", gwIP, "metric", "50", "src", hostIP2)
	h.ns.IP(t, "route", "add", "default", "via", gwIP, "dev", "eth0", "table", "100", "metric", "7")
	h.ns.IP(t, "route", "add", "10.30.0.0/24", "dev", "eth0", "scope", "link", "proto", "static")
	h.ns.IP(t, "route", "add", "10.40.0.0/16", "via", "172.16.0.1", "dev", "eth0", "onlink", "table", "200")
	h.ns.IP(t, "route", "add", "10.50.0.0/16", "proto", "static", "nexthop", "via", gwIP, "dev", "eth0", "weight", "1",
		"nexthop", "via", "192.168.222.2", "dev", "eth0", "weight", "3")
	return gw
}

// moved is routes as they should be once eth0's configuration is on dev.
func moved(routes []string, dev string) []string {
	out := make([]string, len(routes))
	for i, r := range routes {
		out[i] = strings.ReplaceAll(r, `"eth0"`, `"`+dev+`"`)
	}
	slices.Sort(out)
	return out
}

func checkRoutes(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("%s:\n got:\n  %s\n want:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
}

func TestIPForm(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	gw := ipHost(t, h)
	h.writeConf("networks:\n  - eth0/br0/" + hostIP + "\novs_datapath_type: netdev\n")
	nicMAC := h.mustLink("eth0").Address
	before := h.routes()
	if len(before) != 6 {
		t.Fatalf("fixture: want 6 routes through eth0, have:\n%s", strings.Join(before, "\n"))
	}

	ping := startPinger(t, gw.NS, hostIP)
	r := h.apply()
	time.Sleep(300 * time.Millisecond)
	gap := ping.stop()
	t.Logf("fresh apply (bridge created, IP moved): %v; gateway pinging the host meanwhile: %v", r.duration.Round(time.Millisecond), gap)
	if gap.gap >= time.Second {
		t.Errorf("connectivity gap during the move: %v, want < 1 s", gap)
	}

	if got := h.addrs("br0"); !slices.Equal(got, []string{hostIP + "/24", hostIP2 + "/24 secondary"}) {
		t.Errorf("br0 addresses = %q", got)
	}
	if got := h.addrs("eth0"); len(got) != 0 {
		t.Errorf("eth0 still carries %q", got)
	}
	checkRoutes(t, "routes after the move", h.routes(), moved(before, "br0"))
	if got := h.vsctl("port-to-br", "eth0"); got != "br0" {
		t.Errorf("eth0 is a port of %q, want br0", got)
	}
	br := h.mustLink("br0")
	if br.Address != nicMAC || br.MTU != 1400 || !slices.Contains(br.Flags, "UP") {
		t.Errorf("br0: address %s mtu %d flags %v, want eth0's %s, 1400, UP", br.Address, br.MTU, br.Flags, nicMAC)
	}
	if got := h.vsctl("get", "bridge", "br0", "fail_mode", "datapath_type", "other_config:hwaddr", "external_ids:hostnet-hostprep"); got != "standalone\nnetdev\n\""+nicMAC+"\"\nuplink-bridge" {
		t.Errorf("br0 columns:\n%s", got)
	}
	if got := h.vsctl("get", "interface", "br0", "mtu_request"); got != "1400" {
		t.Errorf("br0 mtu_request = %s", got)
	}
	if got := h.ns.Exec(t, "sysctl", "-n", "net.ipv6.conf.eth0.accept_ra", "net.ipv6.conf.eth0.autoconf"); got != "0\n0\n" {
		t.Errorf("eth0 IPv6 autoconf sysctls = %q, want 0 0", got)
	}
	if files := h.stateFiles(); !slices.Equal(files, []string{"hostprep-move-eth0.json"}) {
		t.Errorf("state directory after a completed move: %v, want the move's record only", files)
	} else if rec := h.readState(files[0]); !strings.Contains(rec, `"done": true`) {
		t.Errorf("the record of a completed move is not marked done:\n%s", rec)
	}
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, gw.NS, hostIP2)
	harness.ExpectReach(t, h.ns, harness.FarIP)

	// The second apply on the converged host: nothing to do, measured.
	r = h.apply()
	if !strings.Contains(r.stderr, "no changes") {
		t.Errorf("second apply did not say \"no changes\":\n%s", r)
	}
	t.Logf("converged apply: %v", r.duration.Round(time.Millisecond))

	// Entries that would take the host's address off br0 are refused, one
	// line each, and change nothing: br0 made a wire bridge, br0 renamed,
	// another NIC (eth1, a second NIC of the host) named for br0, which
	// would sit next to eth0 (a loop), take br0's MAC and bounce its link,
	// and host_vlans added for br0, which would put the address on br0-v100
	// while br0 keeps it (with the record of the move, which lists it, in
	// the state directory).
	peer := harness.NewNetns(t, "peer")
	harness.Veth(t, h.ns, "eth1", peer, "eth0")
	h.settle()
	netBefore, ovsBefore, recBefore := h.netState(), h.ovsState(), h.readState("hostprep-move-eth0.json")
	for _, c := range []struct{ entry, extra, want string }{
		{"eth0/br0/wire1", "", `networks[0] "eth0/br0/wire1": br0 carries the host's ` + hostIP + "/24, " + hostIP2 + "/24; a wire entry's bridge must have no host IP: keep the IP form (eth0/br0/" + hostIP + ")"},
		{"eth0/br1/" + hostIP, "", `networks[0] "eth0/br1/` + hostIP + `": eth0 is a port of Open vSwitch bridge br0, which carries the host's ` + hostIP + "/24, " + hostIP2 + "/24; hostprep does not move a host's IP from one bridge to another"},
		{"eth1/br0/" + hostIP, "", `networks[0] "eth1/br0/` + hostIP + `": br0 already has uplink eth0, which carries the host's traffic (br0 has ` + hostIP + "/24, " + hostIP2 + "/24); hostprep does not swap a bridge's uplink, " +
			"and eth1 next to eth0 would make a loop when both reach the same network: keep eth0 in this entry"},
		{"eth0/br0/" + hostIP, "host_vlans: {br0: 100}\n", `networks[0] "eth0/br0/` + hostIP + `": ` + hostIP + " is on br0, and host_vlans {br0: 100} puts the host's address on br0-v100; " +
			"hostprep does not move a host's address from the bridge to its VLAN port: remove host_vlans for br0, or move the address by hand from a console"},
	} {
		h.writeConf("networks:\n  - " + c.entry + "\novs_datapath_type: netdev\n" + c.extra)
		for _, cmd := range []string{"check", "apply", "status"} {
			r := h.run(cmd)
			if cmd == "status" {
				if r.code != 1 || !strings.Contains(r.stdout, "invalid") {
					t.Errorf("status %s %s: want exit 1 and the entry invalid, got %s", c.entry, c.extra, r)
				}
				continue
			}
			if lines := problemLines(r.stderr); r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
				t.Errorf("%s %s %s: want exit 1 and one line containing\n  %s\ngot %s", cmd, c.entry, c.extra, c.want, r)
			}
		}
	}
	equalOrDiff(t, "netlink state", netBefore, h.netState())
	equalOrDiff(t, "OVS database", ovsBefore, h.ovsState())
	equalOrDiff(t, "the record of the move", recBefore, h.readState("hostprep-move-eth0.json"))
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, h.ns, harness.FarIP)
}

func TestDualStack(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	gw := harness.NewGateway(t, h.ns, "eth0", hostIP+"/24", gwIP+"/24")
	gw.NS.AddAddr(t, "eth0", gwIP6+"/64")
	h.ns.AddAddr(t, "eth0", hostIP6+"/64")
	h.ns.AddAddr(t, "eth0", "2001:db8:1::11/64")
	h.ns.IP(t, "-6", "route", "add", "default", "via", gwIP6, "dev", "eth0", "metric", "100")
	// A route through the gateway's link-local address, the usual IPv6 way.
	var gwLinks []ipLink
	if err := json.Unmarshal([]byte(gw.NS.Exec(t, "ip", "-j", "addr", "show", "dev", "eth0")), &gwLinks); err != nil {
		t.Fatal(err)
	}
	var gwLL string
	for _, a := range gwLinks[0].AddrInfo {
		if a.Family == "inet6" && a.Scope == "link" {
			gwLL = a.Local
		}
	}
	if gwLL == "" {
		t.Fatalf("gateway has no IPv6 link-local address")
	}
	h.ns.IP(t, "-6", "route", "add", "2001:db8:ff::/48", "via", gwLL, "dev", "eth0", "metric", "10", "table", "100")
	h.writeConf("networks:\n  - eth0/br0/" + hostIP + "/" + hostIP6 + "\novs_datapath_type: netdev\n")
	before := h.routes()
	h.apply()

	if got := h.addrs("br0"); !slices.Equal(got, []string{hostIP + "/24", hostIP6 + "/64", "2001:db8:1::11/64"}) {
		t.Errorf("br0 addresses = %q", got)
	}
	if got := h.addrs("eth0"); len(got) != 0 {
		t.Errorf("eth0 still carries %q", got)
	}
	checkRoutes(t, "routes after the move", h.routes(), moved(before, "br0"))
	if out := h.ns.Exec(t, "ip", "-6", "addr", "show", "dev", "br0"); strings.Contains(out, "tentative") || strings.Contains(out, "dadfailed") {
		t.Errorf("moved IPv6 addresses went through duplicate address detection:\n%s", out)
	}
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, gw.NS, hostIP6)
	harness.ExpectReach(t, h.ns, harness.FarIP)
	harness.ExpectReach(t, h.ns, harness.FarIP6)
	if r := h.apply(); !strings.Contains(r.stderr, "no changes") {
		t.Errorf("second apply:\n%s", r)
	}
}

func TestIPv6Only(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	gw := harness.NewGateway(t, h.ns, "eth0", hostIP6+"/64", gwIP6+"/64")
	h.writeConf("networks:\n  - eth0/br0/" + hostIP6 + "\novs_datapath_type: netdev\n")
	before := h.routes()
	h.apply()
	if got := h.addrs("br0"); !slices.Equal(got, []string{hostIP6 + "/64"}) {
		t.Errorf("br0 addresses = %q", got)
	}
	checkRoutes(t, "routes after the move", h.routes(), moved(before, "br0"))
	harness.ExpectReach(t, gw.NS, hostIP6)
	harness.ExpectReach(t, h.ns, harness.FarIP6)
}

func TestLinuxBridge(t *testing.T) {
	t.Parallel()
	h := newHostNoOVS(t)
	gw := ipHost(t, h)
	h.writeConf("networks:\n  - eth0/br0/" + hostIP + "\nbridge_driver: linux_bridge\n")
	nicMAC := h.mustLink("eth0").Address
	before := h.routes()

	ping := startPinger(t, gw.NS, hostIP)
	r := h.apply()
	time.Sleep(300 * time.Millisecond)
	gap := ping.stop()
	t.Logf("linux_bridge fresh apply: %v; gateway pinging the host meanwhile: %v", r.duration.Round(time.Millisecond), gap)
	if gap.gap >= time.Second {
		t.Errorf("connectivity gap during the move: %v, want < 1 s", gap)
	}

	br := h.mustLink("br0")
	if br.LinkInfo == nil || br.LinkInfo.Kind != "bridge" {
		t.Fatalf("br0 is not a Linux bridge: %+v", br.LinkInfo)
	}
	if br.Address != nicMAC || br.MTU != 1400 {
		t.Errorf("br0 address %s mtu %d, want %s 1400", br.Address, br.MTU, nicMAC)
	}
	if eth0 := h.mustLink("eth0"); eth0.Master != "br0" {
		t.Errorf("eth0 master = %q, want br0", eth0.Master)
	}
	if got := h.addrs("br0"); !slices.Equal(got, []string{hostIP + "/24", hostIP2 + "/24 secondary"}) {
		t.Errorf("br0 addresses = %q", got)
	}
	checkRoutes(t, "routes after the move", h.routes(), moved(before, "br0"))
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, h.ns, harness.FarIP)

	stop := h.monitor()
	r = h.apply()
	if events := stop(); events != "" {
		t.Errorf("second apply changed netlink state:\n%s", events)
	}
	if !strings.Contains(r.stderr, "no changes") {
		t.Errorf("second apply:\n%s", r)
	}
}
