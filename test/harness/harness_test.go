package harness

import (
	"encoding/base64"
	"encoding/xml"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOVSVLANs: a private OVS separates access ports by VLAN, and survives the daemon
// stop/start/restart helpers the hostnet tests use to simulate OVS trouble.
func TestOVSVLANs(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	host := NewNetns(t, "host")
	start := time.Now()
	o := StartOVS(t, host)
	t.Logf("StartOVS: %s", time.Since(start).Round(time.Millisecond))
	o.AddBridge(t, "br0")
	a := o.AddPeer(t, "br0", 100, "10.0.0.1/24")
	o.AddPeer(t, "br0", 100, "10.0.0.2/24")
	c := o.AddPeer(t, "br0", 200, "10.0.0.3/24")

	// Independent check of what the helper configured.
	if got := o.Vsctl(t, "--bare", "--columns=name", "find", "port", "tag=100"); len(strings.Fields(got)) != 2 {
		t.Fatalf("ports with tag=100: %q, want 2", got)
	}
	ExpectReach(t, a, "10.0.0.2")
	ExpectNoReach(t, a, "10.0.0.3")
	ExpectNoReach(t, c, "10.0.0.1")

	o.StopVswitchd(t)
	ExpectNoReach(t, a, "10.0.0.2")
	o.StartVswitchd(t)
	ExpectReach(t, a, "10.0.0.2")

	start = time.Now()
	o.RestartVswitchd(t)
	t.Logf("RestartVswitchd: %s", time.Since(start).Round(time.Millisecond))
	ExpectReach(t, a, "10.0.0.2")
	ExpectNoReach(t, a, "10.0.0.3")

	o.StopDB(t)
	if out, err := o.VsctlErr("--timeout=2", "show"); err == nil {
		t.Fatalf("ovs-vsctl worked with ovsdb-server stopped:\n%s", out)
	}
	o.StartDB(t)
	o.Vsctl(t, "br-exists", "br0")
}

// TestSwitchTrunk: a host with its own OVS bridge, uplinked by a trunk to the Switch, shares
// VLAN 100 and the native VLAN with the switch's peers and is isolated from VLAN 200.
func TestSwitchTrunk(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	sw := NewSwitch(t)
	host := NewNetns(t, "host")
	o := StartOVS(t, host)
	o.AddBridge(t, "br0")
	sw.TrunkTo(t, host, "eth0")
	o.Vsctl(t, "add-port", "br0", "eth0")

	h100 := o.AddPeer(t, "br0", 100, "10.0.0.1/24")
	hNative := o.AddPeer(t, "br0", 0, "10.0.0.5/24")
	sw.AddPeer(t, 100, "10.0.0.2/24")
	s200 := sw.AddPeer(t, 200, "10.0.0.3/24")
	sw.AddPeer(t, 0, "10.0.0.4/24")

	ExpectReach(t, h100, "10.0.0.2")
	ExpectReach(t, hNative, "10.0.0.4")
	ExpectNoReach(t, h100, "10.0.0.3")
	ExpectNoReach(t, h100, "10.0.0.4")
	ExpectNoReach(t, hNative, "10.0.0.2")
	ExpectNoReach(t, s200, "10.0.0.1")
}

// TestGateway: a host reaches the far network through a gateway cabled to its NIC (IPv4 and
// IPv6), and through a gateway that sits on the Switch.
func TestGateway(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	host := NewNetns(t, "host")
	gw := NewGateway(t, host, "eth0", "192.0.2.10/24", "192.0.2.1/24")
	NewGateway(t, host, "eth1", "2001:db8:1::10/64", "2001:db8:1::1/64")
	if out := host.IP(t, "-4", "route", "show", "default"); !strings.Contains(out, "via 192.0.2.1 dev eth0") {
		t.Fatalf("host default route: %q", out)
	}
	ExpectReach(t, host, gw.IP)
	ExpectReach(t, host, FarIP)
	ExpectReach(t, host, FarIP6)
	ExpectReach(t, gw.Far, "192.0.2.10") // the route back

	sw := NewSwitch(t)
	host2 := NewNetns(t, "host2")
	sw.TrunkTo(t, host2, "eth0")
	host2.AddAddr(t, "eth0", "192.0.2.20/24")
	sgw := sw.AddGateway(t, 0, "192.0.2.1/24")
	host2.IP(t, "route", "add", "default", "via", sgw.IP)
	ExpectReach(t, host2, FarIP)
}

// TestNetnsDo: Do runs Go code in the namespace and gives the thread back unchanged.
func TestNetnsDo(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	a := NewNetns(t, "a")
	b := NewNetns(t, "b")
	Veth(t, a, "hnx0", b, "eth0")
	names := func() map[string]bool {
		ifs, err := net.Interfaces()
		if err != nil {
			t.Fatalf("net.Interfaces: %v", err)
		}
		m := map[string]bool{}
		for _, i := range ifs {
			m[i.Name] = true
		}
		return m
	}
	var inside map[string]bool
	if err := a.Do(func() error { inside = names(); return nil }); err != nil {
		t.Fatal(err)
	}
	if !inside["hnx0"] || inside["eth0"] {
		t.Fatalf("interfaces seen inside %s: %v", a, inside)
	}
	if names()["hnx0"] {
		t.Fatalf("hnx0 visible outside %s after Do", a)
	}
}

// TestBinary: binaries build once per process, with and without tags.
func TestBinary(t *testing.T) {
	t.Parallel()
	plain := Binary(t, "./test/harness/testdata/hello")
	loud := BinaryWithTags(t, "./test/harness/testdata/hello", "loud")
	if again := Binary(t, "./test/harness/testdata/hello"); again != plain {
		t.Fatalf("second Binary call gave %s, want the cached %s", again, plain)
	}
	for bin, want := range map[string]string{plain: "hello", loud: "HELLO"} {
		out, err := exec.Command(bin).Output()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Fatalf("%s: %q, %v; want %q", bin, out, err, want)
		}
	}
}

