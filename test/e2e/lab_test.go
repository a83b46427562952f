// Package e2e runs hostnet end to end: a simulated hypervisor (a network
// namespace) prepared by `hostprep apply`, a private libvirtd with the hook
// installed in its hook directory, and real guests (the tiny busybox guest
// of test/guest) that ping peers on the physical switches.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// lab is one hypervisor: eth0 trunked to the switch "sw" (peers on VLAN 100
// and 200, same subnet so isolation means something), eth1 to the switch
// "pub" (wire1), br0/brpub/brvpc made by hostprep, libvirtd with the hook.
type lab struct {
	ns             *harness.Netns
	ovs            *harness.OVS
	lv             *harness.Libvirt
	dir            string
	kernel, initrd string
	logFile        string
	conf           string                    // host.conf (bound to /etc/hostnet/host.conf for libvirtd and its hooks)
	peers          map[string]*harness.Netns // by address: peer100, peer200, peerPub
}

// Addresses of the peers on the switches.
const (
	peer100 = "10.100.0.2"
	peer200 = "10.100.0.3"
	peerPub = "10.101.0.2"
)

const labConf = `# host.conf of the e2e lab
networks:
  - eth0/br0/10.20.0.10
  - eth1/brpub/wire1
ovs_datapath_type: netdev
ovs_rundir: %s
state_dir: %s
ovs_timeout: 5s
`

func newLab(t *testing.T) *lab {
	t.Helper()
	harness.RequireRoot(t)
	l := &lab{dir: t.TempDir()}
	l.kernel, l.initrd = harness.Guest(t)
	l.ns = harness.NewNetns(t, "hv")
	l.ovs = harness.StartOVS(t, l.ns)

	sw := harness.NewSwitch(t)
	sw.TrunkTo(t, l.ns, "eth0")
	l.ns.AddAddr(t, "eth0", "10.20.0.10/24")
	pub := harness.NewSwitch(t)
	pub.TrunkTo(t, l.ns, "eth1")
	l.peers = map[string]*harness.Netns{
		peer100: sw.AddPeer(t, 100, peer100+"/24"),
		peer200: sw.AddPeer(t, 200, peer200+"/24"),
		peerPub: pub.AddPeer(t, 0, peerPub+"/24"),
	}

	etc := filepath.Join(l.dir, "etc-hostnet")
	logs := filepath.Join(l.dir, "log-hostnet")
	for _, d := range []string{etc, logs, filepath.Join(l.dir, "state")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(etc, "host.conf")
	l.conf = conf
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(labConf, l.ovs.Rundir, filepath.Join(l.dir, "state"))), 0o644); err != nil {
		t.Fatal(err)
	}
	l.logFile = filepath.Join(logs, "hostnet.log")

	// hostprep prepares the host, as systemd would at boot.
	hostprep := harness.Binary(t, "./hostprep")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := l.ns.Command(ctx, hostprep, "apply")
	cmd.Env = append(os.Environ(), "HOSTNET_CONFIG="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hostprep apply: %v\n%s", err, out)
	}

	// libvirtd runs hooks with a minimal environment: the hook finds its
	// config and log directory at their default paths.
	l.lv = harness.StartLibvirt(t, l.ns, harness.LibvirtOptions{
		Hooks: map[string]string{"hostnet": harness.Binary(t, "./hooks")},
		Binds: map[string]string{"/etc/hostnet": etc, "/var/log/hostnet": logs},
	})
	return l
}

// guest builds a test guest with one NIC per metadata entry (tap vmNAME-i).
type guestNIC struct {
	mac   string
	attrs string   // hostnet:interface attributes besides mac
	ip    string   // CIDR in the guest, "" for none
	ips   []string // hostnet:ip addresses (the source check's list)
}

func (l *lab) guest(name, uuid, script string, nics ...guestNIC) harness.GuestDomain {
	g := harness.GuestDomain{Name: name, UUID: uuid, Kernel: l.kernel, Initrd: l.initrd, Console: l.lv.ConsolePath(name)}
	ips := map[string]string{}
	var meta strings.Builder
	meta.WriteString(`<hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1">`)
	for i, n := range nics {
		g.NICs = append(g.NICs, harness.GuestNIC{MAC: n.mac, Tap: fmt.Sprintf("%s-%d", name, i)})
		fmt.Fprintf(&meta, `<hostnet:interface mac=%q %s>`, n.mac, n.attrs)
		for _, ip := range n.ips {
			fmt.Fprintf(&meta, `<hostnet:ip address=%q/>`, ip)
		}
		meta.WriteString(`</hostnet:interface>`)
		if n.ip != "" {
			ips[fmt.Sprintf("eth%d", i)] = n.ip
		}
	}
	meta.WriteString(`</hostnet:interfaces>`)
	g.Metadata = meta.String()
	g.Cmdline = harness.GuestCmdline(ips, script)
	return g
}

// hookEvents reads the hook's JSON log lines.
func (l *lab) hookEvents(t *testing.T) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(l.logFile)
	if err != nil {
		t.Fatalf("hook log: %v", err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("hook log line is not JSON: %q", line)
		}
		out = append(out, ev)
	}
	return out
}

func (l *lab) portsOf(t *testing.T, bridge string) []string {
	t.Helper()
	out := l.ovs.Vsctl(t, "list-ports", bridge)
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}
