package hostprep_test

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hostnet/hostnet/test/harness"
)

// TestRollbackWhenGatewayLost: br0 exists already (made by an operator)
// with a flow table that drops everything, so once the host's IP is on it
// the gateway no longer answers. apply must notice, put eth0's addresses
// and routes back, take eth0 off br0 (but leave the operator's bridge), fail
// with one clear line, and leave the host reachable.
func TestRollbackWhenGatewayLost(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	gw := ipHost(t, h)
	h.ovs.AddBridge(t, "br0")
	h.ovs.Ofctl(t, "del-flows", "br0")
	h.ovs.Ofctl(t, "add-flow", "br0", "priority=100,actions=drop")
	h.writeConf("networks:\n  - eth0/br0/" + hostIP + "\novs_datapath_type: netdev\n")
	h.settle()
	routes, addrs := h.routes(), h.addrs("eth0")

	r := h.run("apply")
	lines := problemLines(r.stderr)
	want := `networks[0] "eth0/br0/` + hostIP + `": gateway stopped answering: gateway ` + gwIP + ` answered on eth0 before the move but not on br0 after it`
	if r.code != 1 || len(lines) != 1 || !strings.Contains(lines[0], want) || !strings.Contains(lines[0], "rolled back") {
		t.Errorf("apply with a dead bridge: want exit 1 and one line containing\n  %s ... rolled back\ngot %s", want, r)
	}
	if got := h.addrs("eth0"); !slices.Equal(got, addrs) {
		t.Errorf("eth0 addresses after the rollback = %q, want %q", got, addrs)
	}
	if got := h.addrs("br0"); len(got) != 0 {
		t.Errorf("br0 still carries %q", got)
	}
	checkRoutes(t, "routes after the rollback", h.routes(), routes)
	if out, err := h.ovs.VsctlErr("port-to-br", "eth0"); err == nil {
		t.Errorf("eth0 is still a port of %s", out)
	}
	if got := h.vsctl("br-exists", "br0"); got != "" {
		t.Errorf("br-exists br0: %q", got)
	}
	if files := h.stateFiles(); len(files) != 0 {
		t.Errorf("state directory after a rollback: %v, want no journal", files)
	}
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, h.ns, harness.FarIP)
}

var changesRE = regexp.MustCompile(`apply done changes=(\d+)`)

// TestCrashAtEveryStep kills apply (a faultinject build exits at once, with
// no cleanup) right after each change a fresh apply makes, then runs the
// normal build: it must converge to exactly the state of an uninterrupted
// apply, and the host must answer its gateway.
func TestCrashAtEveryStep(t *testing.T) {
	t.Parallel()
	crashing := harness.BinaryWithTags(t, "./hostprep", "faultinject")
	const conf = "networks:\n  - eth0/br0/" + hostIP + "\n  - eth1/brpub/wire1\novs_datapath_type: netdev\n"
	setup := func(t *testing.T) (*host, *harness.Gateway) {
		h := newHost(t)
		gw := ipHost(t, h)
		peer := harness.NewNetns(t, "peer")
		harness.Veth(t, h.ns, "eth1", peer, "eth0")
		h.writeConf(conf)
		return h, gw
	}

	// The reference: one uninterrupted apply.
	ref, _ := setup(t)
	before := ref.routes()
	r := ref.apply()
	m := changesRE.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("apply did not report its number of changes:\n%s", r)
	}
	changes, _ := strconv.Atoi(m[1])
	if changes < 10 {
		t.Fatalf("a fresh apply made %d changes; the test expects the whole move (bridge, devices, addresses, routes, journal)", changes)
	}
	wantRoutes, wantAddrs, wantWire := ref.routes(), ref.addrs("br0"), ref.wireAddr("brpub")
	checkRoutes(t, "reference routes", wantRoutes, moved(before, "br0"))
	t.Logf("a fresh apply makes %d changes; crashing after each of them", changes)

	for n := 1; n <= changes; n++ {
		t.Run("after change "+strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			h, gw := setup(t)
			r := h.runBin(crashing, []string{"HOSTNET_CRASH_AFTER=" + strconv.Itoa(n)}, "apply")
			if r.code != 86 || !strings.Contains(r.stderr, "injected crash after change "+strconv.Itoa(n)) {
				t.Fatalf("the faultinject build did not crash after change %d:\n%s", n, r)
			}
			h.apply()
			checkRoutes(t, "routes after the crash and a second apply", h.routes(), wantRoutes)
			if got := h.addrs("br0"); !slices.Equal(got, wantAddrs) {
				t.Errorf("br0 addresses = %q, want %q", got, wantAddrs)
			}
			if got := h.addrs("eth0"); len(got) != 0 {
				t.Errorf("eth0 still carries %q", got)
			}
			if got := h.wireAddr("brpub"); got != wantWire {
				t.Errorf("brpub wire address %s, want %s", got, wantWire)
			}
			for nic, br := range map[string]string{"eth0": "br0", "eth1": "brpub"} {
				if got := h.vsctl("port-to-br", nic); got != br {
					t.Errorf("%s is a port of %q, want %s", nic, got, br)
				}
			}
			harness.ExpectReach(t, gw.NS, hostIP)
			harness.ExpectReach(t, h.ns, harness.FarIP)
			h.expectNoChange("apply after the recovery")
		})
	}
}

