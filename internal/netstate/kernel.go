package netstate

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// OVSDatapathFamily is the generic netlink family of the Open vSwitch kernel
// datapath; it exists exactly when the openvswitch module is loaded.
const OVSDatapathFamily = "ovs_datapath"

// GenlFamilyExists reports whether the kernel knows the generic netlink
// family name.
func GenlFamilyExists(h *netlink.Handle, name string) (bool, error) {
	_, err := h.GenlFamilyGet(name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	}
	return false, fmt.Errorf("look up generic netlink family %s: %w", name, err)
}