// TestLibvirtGuest proves the chain the end-to-end tests rely on: a private libvirtd runs a
// hook at every step, the hook plugs the guest's tap into a private OVS in the same namespace,
// and the guest reaches a peer on its VLAN but not one on another VLAN.
func TestLibvirtGuest(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	ns := NewNetns(t, "kvm")
	o := StartOVS(t, ns)
	o.AddBridge(t, "br0")
	peer := o.AddPeer(t, "br0", 100, "10.0.100.12/24")
	o.AddPeer(t, "br0", 200, "10.0.100.13/24")

	tmp := t.TempDir()
	hookLog := filepath.Join(tmp, "hook.log")
	hook := filepath.Join(tmp, "testhook")
	// libvirtd passes hooks no environment of ours, so the OVS location is baked in. The tap
	// is unplugged at "stopped end": at "release end" libvirt's XML no longer names it.
	script := `#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin OVS_RUNDIR=` + o.Rundir + `
xml=$(cat)
echo "$*" >>` + hookLog + `
tap=$(printf '%s\n' "$xml" | sed -n "s/.*<target dev='\([^']*\)'.*/\1/p" | head -n 1)
case "$2 $3" in
"start begin") ovs-vsctl --timeout=5 add-port br0 "$tap" tag=100 || exit 1 ;;
"stopped end") ovs-vsctl --timeout=5 --if-exists del-port br0 "$tap" ;;
esac
exit 0
`
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	kernel, initrd := Guest(t)

	start := time.Now()
	lv := StartLibvirt(t, ns, LibvirtOptions{Hooks: map[string]string{"testhook": hook}})
	t.Logf("StartLibvirt: %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	g := lv.StartGuest(t, GuestDomain{
		Name:    "hnguest",
		Kernel:  kernel,
		Initrd:  initrd,
		NICs:    []GuestNIC{{MAC: "52:54:00:00:01:01", Tap: "hntap0"}},
		Cmdline: GuestCmdline(map[string]string{"eth0": "10.0.100.11/24"}, "hn_ping 10.0.100.12\nHN_PING_TRIES=3 hn_ping 10.0.100.13\n"),
	})
	t.Logf("virsh define+start: %s", time.Since(start).Round(time.Millisecond))
	lv.WaitConsole(t, g.Console, "HN-BOOTED", 60*time.Second)
	t.Logf("guest booted (HN-BOOTED) %s after start", time.Since(start).Round(time.Millisecond))
	console := lv.WaitConsole(t, g.Console, "HN-DONE", 60*time.Second)
	t.Logf("guest script done (HN-DONE) %s after start", time.Since(start).Round(time.Millisecond))

	if got := o.Vsctl(t, "get", "port", "hntap0", "tag"); got != "100" {
		t.Fatalf("tap hntap0 tag = %q, want 100", got)
	}
	res := PingResults(console)
	if !res["10.0.100.12"] {
		t.Fatalf("guest did not reach the VLAN 100 peer; console:\n%s", console)
	}
	if ok, seen := res["10.0.100.13"]; !seen || ok {
		t.Fatalf("guest's ping of the VLAN 200 peer: seen=%v ok=%v, want a failure; console:\n%s", seen, ok, console)
	}
	ExpectReach(t, peer, "10.0.100.11")

	start = time.Now()
	lv.Destroy(t, g.Name)
	t.Logf("virsh destroy: %s", time.Since(start).Round(time.Millisecond))
	b, err := os.ReadFile(hookLog)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != g.Name {
			t.Fatalf("hook log line %q: want DOMAIN OP SUBOP ...", line)
		}
		ops = append(ops, f[1]+" "+f[2])
	}
	want := []string{"prepare begin", "start begin", "started begin", "stopped end", "release end"}
	if strings.Join(ops, ",") != strings.Join(want, ",") {
		t.Fatalf("hook calls %q, want %q", ops, want)
	}
	if ports := o.Vsctl(t, "list-ports", "br0"); strings.Contains(ports, "hntap0") {
		t.Fatalf("hntap0 still on br0 after destroy: %q", ports)
	}
}

