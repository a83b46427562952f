package plug_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// plugCLI runs hostnet-plug in the host namespace with the host's config,
// as an operator or orchestrator would.
func (h *host) plugCLI(t *testing.T, args ...string) hookResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := h.ns.Command(ctx, append([]string{harness.Binary(t, "./plug")}, args...)...)
	cmd.Env = append(os.Environ(), "HOSTNET_CONFIG="+h.conf)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := hookResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("run hostnet-plug %v: %v", args, err)
	}
	return r
}

// mustCLI runs hostnet-plug and fails the test unless it exits 0.
func (h *host) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	r := h.plugCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("hostnet-plug %s: exit %d: %s%s", strings.Join(args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// TestCLIAdd: add takes every setting of the metadata; the result is
// checked with ovs-vsctl and ovs-ofctl, and with traffic for the NIC with
// source checks. A second add of the same NIC fixes it in place.
func TestCLIAdd(t *testing.T) {
	h := newHost(t)
	peer := h.ovs.AddPeer(t, "br0", 100, "10.43.0.2/24")
	vm := h.vm(t, "vnet0", "52:54:00:00:43:01", "10.43.0.1/24")
	for i, tap := range []string{"vnet1", "vnet2", "vnet3", "vnet4"} {
		h.vm(t, tap, "52:54:00:00:43:0"+string(rune('2'+i)), "")
	}
	const uuid = "f0000000-0000-4000-8000-000000000043"

	out := h.mustCLI(t, "add", "--tap", "vnet0", "--mac", "52:54:00:00:43:01", "--bridge", "br0", "--vlan", "100",
		"--ip", "10.43.0.1", "--ip", "2001:db8:43::1", "--vm-uuid", uuid, "--vm-name", "web")
	if !strings.HasPrefix(out, "vnet0: created on br0 (access vlan 100, src-check on, ofport ") {
		t.Errorf("add vnet0 said %q", out)
	}
	h.mustCLI(t, "add", "--tap", "vnet1", "--mac", "52:54:00:00:43:02", "--wire", "wire1", "--src-check", "off")
	h.mustCLI(t, "add", "--tap", "vnet2", "--mac", "52:54:00:00:43:03", "--bridge", "br0", "--trunks", "100,200-202")
	h.mustCLI(t, "add", "--tap", "vnet3", "--mac", "52:54:00:00:43:04", "--bridge", "br0", "--vlan", "300", "--trunks", "100")
	h.mustCLI(t, "add", "--tap", "vnet4", "--mac", "52:54:00:00:43:05", "--vpc-port", "lsp-43")

	want := []struct{ tap, bridge, tag, trunks, mode string }{
		{"vnet0", "br0", "100", "[]", "access"},
		{"vnet1", "brpub", "[]", "[]", "[]"},
		{"vnet2", "br0", "[]", "[100, 200, 201, 202]", "trunk"},
		{"vnet3", "br0", "300", "[100, 300]", "native-untagged"},
		{"vnet4", "brvpc", "[]", "[]", "[]"},
	}
	for _, w := range want {
		if got := h.ovs.Vsctl(t, "port-to-br", w.tap); got != w.bridge {
			t.Errorf("%s is on %s, want %s", w.tap, got, w.bridge)
		}
		for col, v := range map[string]string{"tag": w.tag, "trunks": w.trunks, "vlan_mode": w.mode} {
			if got := h.get(t, "port", w.tap, col); got != v {
				t.Errorf("%s %s = %s, want %s", w.tap, col, got, v)
			}
		}
	}
	ids := h.get(t, "interface", "vnet0", "external_ids")
	for _, w := range []string{`hostnet-domain-uuid="` + uuid + `"`, "hostnet-domain=web", `attached-mac="52:54:00:00:43:01"`,
		`hostnet-spec="mac=52:54:00:00:43:01 bridge=br0 vlan=100 src-check=on ip=10.43.0.1,2001:db8:43::1"`} {
		if !strings.Contains(ids, w) {
			t.Errorf("vnet0 external_ids lack %s: %s", w, ids)
		}
	}
	if got := h.get(t, "interface", "vnet4", "external_ids:iface-id"); got != "lsp-43" {
		t.Errorf("vnet4 iface-id = %s, want lsp-43", got)
	}
	// Flows: on for vnet0, mac for the trunk, none for off.
	if got := h.cookies(t, "br0"); got != "0x484e525400004301 0x484e525400004303 0x484e525400004304" {
		t.Errorf("hostnet flows on br0: %q", got)
	}
	if got := h.cookies(t, "brpub"); got != "" {
		t.Errorf("src-check off left flows on brpub: %q", got)
	}
	c := harness.StartCapture(t, peer, "eth0", "")
	expectPing(t, vm, "", "10.43.0.2")
	expectBlocked(t, c,
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.43.0.99", "-dst", "10.43.0.2", "-dst-mac", macOf(t, peer, "eth0"), "-id", "4301")
		}, []string{"10.43.0.99 >"},
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.43.0.1", "-dst", "10.43.0.2", "-dst-mac", macOf(t, peer, "eth0"), "-id", "4302")
		}, []string{"id 4302"})

	// Again, with another VLAN: fixed in place, the old tag gone.
	port := h.get(t, "port", "vnet0", "_uuid")
	out = h.mustCLI(t, "add", "--tap", "vnet0", "--mac", "52:54:00:00:43:01", "--bridge", "br0", "--vlan", "101", "--ip", "10.43.0.1", "--vm-uuid", uuid)
	if !strings.HasPrefix(out, "vnet0: updated on br0 (access vlan 101") {
		t.Errorf("second add said %q", out)
	}
	if got := h.get(t, "port", "vnet0", "_uuid"); got != port {
		t.Errorf("second add replaced the port (%s -> %s)", port, got)
	}
	if got := h.get(t, "port", "vnet0", "tag"); got != "101" {
		t.Errorf("tag after the second add = %s, want 101", got)
	}
	// Without --vm-name the domain's name stays.
	if got := h.get(t, "interface", "vnet0", "external_ids:hostnet-domain"); got != "web" {
		t.Errorf("domain name after an add without --vm-name = %s, want web", got)
	}
	h.expectNormalFlow(t, "br0")
}

