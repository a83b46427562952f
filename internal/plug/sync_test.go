package plug

import (
	"reflect"
	"testing"

	"github.com/hostnet/hostnet/internal/portspec"
)

// A domain's NICs sync together; NICs without a domain each alone.
func TestSyncGroups(t *testing.T) {
	byTap := map[string]portspec.PortSpec{}
	add := func(tap, uuid string) string {
		byTap[tap] = portspec.PortSpec{Tap: tap, DomainUUID: uuid}
		return tap
	}
	order := []string{add("vnet0", "A"), add("lo", ""), add("vnet1", "B"), add("vnet2", "A"), add("vnet3", "")}
	var got [][]string
	for _, g := range syncGroups(order, byTap) {
		var taps []string
		for _, s := range g {
			taps = append(taps, s.Tap)
		}
		got = append(got, taps)
	}
	want := [][]string{{"vnet0", "vnet2"}, {"lo"}, {"vnet1"}, {"vnet3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("groups %q, want %q", got, want)
	}
}
