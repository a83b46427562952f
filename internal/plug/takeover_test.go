package plug

import (
	"errors"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/ovsdb"
	"github.com/hostnet/hostnet/internal/portspec"
)

// A start may replace a tap's stale rows, and a repair may fix its own
// domain's rows, never the live port of another domain: rows plugged for
// the device that carries the name now.
func TestCheckTakeover(t *testing.T) {
	const vm1, evil = "aaaaaaaa-0000-4000-8000-000000000001", "eeeeeeee-0000-4000-8000-00000000000e"
	row := func(domainUUID, ifindex string) observed {
		ext := map[string]string{KeyOwner: OwnerVM, KeyDomainUUID: domainUUID, KeyDomainName: "vm1"}
		iext := map[string]string{KeyOwner: OwnerVM, KeyDomainUUID: domainUUID}
		if ifindex != "" {
			iext[KeyIfindex] = ifindex
		}
		return observed{port: "p", portIfaces: []ovsdb.UUID{"i"}, iface: "i", portExt: ext, ifaceExt: iext, bridge: "br0"}
	}
	nic := func(domainUUID string, ifindex int) target {
		return target{spec: portspec.PortSpec{Tap: "vnet0", MAC: "52:54:00:00:00:09", Bridge: "br0", DomainUUID: domainUUID}, bridge: "br0", ifindex: ifindex}
	}
	cases := []struct {
		name    string
		t       target
		obs     observed
		mode    Mode
		refused bool
	}{
		{"live port of another domain", nic(evil, 7), row(vm1, "7"), Fresh, true},
		{"live port, a CLI port without domain", nic(evil, 7), row("", "7"), Fresh, true},
		{"the tap was re-created: a stale row", nic(evil, 8), row(vm1, "7"), Fresh, false},
		{"the same domain", nic(vm1, 7), row(vm1, "7"), Fresh, false},
		{"no ifindex recorded: cannot prove it live", nic(evil, 7), row(vm1, ""), Fresh, false},
		{"no device yet (prepare)", nic(evil, 0), row(vm1, "7"), Fresh, false},
		{"no rows", nic(evil, 7), observed{}, Fresh, false},
		{"repair of another domain's live port", nic(evil, 7), row(vm1, "7"), Repair, true},
		{"repair without a domain of a domain's port", nic("", 7), row(vm1, "7"), Repair, true},
		{"repair, no ifindex recorded: rows fixed in place", nic(evil, 7), row(vm1, ""), Repair, true},
		{"repair of its own port", nic(vm1, 7), row(vm1, "7"), Repair, false},
		{"repair adopts a port plugged without a domain", nic(evil, 7), row("", "7"), Repair, false},
		{"repair of a re-created tap: a stale row", nic(evil, 8), row(vm1, "7"), Repair, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkTakeover([]target{tc.t}, state{taps: map[string]observed{"vnet0": tc.obs}}, tc.mode)
			if !tc.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTapInUse) {
				t.Fatalf("error %v, want ErrTapInUse", err)
			}
			frags := []string{"interface 52:54:00:00:00:09 (vnet0): tap vnet0 is the port of another running domain", "another <target dev>", "hostnet-plug del --tap vnet0"}
			if tc.mode == Repair {
				frags = append(frags, "hostnet-plug add --vm-uuid "+vm1)
			}
			for _, frag := range frags {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("error %q lacks %q", err, frag)
				}
			}
		})
	}
}
