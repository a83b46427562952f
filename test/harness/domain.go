package harness

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
)

// GuestNIC is one <interface type='ethernet'> of a test guest.
type GuestNIC struct {
	MAC string // e.g. 52:54:00:00:00:01
	Tap string // <target dev>: libvirt creates the tap with this name (at most 15 bytes)
}

// GuestDomain describes a test guest; XML renders it as libvirt domain XML: TCG (never KVM),
// machine pc, 1 vCPU, direct kernel boot, serial console to a file, no graphics.
type GuestDomain struct {
	Name      string
	UUID      string // optional; libvirt generates one when empty
	MemoryMiB int    // default 128
	Kernel    string // from Guest(t)
	Initrd    string // from Guest(t)
	Cmdline   string // from GuestCmdline
	Console   string // file the serial console is written to
	NICs      []GuestNIC
	Metadata  string // raw inner XML of <metadata>, e.g. hostnet:interfaces
}

// maxCmdline leaves headroom below the x86 kernel's 2048-byte command line limit.
const maxCmdline = 1900

// XML renders the domain, or explains which field is wrong.
func (g GuestDomain) XML() (string, error) {
	if g.Name == "" || g.Kernel == "" || g.Initrd == "" || g.Console == "" {
		return "", fmt.Errorf("guest domain %q: Name, Kernel, Initrd and Console are required", g.Name)
	}
	if len(g.Cmdline) > maxCmdline {
		return "", fmt.Errorf("guest domain %q: kernel command line is %d bytes, the limit is %d; shorten hn.script", g.Name, len(g.Cmdline), maxCmdline)
	}
	mem := g.MemoryMiB
	if mem == 0 {
		mem = 128
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<domain type='qemu'>\n  <name>%s</name>\n", esc(g.Name))
	if g.UUID != "" {
		fmt.Fprintf(&b, "  <uuid>%s</uuid>\n", esc(g.UUID))
	}
	if g.Metadata != "" {
		// Raw on purpose: tests pass namespaced XML (and sometimes invalid XML on purpose).
		fmt.Fprintf(&b, "  <metadata>\n%s\n  </metadata>\n", g.Metadata)
	}
	fmt.Fprintf(&b, "  <memory unit='MiB'>%d</memory>\n  <vcpu>1</vcpu>\n", mem)
	fmt.Fprintf(&b, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n    <kernel>%s</kernel>\n    <initrd>%s</initrd>\n    <cmdline>%s</cmdline>\n  </os>\n",
		esc(g.Kernel), esc(g.Initrd), esc(g.Cmdline))
	b.WriteString("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n  <on_crash>destroy</on_crash>\n  <devices>\n")
	for i, n := range g.NICs {
		if _, err := net.ParseMAC(n.MAC); err != nil {
			return "", fmt.Errorf("guest domain %q: NIC %d MAC %q: %w", g.Name, i, n.MAC, err)
		}
		if n.Tap == "" || len(n.Tap) > 15 {
			return "", fmt.Errorf("guest domain %q: NIC %d tap %q: need a name of 1 to 15 bytes", g.Name, i, n.Tap)
		}
		// No managed='no': libvirt would then require the tap to exist already. No boot ROM:
		// the kernel is booted directly, and iPXE only costs time.
		fmt.Fprintf(&b, "    <interface type='ethernet'>\n      <mac address='%s'/>\n      <target dev='%s'/>\n      <model type='virtio'/>\n      <rom enabled='no'/>\n    </interface>\n",
			esc(n.MAC), esc(n.Tap))
	}
	fmt.Fprintf(&b, "    <serial type='file'>\n      <source path='%s'/>\n      <target port='0'/>\n    </serial>\n", esc(g.Console))
	b.WriteString("    <controller type='usb' model='none'/>\n    <memballoon model='none'/>\n  </devices>\n</domain>\n")
	return b.String(), nil
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}

// GuestCmdline is the kernel command line for the test guest: ips maps a guest NIC (eth0, in
// PCI order of the domain's NICs) to its CIDR; script (optional) is a shell script the guest
// runs after configuring them, with hn_ping and hn_vlan available (see test/guest/init).
func GuestCmdline(ips map[string]string, script string) string {
	parts := []string{"console=ttyS0", "quiet", "panic=-1"}
	if len(ips) > 0 {
		devs := make([]string, 0, len(ips))
		for dev := range ips {
			devs = append(devs, dev)
		}
		sort.Strings(devs)
		for i, dev := range devs {
			devs[i] = dev + ":" + ips[dev]
		}
		parts = append(parts, "hn.ip="+strings.Join(devs, ","))
	}
	if script != "" {
		parts = append(parts, "hn.script="+base64.StdEncoding.EncodeToString([]byte(script)))
	}
	return strings.Join(parts, " ")
}

var pingMarkerRE = regexp.MustCompile(`(?m)^HN-PING-(OK|FAIL) (\S+)`)

// PingResults parses the guest's HN-PING-OK/HN-PING-FAIL lines: target -> reached. A later
// line for the same target wins.
func PingResults(console string) map[string]bool {
	res := map[string]bool{}
	for _, m := range pingMarkerRE.FindAllStringSubmatch(strings.ReplaceAll(console, "\r", ""), -1) {
		res[m[2]] = m[1] == "OK"
	}
	return res
}