// TestOVNSettings: the integration bridge exists after every apply; with
// the OVN keys set, the Open_vSwitch table carries what ovn-controller
// reads, and an operator's own keys survive.
func TestOVNSettings(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	peer := harness.NewNetns(t, "peer")
	harness.Veth(t, h.ns, "eth1", peer, "eth0")
	h.vsctl("set", "Open_vSwitch", ".", "external_ids:system-id=chassis-7", "external_ids:operator-key=kept")

	h.writeConf("networks: [eth1/brpub/wire1]\novs_datapath_type: netdev\n")
	h.apply()
	if got := h.vsctl("get", "bridge", "brvpc", "fail_mode"); got != "secure" {
		t.Errorf("brvpc fail_mode = %q, want secure (OVN programs it)", got)
	}
	if got := h.vsctl("get", "bridge", "brvpc", "datapath_type"); got != "netdev" {
		t.Errorf("brvpc datapath_type = %q", got)
	}
	if out := h.vsctl("get", "Open_vSwitch", ".", "external_ids"); strings.Contains(out, "ovn-remote") {
		t.Errorf("OVN keys written without OVN settings: %s", out)
	}

	h.writeConf("networks: [eth1/brpub/wire1]\novs_datapath_type: netdev\novn_integration_bridge: brovn\n" +
		"ovn_encap_ip: 10.0.0.5\novn_south_database: tcp:10.0.0.2:6642,tcp:10.0.0.3:6642\n")
	h.apply()
	for key, want := range map[string]string{
		"ovn-bridge":               "brovn",
		"ovn-remote":               "tcp:10.0.0.2:6642,tcp:10.0.0.3:6642",
		"ovn-encap-type":           "geneve",
		"ovn-encap-ip":             "10.0.0.5",
		"ovn-bridge-datapath-type": "netdev",
		"system-id":                "chassis-7",
		"operator-key":             "kept",
	} {
		if got := strings.Trim(h.vsctl("get", "Open_vSwitch", ".", "external_ids:"+key), `"`); got != want {
			t.Errorf("Open_vSwitch external_ids:%s = %q, want %q", key, got, want)
		}
	}
	if got := h.vsctl("br-exists", "brovn"); got != "" {
		t.Errorf("br-exists brovn: %q", got)
	}
	h.expectNoChange("apply with OVN settings, converged")
	// status names the chassis: what a migration's requested-chassis takes.
	code, s := h.status()
	ovn, _ := s["ovn"].(map[string]any)
	if code != 0 || ovn["chassis"] != "chassis-7" || ovn["encap_ip"] != "10.0.0.5" || ovn["state"] != "ok" {
		t.Errorf("status --json: exit %d, ovn %v; want chassis-7, 10.0.0.5, ok", code, ovn)
	}
	if r := h.run("status"); !strings.Contains(r.stdout, "ovn chassis chassis-7: remote tcp:10.0.0.2:6642,tcp:10.0.0.3:6642, encap ip 10.0.0.5  [ok]") {
		t.Errorf("status does not name the chassis:\n%s", r)
	}
}

