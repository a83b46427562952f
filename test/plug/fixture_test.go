// Package plug_test runs the qemu hook binary against a private Open vSwitch
// in a network namespace, with veth pairs playing the VMs' taps (DESIGN.md
// section 6), and checks the result with ovs-vsctl, ovs-ofctl and real
// traffic between namespaces.
package plug_test

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

// host is one simulated hypervisor: a namespace with a private OVS holding
// br0 (uplink eth0), brpub (uplink eth1, wire "wire1") and brvpc, a
// host.conf describing them, and the hook binary.
type host struct {
	ns      *harness.Netns
	ovs     *harness.OVS
	dir     string
	conf    string
	logFile string
	hook    string
}

const hostConf = `networks:
  - eth0/br0/10.9.0.1
  - eth1/brpub/wire1
ovs_datapath_type: netdev
ovs_rundir: %s
ovs_timeout: 2s
`

func newHost(t *testing.T) *host {
	t.Helper()
	harness.RequireRoot(t)
	h := &host{dir: t.TempDir(), hook: harness.Binary(t, "./hooks")}
	h.ns = harness.NewNetns(t, "host")
	h.ovs = harness.StartOVS(t, h.ns)
	for _, br := range []string{"br0", "brpub", "brvpc"} {
		h.ovs.AddBridge(t, br)
	}
	// The uplinks: ports hostnet does not own, cabled to a namespace of their own.
	wire := harness.NewNetns(t, "wire")
	harness.Veth(t, h.ns, "eth0", wire, "up0")
	harness.Veth(t, h.ns, "eth1", wire, "up1")
	h.ovs.Vsctl(t, "add-port", "br0", "eth0", "--", "add-port", "brpub", "eth1")

	h.conf = filepath.Join(h.dir, "host.conf")
	h.logFile = filepath.Join(h.dir, "hostnet.log")
	if err := os.WriteFile(h.conf, []byte(fmt.Sprintf(hostConf, h.ovs.Rundir)), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

// vm creates a VM stand-in: a namespace whose eth0 has mac and cidr, cabled
// to tap in the host namespace (the tap libvirt would have created).
func (h *host) vm(t *testing.T, tap, mac, cidr string) *harness.Netns {
	t.Helper()
	vm := harness.NewNetns(t, "vm")
	harness.Veth(t, h.ns, tap, vm, "eth0")
	vm.IP(t, "link", "set", "eth0", "address", mac)
	if cidr != "" {
		vm.AddAddr(t, "eth0", cidr)
	}
	return vm
}

type hookResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// runHook runs the hook as libvirtd does: `hostnet DOMAIN OP SUBOP -` with
// the domain XML on stdin and a minimal environment, in the host namespace.
func (h *host) runHook(t *testing.T, domain, op, subop, xml string, extraEnv ...string) hookResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := h.ns.Command(ctx, h.hook, domain, op, subop, "-")
	cmd.Env = append([]string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNET_CONFIG=" + h.conf,
		"HOSTNET_LOG_FILE=" + h.logFile,
		"HOSTNET_JOURNAL_SOCKET=" + filepath.Join(h.dir, "no-journal"),
	}, extraEnv...)
	cmd.Stdin = strings.NewReader(xml)
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
		t.Fatalf("run hook %s %s %s: %v", domain, op, subop, err)
	}
	if r.stdout != "" {
		t.Errorf("hook %s %s wrote to stdout (libvirt reads it as replacement XML): %q", op, subop, r.stdout)
	}
	return r
}

// mustHook runs the hook and fails the test unless it exits 0.
func (h *host) mustHook(t *testing.T, domain, op, subop, xml string) hookResult {
	t.Helper()
	r := h.runHook(t, domain, op, subop, xml)
	if r.code != 0 {
		t.Fatalf("hook %s %s %s exited %d: %s", domain, op, subop, r.code, r.stderr)
	}
	return r
}

// get reads one column of one row with ovs-vsctl.
func (h *host) get(t *testing.T, table, row, column string) string {
	t.Helper()
	return h.ovs.Vsctl(t, "--if-exists", "get", table, row, column)
}

// portRow is a port's full rows as ovs-vsctl lists them, to compare "before"
// and "after" for ports hostnet must not touch.
func (h *host) portRow(t *testing.T, name string) string {
	t.Helper()
	return h.ovs.Vsctl(t, "list", "port", name) + "\n" + h.ovs.Vsctl(t, "list", "interface", name)
}

// nic is one VM NIC of a test domain: the metadata attributes are written
// as given, so tests can put anything in them.
type nic struct {
	mac, tap string
	attrs    string // e.g. `bridge="br0" vlan="100"`
	ips      []string
	kind     string // interface type, default ethernet
}

// domainXML writes a domain XML as libvirt passes it to the hook (the live
// XML: target devs filled in).
func domainXML(name, uuid string, nics ...nic) string {
	var meta, devs strings.Builder
	for _, n := range nics {
		if n.attrs != "" {
			fmt.Fprintf(&meta, `      <hostnet:interface mac=%q %s>`, n.mac, n.attrs)
			for _, ip := range n.ips {
				fmt.Fprintf(&meta, `<hostnet:ip address=%q/>`, ip)
			}
			meta.WriteString("</hostnet:interface>\n")
		}
		kind := n.kind
		if kind == "" {
			kind = "ethernet"
		}
		fmt.Fprintf(&devs, "    <interface type='%s'>\n      <mac address='%s'/>\n", kind, n.mac)
		if kind == "bridge" {
			devs.WriteString("      <source bridge='virbr0'/>\n")
		}
		if n.tap != "" {
			fmt.Fprintf(&devs, "      <target dev='%s'/>\n", n.tap)
		}
		devs.WriteString("      <model type='virtio'/>\n    </interface>\n")
	}
	return fmt.Sprintf(`<domain type='qemu' id='3'>
  <name>%s</name>
  <uuid>%s</uuid>
  <metadata>
    <other:app xmlns:other="urn:example:other:1" owner="x"/>
    <hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1">
%s    </hostnet:interfaces>
  </metadata>
  <memory unit='KiB'>131072</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
%s  </devices>
</domain>
`, name, uuid, meta.String(), devs.String())
}
