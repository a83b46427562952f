package pkg

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/test/harness"
)

// A commented-out setting of the example: "#key: ..." or "#  - item" (prose is "# text").
var commentedSetting = regexp.MustCompile(`^#([a-z_]+:|  - )`)

// TestExampleHostConfAsShipped: the packaged host.conf loads with hostprep's loader
// (config.Load, what `hostprep check` and the hook use) without a warning, and, everything
// being commented out, means the defaults.
func TestExampleHostConfAsShipped(t *testing.T) {
	path := filepath.Join(harness.RepoRoot(t), "packaging", "host.conf")
	cfg, warns, err := config.Load(path)
	if err != nil {
		t.Fatalf("the shipped host.conf does not load: %v", err)
	}
	if len(warns) > 0 {
		t.Errorf("the shipped host.conf gives warnings: %v", warns)
	}
	want := config.Defaults()
	want.Path = path
	if !reflect.DeepEqual(*cfg, want) {
		t.Errorf("the shipped host.conf is not the defaults:\n got %+v\nwant %+v", *cfg, want)
	}
}

// TestExampleHostConfUncommented: with every commented-out setting uncommented, the example is
// the config of DESIGN.md section 2 (plus the defaults it spells out), again without a warning,
// and it mentions every key hostnet reads.
func TestExampleHostConfUncommented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(t), "packaging", "host.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	settings := 0
	for _, line := range strings.Split(string(data), "\n") {
		if commentedSetting.MatchString(line) {
			line = line[1:]
			settings++
		}
		lines = append(lines, line)
	}
	if settings == 0 {
		t.Fatal("no commented-out settings found in the example")
	}
	cfg, warns, err := config.Parse([]byte(strings.Join(lines, "\n")), "host.conf (uncommented)")
	if err != nil {
		t.Fatalf("the example, uncommented, does not parse: %v", err)
	}
	if len(warns) > 0 {
		t.Errorf("the example, uncommented, gives warnings: %v", warns)
	}
	var nets []string
	for _, e := range cfg.Networks {
		nets = append(nets, e.Raw)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"networks", nets, []string{"eth0/br0/192.168.222.10", "eth1/brpub/wire1"}},
		{"bridge_driver", cfg.BridgeDriver, "openvswitch"},
		{"ovs_datapath_type", cfg.DatapathType, "system"},
		{"ovn_integration_bridge", cfg.OVNIntegrationBridge, "brvpc"},
		{"ovn_encap_ip", cfg.OVNEncapIP, netip.MustParseAddr("10.0.0.5")},
		{"ovn_south_database", cfg.OVNSouthDatabase, "tcp:10.0.0.2:6642"},
		{"ovn_encap_type", cfg.OVNEncapType, "geneve"},
		{"host_vlans", cfg.HostVLANs, map[string]int{"br0": 100}},
		{"ovs_rundir", cfg.OVSRundir, "/var/run/openvswitch"},
		{"ovs_timeout", cfg.OVSTimeout, 5 * time.Second},
		{"state_dir", cfg.StateDir, "/var/lib/hostnet"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
		if !strings.Contains(string(data), "\n#"+c.what+":") {
			t.Errorf("the example has no commented-out %s setting", c.what)
		}
	}
}