// TestHostVLAN: with host_vlans {br0: 100} the host's address lives on a
// VLAN-100 internal port of br0, and its frames leave eth0 tagged. eth0 is
// a trunk port of the switch (all VLANs tagged, untagged frames on native
// VLAN 0). Before apply the host, untagged, reaches a peer of the untagged
// network only; after it, it reaches the gateway and a peer on VLAN 100,
// and neither the untagged peer nor a peer with an address of the same
// subnet on VLAN 200.
func TestHostVLAN(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	sw := harness.NewSwitch(t)
	sw.TrunkTo(t, h.ns, "eth0")
	gw := sw.AddGateway(t, 100, gwIP+"/24")
	h.ns.AddAddr(t, "eth0", hostIP+"/24")
	h.ns.IP(t, "route", "add", "default", "via", gwIP, "dev", "eth0")
	untagged := sw.AddPeer(t, 0, "192.168.222.40/24")
	peer100 := sw.AddPeer(t, 100, "192.168.222.50/24")
	peer200 := sw.AddPeer(t, 200, "192.168.222.60/24")
	harness.ExpectReach(t, untagged, hostIP)

	h.writeConf("networks: [eth0/br0/" + hostIP + "]\novs_datapath_type: netdev\nhost_vlans: {br0: 100}\n")
	h.apply()
	if got := h.addrs("br0-v100"); !slices.Equal(got, []string{hostIP + "/24"}) {
		t.Errorf("br0-v100 addresses = %q", got)
	}
	if got := h.addrs("br0"); len(got) != 0 {
		t.Errorf("br0 carries %q; the host's address belongs on br0-v100", got)
	}
	if got := h.vsctl("get", "port", "br0-v100", "tag"); got != "100" {
		t.Errorf("br0-v100 tag = %s", got)
	}
	if got := h.vsctl("get", "interface", "br0-v100", "type"); got != "internal" {
		t.Errorf("br0-v100 type = %s", got)
	}
	if got := h.vsctl("get", "port", "eth0", "tag"); got != "[]" {
		t.Errorf("uplink eth0 tag = %s, want none (a trunk)", got)
	}
	if got := h.mustLink("br0-v100").Address; got != h.mustLink("eth0").Address {
		t.Errorf("br0-v100 MAC %s, want eth0's %s", got, h.mustLink("eth0").Address)
	}
	harness.ExpectReach(t, peer100, hostIP)
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, h.ns, harness.FarIP)
	harness.ExpectNoReach(t, peer200, hostIP)
	harness.ExpectNoReach(t, untagged, hostIP)
	h.expectNoChange("apply with a host VLAN, converged")

	// host_vlans removed or changed once the address is on br0-v100: the
	// next apply would put it on br0 (or br0-v200) while br0-v100 keeps it.
	// Refused by check and apply, one line, nothing changed (the record of
	// the move, which lists the address, excuses nothing), and the host
	// still reaches its gateway.
	const label = `networks[0] "eth0/br0/` + hostIP + `": `
	refused := func(what, conf, want string) {
		t.Helper()
		h.settle()
		netBefore, ovsBefore, recBefore := h.netState(), h.ovsState(), h.readState("hostprep-move-eth0.json")
		h.writeConf(conf)
		for _, cmd := range []string{"check", "apply"} {
			if r := h.run(cmd); r.code != 1 || !slices.Equal(problemLines(r.stderr), []string{label + want}) {
				t.Errorf("%s: %s: want exit 1 and the one line\n  %s\ngot %s", what, cmd, label+want, r)
			}
		}
		if code, s := h.status(); code != 1 || s["ok"] != false || entryState(s, 0) != "invalid" {
			t.Errorf("%s: status: exit %d, ok %v, entry %q; want 1, false, invalid", what, code, s["ok"], entryState(s, 0))
		}
		equalOrDiff(t, what+": netlink state", netBefore, h.netState())
		equalOrDiff(t, what+": OVS database", ovsBefore, h.ovsState())
		equalOrDiff(t, what+": the record of the move", recBefore, h.readState("hostprep-move-eth0.json"))
	}
	const plain = "networks: [eth0/br0/" + hostIP + "]\novs_datapath_type: netdev\n"
	refused("host_vlans removed", plain,
		hostIP+" is on br0-v100, the host's VLAN 100 port of br0, and without host_vlans for br0 the host's address belongs on br0; "+
			"hostprep does not move a host's address from a VLAN port to its bridge: set host_vlans {br0: 100} again, or move the address by hand from a console")
	refused("host_vlans changed", plain+"host_vlans: {br0: 200}\n",
		hostIP+" is on br0-v100, the host's VLAN 100 port of br0, and host_vlans {br0: 200} puts the host's address on br0-v200; "+
			"hostprep does not move a host's address from one VLAN port to another: set host_vlans {br0: 100} again, or move the address by hand from a console")
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, h.ns, harness.FarIP)

	// The address on both br0 and br0-v100, as an apply that did not refuse
	// host_vlans added to a configured host left it: not ok, whichever of
	// the two host.conf asks for.
	h.ns.IP(t, "addr", "add", hostIP+"/24", "dev", "br0")
	refused("the address also on br0, host_vlans {br0: 100}", plain+"host_vlans: {br0: 100}\n",
		hostIP+" is on br0, and host_vlans {br0: 100} puts the host's address on br0-v100; "+
			"hostprep does not move a host's address from the bridge to its VLAN port: remove host_vlans for br0, or move the address by hand from a console")
	refused("the address also on br0-v100, no host_vlans", plain,
		hostIP+" is on br0 and also on br0-v100, the host's VLAN 100 port of br0, which host.conf does not ask for; "+
			"an address must be on one device: remove it from br0-v100 from a console (ip addr del "+hostIP+"/24 dev br0-v100, or drop the port: ovs-vsctl del-port br0 br0-v100), then apply again")
	h.ns.IP(t, "addr", "del", hostIP+"/24", "dev", "br0")
	h.writeConf(plain + "host_vlans: {br0: 100}\n")
	h.expectNoChange("host_vlans as it was, the copy on br0 removed")
	harness.ExpectReach(t, gw.NS, hostIP)
	harness.ExpectReach(t, h.ns, harness.FarIP)
}

// TestConcurrentApplies: two applies started at once on a fresh host (as
// when an operator runs apply while systemd's runs) take turns on the state
// directory's lock: both exit 0, the host converges once and answers its
// gateway, and a third apply changes nothing.
func TestConcurrentApplies(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	gw := ipHost(t, h)
	h.writeConf("networks:\n  - eth0/br0/" + hostIP + "\novs_datapath_type: netdev\n")

	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.run("apply")
		}()
	}
	wg.Wait()
	changed := 0
	for i, r := range results {
		if r.code != 0 {
			t.Errorf("concurrent apply %d failed:\n%s", i, r)
		}
		if !strings.Contains(r.stderr, "no changes") {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d of the two concurrent applies changed the host, want exactly 1 (the other waits, then finds it converged):\n%s\n%s", changed, results[0], results[1])
	}
	if r := h.apply(); !strings.Contains(r.stderr, "no changes") {
		t.Errorf("third apply did not say \"no changes\":\n%s", r)
	}
	harness.ExpectReach(t, gw.NS, hostIP)
}
