package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

const bootTimeout = 90 * time.Second

// TestGuestsOnVLANsAndWires: guests whose NICs carry hostnet metadata reach
// the peer on their VLAN and not the one on the other VLAN; a wire NIC lands
// on the wire's bridge; destroy removes the ports.
func TestGuestsOnVLANsAndWires(t *testing.T) {
	l := newLab(t)
	isolated := func(own, other string) string {
		return fmt.Sprintf("hn_ping %s\nHN_PING_TRIES=3 hn_ping %s\n", own, other)
	}
	guests := []harness.GuestDomain{
		l.guest("g100", "a0000000-0000-4000-8000-000000000001", isolated(peer100, peer200),
			guestNIC{mac: "52:54:00:10:00:01", attrs: `bridge="br0" vlan="100"`, ip: "10.100.0.11/24"}),
		l.guest("g200", "a0000000-0000-4000-8000-000000000002", isolated(peer200, peer100),
			guestNIC{mac: "52:54:00:10:00:02", attrs: `bridge="br0" vlan="200"`, ip: "10.100.0.12/24"}),
		l.guest("gwire", "a0000000-0000-4000-8000-000000000003", "hn_ping "+peerPub+"\n",
			guestNIC{mac: "52:54:00:10:00:03", attrs: `wire="wire1"`, ip: "10.101.0.11/24"}),
	}
	for _, g := range guests {
		l.lv.StartGuest(t, g)
	}
	want := map[string]map[string]bool{
		"g100":  {peer100: true, peer200: false},
		"g200":  {peer200: true, peer100: false},
		"gwire": {peerPub: true},
	}
	for _, g := range guests {
		console := l.lv.WaitConsole(t, g.Console, "HN-DONE", bootTimeout)
		got := harness.PingResults(console)
		for target, reach := range want[g.Name] {
			if r, ok := got[target]; !ok || r != reach {
				t.Errorf("%s: ping %s: reached=%v (reported: %v), want %v\n%s", g.Name, target, r, ok, reach, console)
			}
		}
	}
	for tap, want := range map[string]string{"g100-0": "100", "g200-0": "200"} {
		if got := l.ovs.Vsctl(t, "get", "port", tap, "tag"); got != want {
			t.Errorf("%s tag = %s, want %s", tap, got, want)
		}
	}
	if got := l.ovs.Vsctl(t, "port-to-br", "gwire-0"); got != "brpub" {
		t.Errorf("the wire1 NIC is on %s, want brpub", got)
	}

	for _, g := range guests {
		l.lv.Destroy(t, g.Name)
	}
	for _, br := range []string{"br0", "brpub"} {
		for _, p := range l.portsOf(t, br) {
			if p != "eth0" && p != "eth1" {
				t.Errorf("port %s is still on %s after destroy", p, br)
			}
		}
	}
}

// TestBadMetadataRefusedByLibvirt: libvirt refuses the start and shows the
// hook's one-line reason; nothing is left plugged.
func TestBadMetadataRefusedByLibvirt(t *testing.T) {
	l := newLab(t)
	for name, attrs := range map[string]string{
		"badvlan": `bridge="br0" vlan="5000"`,
		"badwire": `wire="wire9"`,
		"nobr":    `bridge="br7"`,
	} {
		g := l.guest(name, "", "", guestNIC{mac: "52:54:00:20:00:01", attrs: attrs})
		x, err := g.XML()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.lv.Define(x); err != nil {
			t.Fatal(err)
		}
		out, err := l.lv.VirshErr("start", name)
		if err == nil {
			t.Fatalf("%s: virsh start succeeded; want the hook to refuse it", name)
		}
		if !strings.Contains(out, "hostnet: ") || !strings.Contains(out, "52:54:00:20:00:01") {
			t.Errorf("%s: libvirt's error does not carry the hook's reason:\n%s", name, out)
		}
		if state := l.lv.Virsh(t, "domstate", name); !strings.Contains(state, "shut off") {
			t.Errorf("%s: domain state %q after a refused start", name, state)
		}
	}
	if ports := l.portsOf(t, "br0"); len(ports) != 1 {
		t.Errorf("br0 ports after refused starts: %v", ports)
	}
}

// TestTenAtOnce: ten VMs started at the same time are all plugged right.
func TestTenAtOnce(t *testing.T) {
	l := newLab(t)
	const n = 10
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("t%02d", i)
		g := l.guest(names[i], "", "", guestNIC{mac: fmt.Sprintf("52:54:00:30:00:%02x", i), attrs: fmt.Sprintf(`bridge="br0" vlan="%d"`, 300+i)})
		x, err := g.XML()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.lv.Define(x); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	outs := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = l.lv.VirshErr("start", names[i])
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("start %s: %v\n%s", names[i], errs[i], outs[i])
			continue
		}
		tap := names[i] + "-0"
		if got := l.ovs.Vsctl(t, "get", "port", tap, "tag"); got != fmt.Sprint(300+i) {
			t.Errorf("%s: tag %s, want %d", tap, got, 300+i)
		}
		if ofport := l.ovs.Vsctl(t, "get", "interface", tap, "ofport"); ofport == "-1" || ofport == "[]" {
			t.Errorf("%s: no OpenFlow port (%s)", tap, l.ovs.Vsctl(t, "get", "interface", tap, "error"))
		}
	}
	for _, name := range names {
		l.lv.Destroy(t, name)
	}
	if ports := l.portsOf(t, "br0"); len(ports) != 1 {
		t.Errorf("br0 ports after destroying all: %v", ports)
	}
}

// TestFourNICStartTime: the hook's own account of a 4-NIC start (one NIC on
// each kind of target); the whole-process numbers are make bench's.
func TestFourNICStartTime(t *testing.T) {
	l := newLab(t)
	g := l.guest("quad", "", "",
		guestNIC{mac: "52:54:00:40:00:01", attrs: `bridge="br0" vlan="100"`},
		guestNIC{mac: "52:54:00:40:00:02", attrs: `bridge="br0" trunks="100,200"`},
		guestNIC{mac: "52:54:00:40:00:03", attrs: `wire="wire1"`},
		guestNIC{mac: "52:54:00:40:00:04", attrs: `vpc-port="lsp-quad"`})
	l.lv.StartGuest(t, g)
	var plugged int
	var took float64
	for _, ev := range l.hookEvents(t) {
		if ev["message"] == "NIC plugged" && ev["domain"] == "quad" {
			plugged++
			took, _ = ev["duration_ms"].(float64)
		}
	}
	if plugged != 4 {
		t.Fatalf("hook logged %d plugged NICs, want 4", plugged)
	}
	t.Logf("hook start of a 4-NIC VM: %.2f ms inside the hook (OVSDB commit, ovs-vswitchd applied, flows installed)", took)
}
