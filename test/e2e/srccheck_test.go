package e2e

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// flows dumps a bridge's flows with exactly this cookie, counters removed,
// and the packets their drop flows counted.
func (l *lab) flows(t *testing.T, bridge, cookie string) (text string, dropped int) {
	t.Helper()
	out := l.ovs.Ofctl(t, "--no-names", "dump-flows", "unix:"+l.ovs.Rundir+"/"+bridge+".mgmt", "cookie="+cookie+"/-1")
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "cookie=") {
			continue
		}
		if m := packetsRE.FindStringSubmatch(line); m != nil && strings.HasSuffix(line, "actions=drop") {
			n, _ := strconv.Atoi(m[1])
			dropped += n
		}
		lines = append(lines, strings.TrimSpace(countersRE.ReplaceAllString(line, "")))
	}
	return strings.Join(sortedCopy(lines), "\n"), dropped
}

var (
	countersRE = regexp.MustCompile(`(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s*`)
	packetsRE  = regexp.MustCompile(`n_packets=(\d+)`)
	resultRE   = regexp.MustCompile(`(?m)^HN-R (\w+)=(ok|fail)`)
)

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// cookieOf is the cookie of a NIC's flows: "HN" and its MAC (DESIGN.md 4).
func cookieOf(mac string) string { return "0x484e" + strings.ReplaceAll(mac, ":", "") }

// TestGuestSpoofDropped: a booted guest with src-check on reaches its peer
// from its own address; when it sends from another address or another MAC
// its frames are dropped on br0 (the peer, watched by tcpdump, sees none of
// them); back on its own MAC it works again.
func TestGuestSpoofDropped(t *testing.T) {
	l := newLab(t)
	const mac = "52:54:00:50:00:01"
	c := harness.StartCapture(t, l.peers[peer100], "eth0", "")
	script := `res() { if "$@" >/dev/null; then echo "HN-R $N=ok"; else echo "HN-R $N=fail"; fi; }
N=own res hn_ping ` + peer100 + `
ip addr add 10.100.0.99/24 dev eth0
N=ip HN_PING_TRIES=3 res hn_ping ` + peer100 + ` 10.100.0.99
ip link set eth0 address 52:54:00:ee:ee:ee
N=mac HN_PING_TRIES=3 res hn_ping ` + peer100 + `
ip link set eth0 address ` + mac + `
N=back res hn_ping ` + peer100 + `
`
	g := l.lv.StartGuest(t, l.guest("spoofer", "a0000000-0000-4000-8000-000000000050", script,
		guestNIC{mac: mac, attrs: `bridge="br0" vlan="100" src-check="on"`, ips: []string{"10.100.0.21"}, ip: "10.100.0.21/24"}))
	console := l.lv.WaitConsole(t, g.Console, "HN-DONE", bootTimeout)

	got := map[string]string{}
	for _, m := range resultRE.FindAllStringSubmatch(console, -1) {
		got[m[1]] = m[2]
	}
	for step, want := range map[string]string{"own": "ok", "ip": "fail", "mac": "fail", "back": "ok"} {
		if got[step] != want {
			t.Errorf("guest step %s: %q, want %s\n%s", step, got[step], want, console)
		}
	}
	// The witness on the peer: the guest's own frames arrived, none of the spoofed ones.
	c.WaitFor(t, 5*time.Second, mac, "10.100.0.21 > "+peer100)
	for _, spoof := range []string{"10.100.0.99", "52:54:00:ee:ee:ee"} {
		if lines := c.Matching(spoof); len(lines) > 0 {
			t.Errorf("frames with %s reached the peer:\n%s", spoof, strings.Join(lines, "\n"))
		}
	}
	if _, dropped := l.flows(t, "br0", cookieOf(mac)); dropped < 3 {
		t.Errorf("the guest's drop flows counted %d packets, want at least the 3 spoofed pings", dropped)
	}
}

