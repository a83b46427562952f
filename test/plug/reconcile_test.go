package plug_test

import (
	"bufio"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

const reconcileUnit = "packaging/systemd/hostnet-reconcile.service"

// unit is a systemd unit file: section -> key -> values in file order.
type unit map[string]map[string][]string

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: line %q is not key=value in a section", path, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// execStart is the reconcile unit's command, with the binary built from
// this tree in place of /usr/sbin/hostnet-plug.
func execStart(t *testing.T) []string {
	t.Helper()
	u := readUnit(t, filepath.Join(harness.RepoRoot(t), reconcileUnit))
	argv := strings.Fields(u["Service"]["ExecStart"][0])
	if argv[0] != "/usr/sbin/hostnet-plug" {
		t.Fatalf("ExecStart runs %s, want /usr/sbin/hostnet-plug", argv[0])
	}
	return append([]string{harness.Binary(t, "./plug")}, argv[1:]...)
}

// TestReconcileAfterVswitchdRestart: ovs-vswitchd restarts and loses every
// flow; the reconcile unit's command (what systemd runs on that restart)
// brings back ports and flows, and traffic works again, source checks
// included, within 5 s of the restart.
func TestReconcileAfterVswitchdRestart(t *testing.T) {
	h := newHost(t)
	peer := h.ovs.AddPeer(t, "br0", 100, "10.48.0.2/24")
	vm := h.vm(t, "vnet0", "52:54:00:00:48:01", "10.48.0.1/24")
	vm2 := h.vm(t, "vnet1", "52:54:00:00:48:02", "10.48.0.3/24")
	h.vm(t, "vnet2", "52:54:00:00:48:03", "")
	h.mustHook(t, "web", "start", "begin", domainXML("web", uuidA,
		nic{mac: "52:54:00:00:48:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.48.0.1"}}))
	h.mustHook(t, "db", "start", "begin", domainXML("db", uuidB,
		nic{mac: "52:54:00:00:48:02", tap: "vnet1", attrs: `bridge="br0" vlan="100"`}))
	h.mustCLI(t, "add", "--tap", "vnet2", "--mac", "52:54:00:00:48:03", "--wire", "wire1", "--trunks", "7,8")
	const c0, c1, c2 = "0x484e525400004801", "0x484e525400004802", "0x484e525400004803"
	peerMAC := macOf(t, peer, "eth0")
	c := harness.StartCapture(t, peer, "eth0", "")
	spoofDropped := func(id string) {
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.48.0.99", "-dst", "10.48.0.2", "-dst-mac", peerMAC, "-id", id+"1")
			}, []string{"id " + id + "1"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.48.0.1", "-dst", "10.48.0.2", "-dst-mac", peerMAC, "-id", id+"2")
			}, []string{"id " + id + "2"})
	}
	expectPing(t, vm, "", "10.48.0.2")
	expectPing(t, vm2, "", "10.48.0.2")
	spoofDropped("480")

	type portState struct{ bridge, tag, trunks, ofport, ids string }
	ports := func() map[string]portState {
		m := map[string]portState{}
		for _, p := range []string{"vnet0", "vnet1", "vnet2"} {
			m[p] = portState{h.ovs.Vsctl(t, "port-to-br", p), h.get(t, "port", p, "tag"), h.get(t, "port", p, "trunks"),
				h.get(t, "interface", p, "ofport"), h.get(t, "interface", p, "external_ids")}
		}
		return m
	}
	portsBefore := ports()
	flowsBefore := map[string]string{}
	for cookie, br := range map[string]string{c0: "br0", c1: "br0", c2: "brpub"} {
		flowsBefore[cookie] = flowTexts(h.flows(t, br, cookie))
	}

	start := time.Now()
	h.ovs.RestartVswitchd(t)
	restarted := time.Since(start)
	if got := h.cookies(t, "br0") + h.cookies(t, "brpub"); got != "" {
		t.Fatalf("hostnet flows survived the restart (%s): the test shows nothing", got)
	}
	argv := execStart(t)
	r := h.plugCLI(t, argv[1:]...)
	synced := time.Since(start)
	if r.code != 0 {
		t.Fatalf("%s: exit %d: %s", strings.Join(argv, " "), r.code, r.stderr)
	}
	expectPing(t, vm, "", "10.48.0.2")
	expectPing(t, vm2, "", "10.48.0.2")
	spoofDropped("481")
	working := time.Since(start)

	t.Logf("ovs-vswitchd restart took %v; ports and flows back (sync done) %v after the restart began (sync itself %v); traffic and source checks verified after %v",
		restarted.Round(time.Millisecond), synced.Round(time.Millisecond), r.took.Round(time.Millisecond), working.Round(time.Millisecond))
	if working > 5*time.Second {
		t.Errorf("traffic and source checks were back only %v after the restart began; want within 5 s", working)
	}
	if after := ports(); !maps.Equal(after, portsBefore) {
		t.Errorf("ports changed across the restart:\nbefore %+v\nafter  %+v", portsBefore, after)
	}
	for cookie, br := range map[string]string{c0: "br0", c1: "br0", c2: "brpub"} {
		if got := flowTexts(h.flows(t, br, cookie)); got != flowsBefore[cookie] {
			t.Errorf("flows of %s after reconcile:\n%s\nbefore the restart:\n%s", cookie, got, flowsBefore[cookie])
		}
	}
	h.expectNormalFlow(t, "br0")
	h.expectNormalFlow(t, "brpub")
}
