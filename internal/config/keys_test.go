package config

import "testing"

func TestKeyLists(t *testing.T) {
	for _, k := range hostnetKeys {
		if _, ok := cloudpodsKeys[k]; ok {
			t.Errorf("%s is both a hostnet key and an ignored Cloudpods key", k)
		}
		if _, ok := decoders[k]; !ok {
			t.Errorf("hostnet key %s has no decoder", k)
		}
	}
	if len(decoders) != len(hostnetKeys) {
		t.Errorf("%d decoders for %d keys", len(decoders), len(hostnetKeys))
	}
	for k := range cloudpodsKeys {
		if displayKey(k) != k || normalizeKey(k) != k {
			t.Errorf("Cloudpods key %q is not a plain snake_case name", k)
		}
	}
}

func TestKeyDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		d    int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"networks", "networks", 0},
		{"netwroks", "networks", 1}, // transposition
		{"ovn_intergration_bridge", "ovn_integration_bridge", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3}, // OSA, not full Damerau
	} {
		if got := keyDistance(tt.a, tt.b); got != tt.d {
			t.Errorf("keyDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.d)
		}
	}
}

func TestSuggestKey(t *testing.T) {
	for _, tt := range []struct{ key, want string }{
		{"netwroks", "networks"},
		{"NETWORKS", "networks"},
		{"host-vlans", "host_vlans"},
		{"hostvlans", "host_vlans"},
		{"ovn_encap_tpye", "ovn_encap_type"},
		{"ovs_datapath", "ovs_datapath_type"},  // 5 edits away, but a prefix
		{"datapath_type", "ovs_datapath_type"}, // a suffix
		{"ovn_encap", ""},                      // part of two keys: ambiguous
		{"my_networks_list", "networks"},
		{"statedir", "state_dir"},
		{"brige_driver", "bridge_driver"},
		{"zzz", ""},
		{"x", ""},
		{string(make([]byte, 100)), ""},
	} {
		for range 5 { // Cloudpods keys live in a map: the answer must not depend on its order
			if got := suggestKey(tt.key); got != tt.want {
				t.Errorf("suggestKey(%q) = %q, want %q", tt.key, got, tt.want)
				break
			}
		}
	}
}