func TestGuestDomainXML(t *testing.T) {
	g := GuestDomain{
		Name: "vm1", Kernel: "/k", Initrd: "/i", Console: "/c", Cmdline: "console=ttyS0",
		NICs:     []GuestNIC{{MAC: "52:54:00:00:00:01", Tap: "tap1"}, {MAC: "52:54:00:00:00:02", Tap: "tap2"}},
		Metadata: `<hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1"><hostnet:interface mac="52:54:00:00:00:01" bridge="br0" vlan="100"/></hostnet:interfaces>`,
	}
	x, err := g.XML()
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Type   string `xml:"type,attr"`
		Name   string `xml:"name"`
		Memory string `xml:"memory"`
		OS     struct {
			Kernel  string `xml:"kernel"`
			Cmdline string `xml:"cmdline"`
		} `xml:"os"`
		Meta struct {
			Inner string `xml:",innerxml"`
		} `xml:"metadata"`
		Ifaces []struct {
			Type    string `xml:"type,attr"`
			Managed string `xml:"managed,attr"`
			MAC     struct {
				Address string `xml:"address,attr"`
			} `xml:"mac"`
			Target struct {
				Dev     string `xml:"dev,attr"`
				Managed string `xml:"managed,attr"`
			} `xml:"target"`
		} `xml:"devices>interface"`
		Graphics []struct{} `xml:"devices>graphics"`
		Serial   struct {
			Type   string `xml:"type,attr"`
			Source struct {
				Path string `xml:"path,attr"`
			} `xml:"source"`
		} `xml:"devices>serial"`
	}
	if err := xml.Unmarshal([]byte(x), &d); err != nil {
		t.Fatalf("XML does not parse: %v\n%s", err, x)
	}
	if d.Type != "qemu" || d.Name != "vm1" || d.Memory != "128" || d.OS.Kernel != "/k" || d.OS.Cmdline != "console=ttyS0" {
		t.Fatalf("domain fields wrong: %+v\n%s", d, x)
	}
	if len(d.Ifaces) != 2 || d.Ifaces[1].Type != "ethernet" || d.Ifaces[1].MAC.Address != "52:54:00:00:00:02" ||
		d.Ifaces[1].Target.Dev != "tap2" || d.Ifaces[0].Target.Managed != "" {
		t.Fatalf("interfaces wrong: %+v", d.Ifaces)
	}
	if !strings.Contains(d.Meta.Inner, `vlan="100"`) || len(d.Graphics) != 0 || d.Serial.Type != "file" || d.Serial.Source.Path != "/c" {
		t.Fatalf("metadata/graphics/serial wrong:\n%s", x)
	}

	for name, bad := range map[string]GuestDomain{
		"no kernel": {Name: "x", Initrd: "/i", Console: "/c"},
		"long cmdline": {Name: "x", Kernel: "/k", Initrd: "/i", Console: "/c",
			Cmdline: strings.Repeat("a", 2000)},
		"bad MAC":  {Name: "x", Kernel: "/k", Initrd: "/i", Console: "/c", NICs: []GuestNIC{{MAC: "nope", Tap: "t"}}},
		"long tap": {Name: "x", Kernel: "/k", Initrd: "/i", Console: "/c", NICs: []GuestNIC{{MAC: "52:54:00:00:00:01", Tap: "a234567890123456"}}},
	} {
		if _, err := bad.XML(); err == nil {
			t.Errorf("%s: XML() accepted it", name)
		}
	}
}

