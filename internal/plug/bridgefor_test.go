package plug

import (
	"errors"
	"strings"
	"testing"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/portspec"
)

// A NIC plugs into its bridge, its wire's bridge or, as a vpc-port, the
// OVN integration bridge; naming the integration bridge as a plain bridge
// is refused (no OVN binding, no source check could be kept there).
func TestBridgeFor(t *testing.T) {
	cfg, _, err := config.Parse([]byte("networks: [eth1/brpub/wire1]\novs_datapath_type: netdev\n"), "host.conf")
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{Config: cfg}
	spec := func(attrs ...string) portspec.PortSpec {
		return portspec.PortSpec{MAC: "52:54:00:00:00:01", Bridge: attrs[0], Wire: attrs[1], VPCPort: attrs[2]}
	}
	for _, tc := range []struct {
		spec portspec.PortSpec
		want string
	}{
		{spec("br0", "", ""), "br0"},
		{spec("", "wire1", ""), "brpub"},
		{spec("", "", "lsp1"), "brvpc"},
	} {
		if got, err := e.BridgeFor(tc.spec); err != nil || got != tc.want {
			t.Errorf("BridgeFor(%+v) = %q, %v; want %q", tc.spec, got, err, tc.want)
		}
	}
	_, err = e.BridgeFor(spec("brvpc", "", ""))
	if !errors.Is(err, ErrOVNBridge) || !strings.Contains(err.Error(), "bridge brvpc is the OVN integration bridge (ovn_integration_bridge), which OVN programs; plug a VPC NIC with vpc-port=") {
		t.Errorf("bridge=brvpc: %v", err)
	}
	if _, err := e.BridgeFor(spec("", "wire9", "")); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("wire9: %v, want ErrUnknownTarget", err)
	}
}
