package hostprep

import (
	"context"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/netstate"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// Observed is everything the planner looks at: the host as it is.
type Observed struct {
	Net            *netstate.Host
	OVS            *vswitch.Snapshot // nil when the config needs no Open vSwitch
	KernelDatapath bool              // the openvswitch kernel module is loaded
	Sysctls        map[string]string // key -> value, for the keys the plan may set; absent keys are missing
	Journals       map[string]*Journal
	StateDir       string // where the journals are
	BootID         string
	NM             NM
	Hostname       string

	// BridgePorts are the ports of the entries' Open vSwitch bridges that
	// exist, hostnet's VM ports left out: where hostprep looks for an
	// uplink other than the entry's NIC.
	BridgePorts map[string][]BridgePort
	// WireUsers are the VM NICs hostnet plugged through a wire.
	WireUsers []WireUser
}

// Env is how hostprep reaches the system.
type Env struct {
	Netlink    *netlink.Handle
	OVS        *vswitch.DB // nil when the config needs no Open vSwitch
	StateDir   string
	NMRunDir   string
	SysctlRoot string
}

// NeedsOVS reports whether the config touches Open vSwitch at all: always
// with the openvswitch driver (the integration bridge is created on every
// apply); with linux_bridge only for OVN.
func NeedsOVS(c *config.Config) bool {
	return c.BridgeDriver != config.DriverLinuxBridge || c.OVNEnabled()
}

// Observe reads the host.
func Observe(ctx context.Context, c *config.Config, env Env) (*Observed, error) {
	obs := &Observed{Sysctls: map[string]string{}, BootID: BootID(), StateDir: env.StateDir}
	var err error
	if obs.Net, err = netstate.Read(env.Netlink); err != nil {
		return nil, err
	}
	if obs.KernelDatapath, err = netstate.GenlFamilyExists(env.Netlink, netstate.OVSDatapathFamily); err != nil {
		return nil, err
	}
	if env.OVS != nil {
		bridges, ports := ovsNames(c)
		if obs.OVS, err = env.OVS.Observe(ctx, bridges, ports); err != nil {
			return nil, err
		}
		if c.BridgeDriver != config.DriverLinuxBridge {
			if obs.BridgePorts, obs.WireUsers, err = observePorts(ctx, c, env.OVS, obs.OVS); err != nil {
				return nil, err
			}
		}
	}
	for _, key := range sysctlKeys(c) {
		v, ok, err := readSysctl(env.SysctlRoot, key)
		if err != nil {
			return nil, err
		}
		if ok {
			obs.Sysctls[key] = v
		}
	}
	if obs.Journals, err = LoadJournals(env.StateDir); err != nil {
		return nil, err
	}
	if obs.NM, err = ObserveNM(env.NMRunDir); err != nil {
		return nil, err
	}
	if obs.Hostname, err = os.Hostname(); err != nil {
		return nil, fmt.Errorf("read the host name: %w", err)
	}
	return obs, nil
}

// ovsNames are the bridges and ports whose rows the planner needs.
func ovsNames(c *config.Config) (bridges, ports []string) {
	for _, e := range c.Networks {
		bridges = append(bridges, e.Bridge, e.NIC) // the NIC: to refuse a NIC that is itself a bridge
		ports = append(ports, e.NIC, e.Bridge)
		if v, ok := c.HostVLANs[e.Bridge]; ok {
			ports = append(ports, HostVLANPort(e.Bridge, v))
		}
	}
	bridges = append(bridges, c.OVNIntegrationBridge)
	ports = append(ports, c.OVNIntegrationBridge)
	return bridges, ports
}

// sysctlKeys are the settings the plan may want to change.
func sysctlKeys(c *config.Config) []string {
	var keys []string
	for _, e := range c.Networks {
		for _, s := range noAutoconf(e.NIC) {
			keys = append(keys, s.Key)
		}
		if e.Form() == config.FormWire {
			for _, s := range noAutoconf(e.Bridge) {
				keys = append(keys, s.Key)
			}
		} else {
			target := e.Bridge
			if v, ok := c.HostVLANs[e.Bridge]; ok {
				target = HostVLANPort(e.Bridge, v)
			}
			for _, s := range targetSysctls(target) {
				keys = append(keys, s.Key)
			}
		}
	}
	return keys
}

// HostVLANPort names the internal port that carries the host IP of bridge
// in VLAN vlan: br0-v100.
func HostVLANPort(bridge string, vlan int) string {
	return fmt.Sprintf("%s-v%d", bridge, vlan)
}