// TestCLIShowAndDel: show lists each hostnet port with domain, MAC,
// bridge, VLAN mode and check state, as a table and as JSON; del removes
// what it is told, and only hostnet's ports.
func TestCLIShowAndDel(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:44:01", "")
	h.vm(t, "vnet1", "52:54:00:00:44:02", "")
	h.vm(t, "vnet2", "52:54:00:00:44:03", "")
	h.mustHook(t, "db1", "start", "begin", domainXML("db1", uuidA,
		nic{mac: "52:54:00:00:44:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.44.0.1"}},
		nic{mac: "52:54:00:00:44:02", tap: "vnet1", attrs: `wire="wire1" trunks="5-7"`}))
	h.mustCLI(t, "add", "--tap", "vnet2", "--mac", "52:54:00:00:44:03", "--bridge", "br0", "--src-check", "off", "--vm-uuid", uuidB, "--vm-name", "lb")
	// Drift that show must report: vnet0's flows deleted by hand.
	h.ovs.Ofctl(t, "del-flows", "unix:"+h.ovs.Rundir+"/br0.mgmt", "cookie=0x484e525400004401/-1")

	table := h.mustCLI(t, "show")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "TAP BRIDGE DOMAIN MAC VLAN SRC-CHECK FLOWS STATE" {
		t.Fatalf("show:\n%s", table)
	}
	for i, want := range []string{
		"vnet0 br0 db1 52:54:00:00:44:01 access 100 on 0/",
		"vnet1 brpub db1 52:54:00:00:44:02 trunk 5-7 mac 2/2 ok",
		"vnet2 br0 lb 52:54:00:00:44:03 brtrunk off 0/0 ok",
	} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.HasPrefix(got, want) {
			t.Errorf("show line %d = %q, want it to start with %q", i+1, got, want)
		}
	}
	if !strings.Contains(lines[1], "flows missing (sync repairs it)") {
		t.Errorf("show does not report vnet0's missing flows: %q", lines[1])
	}

	var ports []map[string]any
	if err := json.Unmarshal([]byte(h.mustCLI(t, "show", "--json")), &ports); err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 {
		t.Fatalf("show --json lists %d ports, want 3", len(ports))
	}
	for i, want := range []map[string]any{
		{"tap": "vnet0", "bridge": "br0", "domain": "db1", "domain_uuid": uuidA, "mac": "52:54:00:00:44:01", "vlan_mode": "access", "vlan": 100.0,
			"src_check": "on", "flows": 0.0, "state": "flows missing (sync repairs it)", "target": "bridge br0"},
		{"tap": "vnet1", "bridge": "brpub", "domain": "db1", "mac": "52:54:00:00:44:02", "vlan_mode": "trunk", "trunks": "5-7",
			"src_check": "mac", "flows": 2.0, "flows_expected": 2.0, "state": "ok", "target": "wire wire1"},
		{"tap": "vnet2", "bridge": "br0", "domain": "lb", "domain_uuid": uuidB, "vlan_mode": "brtrunk", "vlan": 1.0, "src_check": "off",
			"flows": 0.0, "flows_expected": 0.0, "state": "ok"},
	} {
		for k, v := range want {
			if ports[i][k] != v {
				t.Errorf("show --json port %d: %s = %v, want %v", i, k, ports[i][k], v)
			}
		}
	}
	if ips, _ := ports[0]["ips"].([]any); len(ips) != 1 || ips[0] != "10.44.0.1" {
		t.Errorf("show --json vnet0 ips = %v", ports[0]["ips"])
	}
	if ofport, _ := ports[0]["ofport"].(float64); ofport < 1 {
		t.Errorf("show --json vnet0 ofport = %v", ports[0]["ofport"])
	}

	// del one tap: its port and flows go, the others stay.
	out := h.mustCLI(t, "del", "--tap", "vnet1")
	if !strings.Contains(out, "vnet1: removed from brpub") {
		t.Errorf("del said %q", out)
	}
	if got := h.get(t, "port", "vnet1", "_uuid"); got != "" {
		t.Errorf("vnet1 still there after del")
	}
	if got := h.flows(t, "brpub", "0x484e525400004402"); len(got) != 0 {
		t.Errorf("vnet1's flows still there after del:\n%s", flowTexts(got))
	}
	// del of ports that are not hostnet's: refused, untouched.
	before := h.portRow(t, "eth0")
	out = h.mustCLI(t, "del", "--tap", "eth0", "--tap", "br0")
	if strings.Count(out, "left alone: not a hostnet VM port") != 2 {
		t.Errorf("del of eth0 and br0 said %q", out)
	}
	if after := h.portRow(t, "eth0"); after != before {
		t.Errorf("del changed the uplink eth0")
	}
	// del --vm-uuid: every port of that domain, no other.
	h.mustCLI(t, "del", "--vm-uuid", uuidA)
	if got := h.ovs.Vsctl(t, "list-ports", "br0"); got != "eth0\nvnet2" {
		t.Errorf("br0 ports after del --vm-uuid %s: %q, want eth0 and vnet2", uuidA, got)
	}
	h.expectNormalFlow(t, "br0")
}

