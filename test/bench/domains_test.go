package main

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestVMSpecXML(t *testing.T) {
	v := vmSpec{name: "b4", uuid: "b0000000-0000-4000-8000-000000000004", nics: 4, tapPrefix: "bt", macByte: 0xb4, srcCheck: "off"}
	for what, x := range map[string]string{
		"hook":    v.hookXML(),
		"hostnet": v.libvirtXML(byHostnet),
		"libvirt": v.libvirtXML(byLibvirt),
	} {
		var d struct {
			Name string `xml:"name"`
			NICs []struct {
				Type string `xml:"type,attr"`
				MAC  struct {
					Address string `xml:"address,attr"`
				} `xml:"mac"`
				Target struct {
					Dev string `xml:"dev,attr"`
				} `xml:"target"`
			} `xml:"devices>interface"`
		}
		if err := xml.Unmarshal([]byte(x), &d); err != nil {
			t.Fatalf("%s XML does not parse: %v\n%s", what, err, x)
		}
		if d.Name != "b4" || len(d.NICs) != 4 {
			t.Fatalf("%s: name %q, %d NICs", what, d.Name, len(d.NICs))
		}
		if d.NICs[3].MAC.Address != "52:54:00:b4:00:03" || d.NICs[3].Target.Dev != "bt3" {
			t.Errorf("%s: NIC 3 = %+v", what, d.NICs[3])
		}
		hasMeta := strings.Contains(x, `<hostnet:interface mac="52:54:00:b4:00:03" bridge="br0" vlan="100" src-check="off"/>`)
		if hasMeta == (what == "libvirt") {
			t.Errorf("%s: hostnet metadata present = %v", what, hasMeta)
		}
	}
	if x := v.libvirtXML(byLibvirt); !strings.Contains(x, "<virtualport type='openvswitch'/>") || !strings.Contains(x, "<tag id='100'/>") {
		t.Errorf("libvirt's plug lacks its virtualport or VLAN:\n%s", x)
	}
}