// TestReconnectRepairsDrift: while libvirtd is restarted, a running guest's
// port tag is changed by hand, its other port deleted by hand and its flows
// deleted. The restarted libvirtd runs the hook's reconnect, which repairs
// all of it; the guest is never stopped (same qemu process) and pings
// again, both ways.
func TestReconnectRepairsDrift(t *testing.T) {
	l := newLab(t)
	const mac0, mac1 = "52:54:00:51:00:01", "52:54:00:51:00:02"
	script := `hn_ping ` + peer100 + `
hn_ping ` + peerPub + `
(while :; do if ping -c 1 -W 1 ` + peer100 + ` >/dev/null 2>&1; then echo HN-LOOP-OK; else echo HN-LOOP-FAIL; fi; sleep 1; done) &
`
	g := l.lv.StartGuest(t, l.guest("rc", "a0000000-0000-4000-8000-000000000051", script,
		guestNIC{mac: mac0, attrs: `bridge="br0" vlan="100"`, ips: []string{"10.100.0.31"}, ip: "10.100.0.31/24"},
		guestNIC{mac: mac1, attrs: `wire="wire1"`, ip: "10.101.0.31/24"}))
	console := l.lv.WaitConsole(t, g.Console, "HN-DONE", bootTimeout)
	if r := harness.PingResults(console); !r[peer100] || !r[peerPub] {
		t.Fatalf("the guest does not reach its peers before the test even starts: %v\n%s", r, console)
	}
	harness.ExpectReach(t, l.peers[peer100], "10.100.0.31")
	harness.ExpectReach(t, l.peers[peerPub], "10.101.0.31")
	pid := l.lv.DomainPid(t, "rc")
	flows0, _ := l.flows(t, "br0", cookieOf(mac0))
	flows1, _ := l.flows(t, "brpub", cookieOf(mac1))

	// Drift, by hand.
	l.ovs.Vsctl(t, "set", "port", "rc-0", "tag=999")
	l.ovs.Vsctl(t, "del-port", "rc-1")
	l.ovs.Ofctl(t, "del-flows", "unix:"+l.ovs.Rundir+"/br0.mgmt", "cookie="+cookieOf(mac0)+"/-1")
	harness.ExpectNoReach(t, l.peers[peer100], "10.100.0.31")
	harness.ExpectNoReach(t, l.peers[peerPub], "10.101.0.31")

	start := time.Now()
	l.lv.RestartLibvirtd(t)
	deadline := time.Now().Add(60 * time.Second)
	bridgeOf := func(port string) string {
		out, err := l.ovs.VsctlErr("port-to-br", port)
		if err != nil {
			return "none"
		}
		return strings.TrimSpace(out)
	}
	for l.ovs.Vsctl(t, "--if-exists", "get", "port", "rc-0", "tag") != "100" || bridgeOf("rc-1") != "brpub" {
		if time.Now().After(deadline) {
			t.Fatalf("60 s after the libvirtd restart the drift is not repaired: rc-0 tag %s, rc-1 on %s",
				l.ovs.Vsctl(t, "--if-exists", "get", "port", "rc-0", "tag"), bridgeOf("rc-1"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("drift repaired %v after the libvirtd restart began", time.Since(start).Round(time.Millisecond))

	if state := l.lv.Virsh(t, "domstate", "rc"); state != "running" {
		t.Errorf("domain rc is %q after the libvirtd restart, want running", state)
	}
	if now := l.lv.DomainPid(t, "rc"); now != pid {
		t.Errorf("qemu of rc was replaced (pid %d -> %d): the VM was restarted", pid, now)
	}
	if got, _ := l.flows(t, "br0", cookieOf(mac0)); got != flows0 {
		t.Errorf("rc-0 flows after reconnect:\n%s\nwant:\n%s", got, flows0)
	}
	// rc-1 is a new port: same flows on its new OpenFlow port number.
	ofport := l.ovs.Vsctl(t, "get", "interface", "rc-1", "ofport")
	want1 := regexp.MustCompile(`in_port=\d+`).ReplaceAllString(flows1, "in_port="+ofport)
	if got, _ := l.flows(t, "brpub", cookieOf(mac1)); got != want1 {
		t.Errorf("rc-1 flows after reconnect:\n%s\nwant:\n%s", got, want1)
	}
	var repaired []string
	for _, ev := range l.hookEvents(t) {
		if ev["domain"] != "rc" {
			continue
		}
		switch ev["op"] {
		case "reconnect":
			if ev["message"] == "NIC plugged" {
				repaired = append(repaired, ev["tap"].(string)+" "+ev["action"].(string))
			}
		case "stopped", "release":
			t.Errorf("the hook saw %s for rc: the VM was stopped", ev["op"])
		}
	}
	if strings.Join(sortedCopy(repaired), ", ") != "rc-0 updated, rc-1 created" {
		t.Errorf("reconnect hook repaired %v, want rc-0 updated and rc-1 created", repaired)
	}

	// The guest works again, both ways.
	harness.ExpectReach(t, l.peers[peer100], "10.100.0.31")
	harness.ExpectReach(t, l.peers[peerPub], "10.101.0.31")
	seen := len(readConsole(t, g.Console))
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(readConsole(t, g.Console)[seen:], "HN-LOOP-OK") {
		if time.Now().After(deadline) {
			t.Fatalf("the guest's own pings did not succeed after the repair:\n%s", readConsole(t, g.Console)[seen:])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func readConsole(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\r", "")
}

// TestSyncWithoutLibvirt: with libvirtd stopped, a running guest's port is
// deleted by hand; `hostnet-plug sync`, reading libvirt's real status
// files, brings it back with its flows, and the guest is reachable again.
// Nothing answers on libvirt's socket, so sync cannot have asked libvirt.
func TestSyncWithoutLibvirt(t *testing.T) {
	l := newLab(t)
	const mac = "52:54:00:52:00:01"
	g := l.lv.StartGuest(t, l.guest("nolv", "a0000000-0000-4000-8000-000000000052", "hn_ping "+peer100+"\n",
		guestNIC{mac: mac, attrs: `bridge="br0" vlan="100"`, ips: []string{"10.100.0.41"}, ip: "10.100.0.41/24"}))
	l.lv.WaitConsole(t, g.Console, "HN-DONE", bootTimeout)
	harness.ExpectReach(t, l.peers[peer100], "10.100.0.41")
	flows, _ := l.flows(t, "br0", cookieOf(mac))

	l.lv.StopLibvirtd(t)
	if _, err := l.lv.VirshErr("list"); err == nil {
		t.Fatal("libvirtd still answers after StopLibvirtd")
	}
	l.ovs.Vsctl(t, "del-port", "nolv-0")
	harness.ExpectNoReach(t, l.peers[peer100], "10.100.0.41")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := l.ns.Command(ctx, harness.Binary(t, "./plug"), "sync", "--libvirt-state", l.lv.StatusDir())
	cmd.Env = append(os.Environ(), "HOSTNET_CONFIG="+l.conf)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nolv-0: created on br0 (access vlan 100, src-check on)") {
		t.Fatalf("hostnet-plug sync: %v\n%s", err, out)
	}
	if got := l.ovs.Vsctl(t, "get", "port", "nolv-0", "tag"); got != "100" {
		t.Errorf("nolv-0 tag after sync = %s, want 100", got)
	}
	ofport := l.ovs.Vsctl(t, "get", "interface", "nolv-0", "ofport")
	if got, _ := l.flows(t, "br0", cookieOf(mac)); got != regexp.MustCompile(`in_port=\d+`).ReplaceAllString(flows, "in_port="+ofport) {
		t.Errorf("flows after sync:\n%s\nwant (on the new port):\n%s", got, flows)
	}
	harness.ExpectReach(t, l.peers[peer100], "10.100.0.41")
	l.lv.StartLibvirtd(t)
}