// TestCLIGC: gc removes hostnet ports whose device is gone or was replaced
// by another of the same name, with their flows, and only those: a live
// hostnet port and foreign ports shaped like hostnet's (libvirt's own
// keys, another owner, a Port row not marked as hostnet's) all survive,
// byte for byte.
func TestCLIGC(t *testing.T) {
	h := newHost(t)
	for _, n := range []struct{ tap, mac string }{{"vnet0", "52:54:00:00:45:01"}, {"vnet1", "52:54:00:00:45:02"}, {"vnet2", "52:54:00:00:45:03"}} {
		h.vm(t, n.tap, n.mac, "")
		h.mustCLI(t, "add", "--tap", n.tap, "--mac", n.mac, "--bridge", "br0", "--vlan", "100", "--vm-uuid", uuidA)
	}
	// vnet1's VM dies; vnet2's device is replaced by a new one of the same name.
	h.ns.IP(t, "link", "del", "vnet1")
	h.ns.IP(t, "link", "del", "vnet2")
	h.vm(t, "vnet2", "52:54:00:00:45:09", "")

	// Foreign ports, devices gone, with everything of hostnet's shape but its owner mark.
	h.ovs.Vsctl(t, "add-port", "br0", "vnet5", "tag=100", "--", "set", "interface", "vnet5",
		`external_ids:attached-mac="52:54:00:00:45:05"`, "external_ids:iface-id=x", "external_ids:iface-status=active",
		`external_ids:vm-id="`+uuidA+`"`)
	h.ovs.Vsctl(t, "add-port", "br0", "vnet6", "--", "set", "port", "vnet6", "external_ids:hostnet-owner=someone-else",
		"--", "set", "interface", "vnet6", "external_ids:hostnet-owner=someone-else", `external_ids:hostnet-spec="mac=52:54:00:00:45:06 bridge=br0 vlan=1 src-check=mac"`)
	h.ovs.Vsctl(t, "add-port", "br0", "vnet7", "--", "set", "interface", "vnet7", "external_ids:hostnet-owner=hostnet-vm",
		`external_ids:attached-mac="52:54:00:00:45:07"`)
	foreign := map[string]string{}
	for _, p := range []string{"vnet5", "vnet6", "vnet7", "eth0"} {
		foreign[p] = h.portRow(t, p)
	}
	flows0 := flowTexts(h.flows(t, "br0", "0x484e525400004501"))

	out := h.mustCLI(t, "gc")
	for _, w := range []string{"vnet1: removed from br0 (device gone)", "vnet2: removed from br0 (device replaced)", "vnet7: left alone"} {
		if !strings.Contains(out, w) {
			t.Errorf("gc output lacks %q:\n%s", w, out)
		}
	}
	if got := h.ovs.Vsctl(t, "list-ports", "br0"); got != "eth0\nvnet0\nvnet5\nvnet6\nvnet7" {
		t.Errorf("br0 ports after gc: %q", got)
	}
	for p, before := range foreign {
		if after := h.portRow(t, p); after != before {
			t.Errorf("gc changed %s:\nbefore:\n%s\nafter:\n%s", p, before, after)
		}
	}
	if got := h.cookies(t, "br0"); got != "0x484e525400004501" {
		t.Errorf("flow cookies after gc: %q, want only vnet0's", got)
	}
	if got := flowTexts(h.flows(t, "br0", "0x484e525400004501")); got != flows0 {
		t.Errorf("gc changed vnet0's flows:\nbefore:\n%s\nafter:\n%s", flows0, got)
	}
	h.expectNormalFlow(t, "br0")
	// A second gc finds nothing more to remove.
	if out := h.mustCLI(t, "gc"); strings.Contains(out, "removed") {
		t.Errorf("second gc removed more:\n%s", out)
	}
}

