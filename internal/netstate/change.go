package netstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoLink means a device named in a change does not exist.
var ErrNoLink = errors.New("no such network device")

// ErrRouteConflict means a route could not be added because another route
// with the same key (table, destination, metric) but other attributes is in
// the way.
var ErrRouteConflict = errors.New("a different route with the same destination and metric exists")

// Changer applies changes through one netlink handle. Every method is
// idempotent: a change already in place is not an error.
type Changer struct {
	H *netlink.Handle
}

func (c Changer) link(name string) (netlink.Link, error) {
	l, err := c.H.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("%s: %w", name, ErrNoLink)
		}
		return nil, fmt.Errorf("look up %s: %w", name, err)
	}
	return l, nil
}

func (c Changer) index(name string) (int, error) {
	l, err := c.link(name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

// Apply runs one step of a move.
func (c Changer) Apply(s Step) error {
	switch s.Kind {
	case AddAddr:
		return c.AddAddr(s.Dev, s.Addr)
	case DelAddr:
		return c.DelAddr(s.Dev, s.Addr)
	case DelRoute:
		return c.DelRoute(s.Route)
	case AddRoute:
		return c.AddRoute(s.Route)
	}
	return fmt.Errorf("unknown move step %d", int(s.Kind))
}

// AddAddr adds a to dev; an address already there is left as it is.
func (c Changer) AddAddr(dev string, a Addr) error {
	i, err := c.index(dev)
	if err != nil {
		return err
	}
	if err := c.H.AddrAdd(nil, toNetlinkAddr(a, i)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add address %s to %s: %w", a, dev, err)
	}
	return nil
}

// DelAddr removes a from dev; an address already gone is fine.
func (c Changer) DelAddr(dev string, a Addr) error {
	i, err := c.index(dev)
	if err != nil {
		return err
	}
	if err := c.H.AddrDel(nil, toNetlinkAddr(a, i)); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("remove address %s from %s: %w", a, dev, err)
	}
	return nil
}

// AddRoute adds r. When the kernel has a route with the same key, it is
// fine if that route is r itself, else ErrRouteConflict.
func (c Changer) AddRoute(r Route) error {
	nr, err := toNetlinkRoute(r, c.index)
	if err != nil {
		return fmt.Errorf("add route %s: %w", r, err)
	}
	err = c.H.RouteAdd(nr)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add route %s: %w", r, err)
	}
	host, rerr := Read(c.H)
	if rerr != nil {
		return fmt.Errorf("add route %s: %w", r, rerr)
	}
	if host.HasRoute(r) {
		return nil
	}
	return fmt.Errorf("add route %s: %w (see ip route show table %d)", r, ErrRouteConflict, r.Table)
}

// DelRoute removes r; a route already gone is fine (removing a link's last
// IPv4 address flushes its IPv4 routes).
func (c Changer) DelRoute(r Route) error {
	nr, err := toNetlinkRoute(r, c.index)
	if errors.Is(err, ErrNoLink) {
		return nil // the device went, and its routes with it
	}
	if err != nil {
		return fmt.Errorf("remove route %s: %w", r, err)
	}
	if err := c.H.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("remove route %s: %w", r, err)
	}
	return nil
}

// SetUp brings dev up.
func (c Changer) SetUp(dev string) error {
	l, err := c.link(dev)
	if err != nil {
		return err
	}
	if err := c.H.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring %s up: %w", dev, err)
	}
	return nil
}

// SetMTU sets dev's MTU.
func (c Changer) SetMTU(dev string, mtu int) error {
	l, err := c.link(dev)
	if err != nil {
		return err
	}
	if err := c.H.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set %s mtu %d: %w", dev, mtu, err)
	}
	return nil
}

// SetMAC sets dev's MAC address.
func (c Changer) SetMAC(dev, mac string) error {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return fmt.Errorf("set %s address %q: %w", dev, mac, err)
	}
	l, err := c.link(dev)
	if err != nil {
		return err
	}
	if err := c.H.LinkSetHardwareAddr(l, hw); err != nil {
		return fmt.Errorf("set %s address %s: %w", dev, mac, err)
	}
	return nil
}

// WaitLink waits until dev exists (ovs-vswitchd creates a bridge's device
// shortly after it acknowledged the bridge) or ctx ends.
func (c Changer) WaitLink(ctx context.Context, dev string) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := c.link(dev)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNoLink) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for device %s: %w", dev, ctx.Err())
		case <-tick.C:
		}
	}
}

// CreateBridge creates a Linux bridge with the given MAC and MTU (set
// explicitly, the bridge keeps them instead of following its ports).
func (c Changer) CreateBridge(name, mac string, mtu int) error {
	la := netlink.NewLinkAttrs()
	la.Name = name
	la.MTU = mtu
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			return fmt.Errorf("create bridge %s: address %q: %w", name, mac, err)
		}
		la.HardwareAddr = hw
	}
	if err := c.H.LinkAdd(&netlink.Bridge{LinkAttrs: la}); err != nil {
		return fmt.Errorf("create bridge %s: %w", name, err)
	}
	return nil
}

// SetMaster enslaves dev to master.
func (c Changer) SetMaster(dev, master string) error {
	l, err := c.link(dev)
	if err != nil {
		return err
	}
	m, err := c.link(master)
	if err != nil {
		return err
	}
	if err := c.H.LinkSetMaster(l, m); err != nil {
		return fmt.Errorf("add %s to %s: %w", dev, master, err)
	}
	return nil
}

// SetNoMaster releases dev from its master.
func (c Changer) SetNoMaster(dev string) error {
	l, err := c.link(dev)
	if err != nil {
		return err
	}
	if err := c.H.LinkSetNoMaster(l); err != nil {
		return fmt.Errorf("release %s from its master: %w", dev, err)
	}
	return nil
}

// DeleteLink deletes dev; one already gone is fine.
func (c Changer) DeleteLink(dev string) error {
	l, err := c.link(dev)
	if errors.Is(err, ErrNoLink) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.H.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", dev, err)
	}
	return nil
}
