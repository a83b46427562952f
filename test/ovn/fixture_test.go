// Package ovn_test proves hostnet's VPC ports against real OVN (DESIGN.md
// section 6): one ovn-northd with its NB and SB databases, and two
// simulated hypervisors, each a network namespace with its own Open vSwitch
// (userspace datapath) and ovn-controller, prepared by the real `hostprep
// apply` and cabled to one switch. VMs are namespaces behind veth "taps"
// that the real qemu hook plugs. Results are read with independent tools:
// ovn-sbctl, ovs-vsctl and pings through the Geneve tunnel.
package ovn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// bindTimeout bounds how long OVN may take to bind or release a port
// (measured: well under a second on this machine; the margin is for a
// loaded CI machine).
const bindTimeout = 20 * time.Second

// lab is the VPC test bed: the OVN control plane, the underlay switch and
// the hypervisors.
type lab struct {
	ovn   *harness.OVNCentral
	sw    *harness.Switch
	hosts map[string]*hv
}

// hv is one simulated hypervisor: eth0 on the underlay switch, its IP moved
// onto br0 by hostprep, brvpc bound to OVN as chassis "hv-NAME".
type hv struct {
	name    string // chassis name (Open_vSwitch external_ids:system-id)
	ip      string // underlay IP, ovn-encap-ip
	ns      *harness.Netns
	ovs     *harness.OVS
	ctl     *harness.OVNController
	dir     string
	conf    string
	logFile string
	hook    string
}

// newLab starts OVN and one hypervisor per name; host i gets underlay IP
// 192.168.60.(i+1).
func newLab(t *testing.T, names ...string) *lab {
	t.Helper()
	harness.RequireRoot(t)
	l := &lab{hosts: map[string]*hv{}}
	l.ovn = harness.StartOVNCentral(t, harness.NewNetns(t, "ovn"))
	l.sw = harness.NewSwitch(t)
	for i, name := range names {
		l.hosts[name] = l.newHV(t, name, fmt.Sprintf("192.168.60.%d", i+1))
	}
	return l
}