// TestCLISync: sync repairs drift from OVSDB and libvirt's status files
// alone: a tag changed by hand, a port deleted by hand (known only from
// the status file), flows deleted by hand. A port whose device is gone is
// left for gc.
func TestCLISync(t *testing.T) {
	h := newHost(t)
	peer := h.ovs.AddPeer(t, "br0", 100, "10.46.0.2/24")
	vm := h.vm(t, "vnet0", "52:54:00:00:46:01", "10.46.0.1/24")
	h.vm(t, "vnet1", "52:54:00:00:46:02", "")
	h.vm(t, "vnet2", "52:54:00:00:46:03", "")
	h.vm(t, "vnet3", "52:54:00:00:46:04", "")
	xml := domainXML("app", uuidA,
		nic{mac: "52:54:00:00:46:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.46.0.1"}},
		nic{mac: "52:54:00:00:46:02", tap: "vnet1", attrs: `bridge="br0" vlan="200"`})
	h.mustHook(t, "app", "start", "begin", xml)
	h.mustCLI(t, "add", "--tap", "vnet2", "--mac", "52:54:00:00:46:03", "--bridge", "br0", "--vlan", "300")
	h.mustCLI(t, "add", "--tap", "vnet3", "--mac", "52:54:00:00:46:04", "--bridge", "br0", "--vlan", "300")
	// libvirt's status file of the running domain.
	state := t.TempDir()
	writeFile(t, state+"/app.xml", "<domstatus state='running' reason='booted' pid='4242'>\n  <monitor path='/run/libvirt/qemu/domain-3-app/monitor.sock' type='unix'/>\n"+
		strings.TrimSuffix(xml, "\n")+"\n</domstatus>\n")
	writeFile(t, state+"/other.xml", "<domstatus state='running'><domain type='qemu'><name>other</name></domain></domstatus>\n")
	want := map[string]string{}
	for _, c := range []string{"0x484e525400004601", "0x484e525400004602", "0x484e525400004603"} {
		want[c] = flowTexts(h.flows(t, "br0", c))
	}
	port0 := h.get(t, "port", "vnet0", "_uuid")

	h.ovs.Vsctl(t, "set", "port", "vnet0", "tag=999")
	h.ovs.Vsctl(t, "del-port", "vnet1")
	h.ovs.Ofctl(t, "del-flows", "unix:"+h.ovs.Rundir+"/br0.mgmt", "cookie=0x484e525400004603/-1")
	h.ns.IP(t, "link", "del", "vnet3")

	out := h.mustCLI(t, "sync", "--libvirt-state", state)
	for _, w := range []string{"vnet0: updated on br0", "vnet1: created on br0", "vnet2: updated on br0", "vnet3: skipped: device gone"} {
		if !strings.Contains(out, w) {
			t.Errorf("sync output lacks %q:\n%s", w, out)
		}
	}
	if got := h.get(t, "port", "vnet0", "tag"); got != "100" {
		t.Errorf("vnet0 tag after sync = %s, want 100", got)
	}
	if got := h.get(t, "port", "vnet0", "_uuid"); got != port0 {
		t.Errorf("sync replaced the live port vnet0")
	}
	if got := h.get(t, "port", "vnet1", "tag"); got != "200" {
		t.Errorf("vnet1 tag after sync = %q, want 200 (re-created from the status file)", got)
	}
	if got := h.get(t, "interface", "vnet1", "external_ids:hostnet-domain"); got != "app" {
		t.Errorf("vnet1 re-created without its domain: %q", got)
	}
	if got := h.get(t, "port", "vnet3", "_uuid"); got == "" {
		t.Errorf("sync removed vnet3, whose device is gone; that is gc's job")
	}
	// vnet1 is a new port now, with a new OpenFlow port number: its flows
	// must follow it.
	oldPort := regexp.MustCompile(`in_port=\d+`).FindString(want["0x484e525400004602"])
	want["0x484e525400004602"] = strings.ReplaceAll(want["0x484e525400004602"], oldPort, "in_port="+h.get(t, "interface", "vnet1", "ofport"))
	for c, w := range want {
		if got := flowTexts(h.flows(t, "br0", c)); got != w {
			t.Errorf("flows of %s after sync:\n%s\nwant:\n%s", c, got, w)
		}
	}
	c := harness.StartCapture(t, peer, "eth0", "")
	expectPing(t, vm, "", "10.46.0.2")
	expectBlocked(t, c,
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.46.0.99", "-dst", "10.46.0.2", "-dst-mac", macOf(t, peer, "eth0"), "-id", "4601")
		}, []string{"10.46.0.99 >"},
		func() {
			rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.46.0.1", "-dst", "10.46.0.2", "-dst-mac", macOf(t, peer, "eth0"), "-id", "4602")
		}, []string{"id 4602"})
	// Nothing left to repair: a second sync changes nothing in OVSDB.
	records := len(h.dbRecords(t))
	h.mustCLI(t, "sync", "--libvirt-state", state)
	for _, rec := range h.dbRecords(t)[records:] {
		if strings.Contains(rec, "table Port") || (strings.Contains(rec, "table Interface") && strings.Contains(rec, "external_ids")) {
			t.Errorf("a second sync changed ports:\n%s", rec)
		}
	}
}

