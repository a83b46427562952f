package main

import (
	"fmt"
	"strings"
)

// vmVLAN is the access VLAN of every benchmarked NIC: libvirt's plug gets
// it as <vlan><tag id=.../></vlan>, hostnet's as vlan="..." metadata.
const vmVLAN = 100

// vmSpec is a benchmark VM: n NICs with taps PREFIX0..PREFIX(n-1).
type vmSpec struct {
	name, uuid string
	nics       int
	tapPrefix  string
	macByte    int    // third-from-last MAC byte, unique per VM
	srcCheck   string // hostnet src-check of every NIC: off or mac
}

func (v vmSpec) tap(i int) string { return fmt.Sprintf("%s%d", v.tapPrefix, i) }
func (v vmSpec) mac(i int) string {
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", v.macByte, i/256, i%256)
}

func (v vmSpec) taps() []string {
	taps := make([]string, v.nics)
	for i := range taps {
		taps[i] = v.tap(i)
	}
	return taps
}

// metadata is hostnet's <metadata> content for the VM.
func (v vmSpec) metadata() string {
	var b strings.Builder
	b.WriteString(`<hostnet:interfaces xmlns:hostnet="urn:hostnet:domain:1">` + "\n")
	for i := range v.nics {
		fmt.Fprintf(&b, `  <hostnet:interface mac="%s" bridge="br0" vlan="%d" src-check="%s"/>`+"\n", v.mac(i), vmVLAN, v.srcCheck)
	}
	b.WriteString(`</hostnet:interfaces>`)
	return b.String()
}

// hookXML is the live domain XML libvirtd hands the hook at start and
// stopped: ethernet NICs with their taps, and hostnet's metadata.
func (v vmSpec) hookXML() string {
	var devs strings.Builder
	for i := range v.nics {
		fmt.Fprintf(&devs, "    <interface type='ethernet'>\n      <mac address='%s'/>\n      <target dev='%s' managed='no'/>\n      <model type='virtio'/>\n      <alias name='net%d'/>\n    </interface>\n",
			v.mac(i), v.tap(i), i)
	}
	return fmt.Sprintf(`<domain type='qemu' id='7'>
  <name>%s</name>
  <uuid>%s</uuid>
  <metadata>
%s
  </metadata>
  <memory unit='KiB'>65536</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
%s  </devices>
</domain>
`, v.name, v.uuid, v.metadata(), devs.String())
}

// plugKind is who plugs a libvirt-started VM's NICs into OVS.
type plugKind int

const (
	byHostnet plugKind = iota // <interface type='ethernet'> + metadata, the hook plugs
	byLibvirt                 // <interface type='bridge'> + <virtualport type='openvswitch'/> + <vlan>
)

func (k plugKind) String() string {
	if k == byLibvirt {
		return "libvirt"
	}
	return "hostnet"
}

// libvirtXML is the persistent definition of the VM for virsh define. It
// boots nothing (no kernel, no disk, no option ROM): the firmware finds no
// boot device and idles, and `virsh start` time is what is measured.
func (v vmSpec) libvirtXML(k plugKind) string {
	var devs, meta strings.Builder
	for i := range v.nics {
		if k == byLibvirt {
			fmt.Fprintf(&devs, "    <interface type='bridge'>\n      <mac address='%s'/>\n      <source bridge='br0'/>\n      <virtualport type='openvswitch'/>\n      <vlan><tag id='%d'/></vlan>\n      <target dev='%s'/>\n      <model type='virtio'/>\n      <rom enabled='no'/>\n    </interface>\n",
				v.mac(i), vmVLAN, v.tap(i))
		} else {
			fmt.Fprintf(&devs, "    <interface type='ethernet'>\n      <mac address='%s'/>\n      <target dev='%s'/>\n      <model type='virtio'/>\n      <rom enabled='no'/>\n    </interface>\n",
				v.mac(i), v.tap(i))
		}
	}
	if k == byHostnet {
		fmt.Fprintf(&meta, "  <metadata>\n%s\n  </metadata>\n", v.metadata())
	}
	return fmt.Sprintf(`<domain type='qemu'>
  <name>%s</name>
  <uuid>%s</uuid>
%s  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
%s    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
`, v.name, v.uuid, meta.String(), devs.String())
}
