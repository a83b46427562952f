package hostprep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultSysctlRoot is where the kernel's sysctls are. Under /proc/sys/net
// they are those of the network namespace of the process that opens them.
const DefaultSysctlRoot = "/proc/sys"

// Sysctl is one kernel setting and the value hostprep wants.
type Sysctl struct {
	Dev  string // the device it belongs to
	Key  string // relative to the sysctl root: net/ipv6/conf/eth0/accept_ra
	Want string
}

// noAutoconf are the settings that stop the kernel from configuring IPv6
// on dev by itself: no router advertisements, no SLAAC addresses.
func noAutoconf(dev string) []Sysctl {
	return []Sysctl{
		{Dev: dev, Key: "net/ipv6/conf/" + dev + "/accept_ra", Want: "0"},
		{Dev: dev, Key: "net/ipv6/conf/" + dev + "/autoconf", Want: "0"},
	}
}

// targetSysctls are the settings of the device carrying the host's moved
// addresses. accept_dad=0 lets it use its IPv6 link-local address as soon
// as it is up: the kernel sends neighbour solicitations (the gateway probe)
// only from a link-local address that passed duplicate address detection,
// which takes a second or two; the device has the NIC's MAC, so its
// link-local address is the NIC's, which nothing else on the link can hold.
// keep_addr_on_down=1 keeps the moved IPv6 addresses when the device goes
// down for a moment: ovs-vswitchd takes a bridge's internal port down and up
// to restore its MAC, which would otherwise delete them.
func targetSysctls(dev string) []Sysctl {
	return []Sysctl{
		{Dev: dev, Key: "net/ipv6/conf/" + dev + "/accept_dad", Want: "0"},
		{Dev: dev, Key: "net/ipv6/conf/" + dev + "/keep_addr_on_down", Want: "1"},
	}
}

// readSysctl returns a setting's value; ok is false when it does not exist
// (no such device yet, or IPv6 disabled in the kernel).
func readSysctl(root, key string) (value string, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(root, key))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read sysctl %s: %w", strings.ReplaceAll(key, "/", "."), err)
	}
	return strings.TrimSpace(string(b)), true, nil
}

func writeSysctl(root, key, value string) error {
	if err := os.WriteFile(filepath.Join(root, key), []byte(value), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s=%s: %w", strings.ReplaceAll(key, "/", "."), value, err)
	}
	return nil
}
