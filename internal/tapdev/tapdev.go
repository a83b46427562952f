// Package tapdev answers two questions about a network device of this
// network namespace: which kernel device (ifindex) carries a name now, and
// whether it is an Ethernet device at all. libvirt reuses tap names;
// comparing the ifindex OVS recorded with the current one tells a live
// port from one left by a VM that is gone. A VM's tap is always Ethernet.
package tapdev

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrNoDevice means no device carries the name.
var ErrNoDevice = errors.New("no such network device")

// Ifindex returns the ifindex of the device called name, with one ioctl
// (no dump of every link: hosts carry thousands of taps).
func Ifindex(name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("device %q: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("device %s: socket: %w", name, err)
	}
	defer unix.Close(fd)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return 0, fmt.Errorf("device %s: %w", name, ErrNoDevice)
		}
		return 0, fmt.Errorf("device %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

// IsEthernet reports whether the device called name is an Ethernet device
// (ARPHRD_ETHER), as every VM tap is; the loopback, a TUN (layer 3) device
// or a tunnel is not. One ioctl.
func IsEthernet(name string) (bool, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false, fmt.Errorf("device %q: %w", name, err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("device %s: socket: %w", name, err)
	}
	defer unix.Close(fd)
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return false, fmt.Errorf("device %s: %w", name, ErrNoDevice)
		}
		return false, fmt.Errorf("device %s: %w", name, err)
	}
	// The union holds ifr_hwaddr, whose sa_family is the hardware type.
	return ifr.Uint16() == unix.ARPHRD_ETHER, nil
}
