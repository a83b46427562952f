// Package tapdev answers one question about a network device of this
// network namespace: which kernel device (ifindex) carries a name now.
// libvirt reuses tap names; comparing the ifindex OVS recorded with the
// current one tells a live port from one left by a VM that is gone.
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
