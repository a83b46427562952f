package hostprep

import (
	"hash/fnv"
	"net/netip"
	"slices"
)

// Wire addresses live in 169.254.1.0 - 169.254.254.255 (RFC 3927 keeps the
// first and last /24 of 169.254.0.0/16 reserved), never end in .0 or .255,
// and are never 169.254.169.254 (the cloud metadata address).
const (
	wireLow      = 1   // first usable third octet
	wireHigh     = 254 // last usable third octet
	wireHostLow  = 1   // first usable fourth octet
	wireHostHigh = 254 // last usable fourth octet
	wireSlots    = (wireHigh - wireLow + 1) * (wireHostHigh - wireHostLow + 1)
)

var metadataAddr = netip.AddrFrom4([4]byte{169, 254, 169, 254})

// WireAddrs chooses the link-local /32 of every wire bridge. It is a pure
// function of the names: each bridge starts from a slot chosen by a hash of
// its name, and bridges are placed in name order, a taken slot moving the
// later bridge to the next free one. So an address is the same on every
// run and every host with the same bridges, distinct per bridge, and adding
// a bridge moves an existing one only in the rare case that their names
// hash to the same slot and the new name sorts first.
func WireAddrs(bridges []string) map[string]netip.Prefix {
	names := slices.Clone(bridges)
	slices.Sort(names)
	names = slices.Compact(names)
	taken := map[netip.Addr]bool{metadataAddr: true}
	out := make(map[string]netip.Prefix, len(names))
	for _, name := range names {
		h := fnv.New32a()
		h.Write([]byte(name))
		slot := int(h.Sum32() % wireSlots)
		for {
			a := slotAddr(slot)
			if !taken[a] {
				taken[a] = true
				out[name] = netip.PrefixFrom(a, 32)
				break
			}
			slot = (slot + 1) % wireSlots
		}
	}
	return out
}

func slotAddr(slot int) netip.Addr {
	perRow := wireHostHigh - wireHostLow + 1
	return netip.AddrFrom4([4]byte{169, 254, byte(wireLow + slot/perRow), byte(wireHostLow + slot%perRow)})
}

var wireRange = netip.MustParsePrefix("169.254.0.0/16")

// isWireAddr reports whether p looks like an address hostprep gives a wire
// bridge (a /32 in 169.254.0.0/16).
func isWireAddr(p netip.Prefix) bool {
	return p.Bits() == 32 && wireRange.Contains(p.Addr())
}
