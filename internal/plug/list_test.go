package plug

import (
	"testing"

	"github.com/hostnet/hostnet/internal/portspec"
)

// A Port's VLAN columns are compared with its spec's, trunks in any order.
func TestVLANDrift(t *testing.T) {
	access := portspec.PortVLAN{Tag: 100, Mode: "access"}
	for _, tc := range []struct {
		have, want portspec.PortVLAN
		drift      string
	}{
		{access, access, ""},
		{portspec.PortVLAN{Trunks: []int{300, 100}, Mode: "trunk"}, portspec.PortVLAN{Trunks: []int{100, 300}, Mode: "trunk"}, ""},
		{portspec.PortVLAN{Tag: 300, Mode: "access"}, access, "tag 300, want 100"},
		{portspec.PortVLAN{Mode: "trunk"}, access, `tag 0, want 100, vlan_mode "trunk", want "access"`},
		{portspec.PortVLAN{Tag: 100, Trunks: []int{5}, Mode: "native-untagged"}, access, `trunks [5], want [], vlan_mode "native-untagged", want "access"`},
	} {
		if got := vlanDrift(tc.have, tc.want); got != tc.drift {
			t.Errorf("vlanDrift(%+v, %+v) = %q, want %q", tc.have, tc.want, got, tc.drift)
		}
	}
}
