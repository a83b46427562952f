package flows

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/digitalocean/go-openvswitch/ovs"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/plug"
)

// OFTable installs flows with one `ovs-ofctl --bundle` per bridge: every
// NIC's old flows are deleted by cookie and its new ones added in one
// OpenFlow bundle, which the switch applies atomically or not at all.
type OFTable struct {
	// Rundir holds the bridges' management sockets (BRIDGE.mgmt).
	Rundir string
	// Timeout bounds each ovs-ofctl run.
	Timeout time.Duration
}

// ForConfig returns the flow table of a host.
func ForConfig(cfg *config.Config) plug.FlowTable {
	return &OFTable{Rundir: cfg.OVSRundir, Timeout: cfg.OVSTimeout}
}

var _ plug.FlowTable = (*OFTable)(nil)

// Replace makes the flows of each NIC exactly what its spec asks for,
// after removing those of the retired owners, in one bundle.
func (t *OFTable) Replace(ctx context.Context, bridge string, nics []plug.FlowNIC, retired []plug.FlowOwner) error {
	return t.bundle(ctx, bridge, func(tx *ovs.FlowTransaction) error {
		if err := deleteOwners(tx, retired); err != nil {
			return err
		}
		for _, n := range nics {
			cookie, err := Cookie(n.Spec.MAC)
			if err != nil {
				return err
			}
			rules, err := Rules(n.Spec, int(n.OFPort))
			if err != nil {
				return err
			}
			tx.Delete(byCookie(cookie))
			tx.Add(rules...)
		}
		return tx.Commit()
	})
}

// Remove deletes the flows of the NICs with these MACs.
func (t *OFTable) Remove(ctx context.Context, bridge string, macs []string) error {
	return t.bundle(ctx, bridge, func(tx *ovs.FlowTransaction) error {
		for _, mac := range macs {
			cookie, err := Cookie(mac)
			if err != nil {
				return err
			}
			tx.Delete(byCookie(cookie))
		}
		return tx.Commit()
	})
}

// RemoveOwners deletes the flows of these owners (a MAC's flows that
// match one OpenFlow port), in one bundle.
func (t *OFTable) RemoveOwners(ctx context.Context, bridge string, owners []plug.FlowOwner) error {
	return t.bundle(ctx, bridge, func(tx *ovs.FlowTransaction) error {
		if err := deleteOwners(tx, owners); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// deleteOwners adds to tx the deletion of each owner's flows: by its
// cookie and in_port, so another port's flows with that MAC (two NICs of
// one MAC plugged before hostnet refused that) stay.
func deleteOwners(tx *ovs.FlowTransaction, owners []plug.FlowOwner) error {
	for _, o := range owners {
		cookie, err := Cookie(o.MAC)
		if err != nil {
			return err
		}
		m := byCookie(cookie)
		m.InPort = int(o.OFPort)
		tx.Delete(m)
	}
	return nil
}

// byCookie matches every flow with exactly this cookie, in any table.
func byCookie(cookie uint64) *ovs.MatchFlow {
	return &ovs.MatchFlow{Cookie: cookie, CookieMask: ^uint64(0), Table: ovs.AnyTable}
}

func (t *OFTable) bundle(ctx context.Context, bridge string, fn func(*ovs.FlowTransaction) error) error {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	client := ovs.New(
		ovs.Protocols([]string{ovs.ProtocolOpenFlow14}),
		ovs.Pipe(func(stdin io.Reader, cmd string, args ...string) ([]byte, error) {
			// The flows name ports by number. Without --no-names ovs-ofctl
			// first fetches every port's description to resolve names: at
			// 2,000 ports on the bridge that alone took 200 ms.
			return run(ctx, stdin, cmd, append([]string{"--no-names"}, args...)...)
		}),
	)
	// Address the bridge by its management socket, so ovs-ofctl needs no
	// OVS_RUNDIR (libvirtd runs the hook with a minimal environment).
	target := "unix:" + filepath.Join(t.Rundir, bridge+".mgmt")
	if err := client.OpenFlow.AddFlowBundle(target, fn); err != nil {
		return fmt.Errorf("flow bundle on bridge %s: %w", bridge, err)
	}
	return nil
}

// run runs an OVS tool with stdin, bounded by ctx; its output is captured,
// never inherited, so no child keeps the hook's stdout or stderr open.
func run(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// cookieRE and inPortRE find the cookie and the in_port of each line of
// `ovs-ofctl --no-names dump-flows`.
var (
	cookieRE = regexp.MustCompile(`cookie=0x([0-9a-f]+)`)
	inPortRE = regexp.MustCompile(`in_port=(\d+|LOCAL)\b`)
)

// FlowOwner is the NIC a hostnet flow belongs to.
type FlowOwner = plug.FlowOwner

// Owners counts hostnet's flows on bridge by owner (CountByOwner).
func (t *OFTable) Owners(ctx context.Context, bridge string) (map[plug.FlowOwner]int, error) {
	return t.CountByOwner(ctx, bridge)
}

// CountByOwner counts the hostnet flows on bridge per MAC and OpenFlow
// port, from one `ovs-ofctl dump-flows` filtered by hostnet's cookie tag.
// Counting by port as well keeps a port from being credited with flows
// that match another one (left behind, or of another port with its MAC).
func (t *OFTable) CountByOwner(ctx context.Context, bridge string) (map[FlowOwner]int, error) {
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	target := "unix:" + filepath.Join(t.Rundir, bridge+".mgmt")
	out, err := run(ctx, nil, "ovs-ofctl", "--no-names", "dump-flows", target, fmt.Sprintf("cookie=%#x/%#x", cookieTag, cookieTagMask))
	if err != nil {
		return nil, fmt.Errorf("dump flows of bridge %s: %w", bridge, err)
	}
	return countByOwner(string(out)), nil
}

// countByOwner parses what CountByOwner dumped.
func countByOwner(dump string) map[FlowOwner]int {
	counts := map[FlowOwner]int{}
	for _, line := range strings.Split(dump, "\n") {
		m := cookieRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil || v&cookieTagMask != cookieTag {
			continue
		}
		owner := FlowOwner{MAC: macOfCookie(v)}
		switch p := inPortRE.FindStringSubmatch(line); {
		case p == nil:
		case p[1] == "LOCAL":
			owner.OFPort = ovs.PortLOCAL
		default:
			owner.OFPort, _ = strconv.ParseInt(p[1], 10, 64)
		}
		counts[owner]++
	}
	return counts
}