func TestGuestCmdline(t *testing.T) {
	c := GuestCmdline(map[string]string{"eth1": "10.0.0.2/24", "eth0": "10.0.0.1/24"}, "hn_ping 10.0.0.3\n")
	f := strings.Fields(c)
	if f[0] != "console=ttyS0" || f[3] != "hn.ip=eth0:10.0.0.1/24,eth1:10.0.0.2/24" || !strings.HasPrefix(f[4], "hn.script=") {
		t.Fatalf("cmdline %q", c)
	}
	s, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[4], "hn.script="))
	if err != nil || string(s) != "hn_ping 10.0.0.3\n" {
		t.Fatalf("script round trip: %q, %v", s, err)
	}
	if c := GuestCmdline(nil, ""); c != "console=ttyS0 quiet panic=-1" {
		t.Fatalf("empty cmdline %q", c)
	}
}

func TestPingResults(t *testing.T) {
	got := PingResults("HN-BOOTED\r\nHN-PING-FAIL 10.0.0.2\nnoise HN-PING-OK 10.0.0.9\nHN-PING-OK 10.0.0.2\nHN-PING-FAIL 2001:db8::3\n")
	want := map[string]bool{"10.0.0.2": true, "2001:db8::3": false}
	if len(got) != len(want) || got["10.0.0.2"] != true || got["2001:db8::3"] != false {
		t.Fatalf("PingResults = %v, want %v", got, want)
	}
}

// TestLibvirtRealHooks: with RealHooks the private libvirtd sees the machine's own
// /etc/libvirt/hooks (same inode), while the rest of /etc/libvirt stays private.
func TestLibvirtRealHooks(t *testing.T) {
	RequireRoot(t)
	t.Parallel()
	lv := StartLibvirt(t, NewNetns(t, "lv"), LibvirtOptions{RealHooks: true})
	pid := strconv.Itoa(readPidfile(lv.pidfile("libvirtd")))
	inode := func(args ...string) string {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	real := inode("stat", "-c", "%d:%i", "/etc/libvirt/hooks")
	if got := inode("nsenter", "-t", pid, "-m", "stat", "-c", "%d:%i", "/etc/libvirt/hooks"); got != real {
		t.Fatalf("libvirtd's /etc/libvirt/hooks is %s, the machine's is %s", got, real)
	}
	if got := inode("nsenter", "-t", pid, "-m", "cat", "/etc/libvirt/qemu.conf"); !strings.Contains(got, "private libvirtd of a hostnet test") {
		t.Fatalf("libvirtd's qemu.conf is not the private one:\n%s", got)
	}
}