// TestCLIRuntimeErrors: a well-formed add that this host cannot do fails
// with exit 1 and says what and how to fix it, leaving nothing behind.
func TestCLIRuntimeErrors(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:47:01", "")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--tap", "vnet0", "--bridge", "br9"}, []string{"br9", "not on this host", "hostprep apply"}},
		{[]string{"--tap", "vnet0", "--wire", "wire9"}, []string{"wire9", "not on this host", "host.conf wires: wire1"}},
		{[]string{"--tap", "vnet9", "--bridge", "br0"}, []string{"vnet9", "no such network device"}},
		{[]string{"--tap", "eth0", "--bridge", "br0"}, []string{"eth0", "not a hostnet VM port", "another <target dev>"}},
		{[]string{"--tap", "vnet0", "--bridge", "brvpc"}, []string{"bridge brvpc is the OVN integration bridge", "vpc-port=LOGICAL_PORT"}},
	} {
		args := append([]string{"add", "--mac", "52:54:00:00:47:01"}, tc.args...)
		r := h.plugCLI(t, args...)
		if r.code != 1 {
			t.Errorf("%v: exit %d, want 1; stderr %q", tc.args, r.code, r.stderr)
		}
		if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "hostnet-plug add: ") {
			t.Errorf("%v: want one line starting with hostnet-plug add:, got %q", tc.args, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, r.stderr, w)
			}
		}
	}
	if got := h.ovs.Vsctl(t, "list-ports", "br0"); got != "eth0" {
		t.Errorf("br0 ports after refused adds: %q", got)
	}
	// The same through the real binary: usage errors exit 2 in one line.
	r := h.plugCLI(t, "add", "--tap", "vnet0", "--mac", "52:54:00:00:47:01", "--bridge", "br0", "--vlan", "4095")
	if r.code != 2 || !strings.Contains(r.stderr, `--vlan "4095"`) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("--vlan 4095: exit %d, stderr %q", r.code, r.stderr)
	}
}