func (l *lab) newHV(t *testing.T, name, ip string) *hv {
	t.Helper()
	h := &hv{name: "hv-" + name, ip: ip, dir: t.TempDir(), hook: harness.Binary(t, "./hooks")}
	h.ns = harness.NewNetns(t, "hv"+name)
	h.ovs = harness.StartOVS(t, h.ns)
	l.sw.Plug(t, h.ns, "eth0")
	h.ns.AddAddr(t, "eth0", ip+"/24")
	// Both hosts share one kernel and so one host name: name the chassis, as
	// an operator does before the first apply (hostprep keeps a set system-id).
	h.ovs.Vsctl(t, "set", "Open_vSwitch", ".", "external_ids:system-id="+h.name)

	h.conf = filepath.Join(h.dir, "host.conf")
	h.logFile = filepath.Join(h.dir, "hostnet.log")
	conf := fmt.Sprintf(`networks: [eth0/br0/%s]
ovs_datapath_type: netdev
ovn_encap_ip: %s
ovn_south_database: %s
ovs_rundir: %s
state_dir: %s
`, ip, ip, l.ovn.SBRemote(), h.ovs.Rundir, filepath.Join(h.dir, "state"))
	if err := os.WriteFile(h.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	h.hostprep(t, "apply")
	h.ctl = harness.StartOVNController(t, h.ovs)
	return h
}

// hostprep runs the real hostprep binary in the host's namespace and fails
// the test unless it exits 0.
func (h *hv) hostprep(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := h.ovs.Command(ctx, append([]string{harness.Binary(t, "./hostprep"), "--config", h.conf}, args...)...)
	cmd.Env = append(cmd.Env, "HOSTNET_NM_RUNDIR="+filepath.Join(h.dir, "nm"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hostprep %v on %s: %v\n%s", args, h.name, err, out)
	}
	return string(out)
}

// vm is a VM stand-in: a namespace whose eth0 (MAC, IP) is cabled to a tap
// in the host's namespace, as libvirt creates it before `start begin`.
type vm struct {
	name, uuid string
	mac, tap   string
	ip         string // without prefix
	lsp        string // the vpc-port
	ns         *harness.Netns
	host       *hv
}

// newVM creates the VM's namespace and tap on h (not plugged yet).
func (h *hv) newVM(t *testing.T, name, uuid, tap, mac, ip, lsp string) *vm {
	t.Helper()
	v := &vm{name: name, uuid: uuid, mac: mac, tap: tap, ip: ip, lsp: lsp, host: h}
	v.ns = harness.NewNetns(t, "vm")
	harness.Veth(t, h.ns, tap, v.ns, "eth0")
	v.ns.IP(t, "link", "set", "eth0", "address", mac)
	v.ns.AddAddr(t, "eth0", ip+"/24")
	return v
}

// xml is the live domain XML libvirt hands the hook for v.
func (v *vm) xml() string {
	return fmt.Sprintf(`<domain type='qemu' id='7'>
  <name>%s</name>
  <uuid>%s</uuid>
  <metadata>
    <hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1">
      <hostnet:interface mac="%s" vpc-port="%s"/>
    </hostnet:interfaces>
  </metadata>
  <memory unit='KiB'>131072</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='ethernet'>
      <mac address='%s'/>
      <target dev='%s'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
`, v.name, v.uuid, v.mac, v.lsp, v.mac, v.tap)
}

type hookResult struct {
	stderr string
	code   int
	took   time.Duration
}

// hook runs the qemu hook on v's host as libvirtd does: `hostnet DOMAIN OP
// SUBOP -`, the domain XML on stdin, a minimal environment.
func (v *vm) hook(t *testing.T, op, subop string) hookResult {
	t.Helper()
	h := v.host
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := h.ns.Command(ctx, h.hook, v.name, op, subop, "-")
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNET_CONFIG=" + h.conf,
		"HOSTNET_LOG_FILE=" + h.logFile,
		"HOSTNET_JOURNAL_SOCKET=" + filepath.Join(h.dir, "no-journal"),
	}
	cmd.Stdin = strings.NewReader(v.xml())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := hookResult{stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("run hook %s %s %s on %s: %v", v.name, op, subop, h.name, err)
	}
	if stdout.Len() > 0 {
		t.Errorf("hook %s %s wrote to stdout (libvirt reads it as replacement XML): %q", op, subop, stdout.String())
	}
	return r
}

// mustHook runs the hook and fails the test unless it exits 0.
func (v *vm) mustHook(t *testing.T, op, subop string) hookResult {
	t.Helper()
	r := v.hook(t, op, subop)
	if r.code != 0 {
		t.Fatalf("hook %s %s %s on %s exited %d: %s", v.name, op, subop, v.host.name, r.code, r.stderr)
	}
	return r
}

// ifacesWithID names the Interfaces of h's OVS whose external_ids:iface-id
// is lsp, read with ovs-vsctl.
func (h *hv) ifacesWithID(t *testing.T, lsp string) []string {
	t.Helper()
	return strings.Fields(h.ovs.Vsctl(t, "--bare", "--columns=name", "find", "Interface", "external_ids:iface-id="+lsp))
}

// waitInstalled waits until ovn-controller has bound tap on h and installed
// its flows (external_ids:ovn-installed=true) and returns how long it took.
func (h *hv) waitInstalled(t *testing.T, tap string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := h.ovs.Vsctl(t, "--if-exists", "get", "Interface", tap, "external_ids:ovn-installed")
		if got == `"true"` {
			return time.Since(start)
		}
		if time.Since(start) > bindTimeout {
			t.Fatalf("%s: interface %s not ovn-installed after %v (external_ids:ovn-installed=%s)", h.name, tap, bindTimeout, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addSwitch creates a logical switch with one port per VM (addresses "MAC IP").
func (l *lab) addSwitch(t *testing.T, name string, vms ...*vm) {
	t.Helper()
	args := []string{"ls-add", name}
	for _, v := range vms {
		args = append(args, "--", "lsp-add", name, v.lsp, "--", "lsp-set-addresses", v.lsp, v.mac+" "+v.ip)
	}
	l.ovn.Nbctl(t, args...)
}

// waitChassis waits until lsp is bound to chassis (up) and returns how long it took.
func (l *lab) waitChassis(t *testing.T, lsp, chassis string) time.Duration {
	t.Helper()
	_, took := l.ovn.WaitBinding(t, lsp, "chassis "+chassis+" and up", bindTimeout, func(b harness.PortBinding) bool {
		return b.Chassis == chassis && b.Up
	})
	return took
}

// waitUnbound waits until no chassis holds lsp and returns how long it took.
func (l *lab) waitUnbound(t *testing.T, lsp string) time.Duration {
	t.Helper()
	_, took := l.ovn.WaitBinding(t, lsp, "no chassis", bindTimeout, func(b harness.PortBinding) bool {
		return b.Exists && b.Chassis == "" && len(b.Additional) == 0
	})
	return took
}

// pingRTT pings ip from ns (5 pings, 0.2 s apart) and returns the average
// round trip; it fails the test unless every ping is answered.
func pingRTT(t *testing.T, ns *harness.Netns, ip string) string {
	t.Helper()
	out, err := ns.Run("ping", "-c", "5", "-i", "0.2", "-W", "2", ip)
	if err != nil {
		t.Fatalf("ping %s from %s: %v", ip, ns, err)
	}
	if !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping %s from %s lost packets:\n%s", ip, ns, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "rtt ") {
			return strings.TrimSpace(line)
		}
	}
	return out
}
