package ovn_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// TestMigrationBindingMovesWhenVMRuns: a live migration of a VM with a VPC
// port from host a to host b, the way README.md ("VPC ports and
// migration") describes it. The VPC controller asks OVN for a multi-chassis
// binding that the VM's own announce activates (requested-chassis=a,b,
// activation-strategy=rarp); the destination's hook ops (migrate, prepare,
// start, started: libvirt runs them all before the memory copy, with the
// VM paused) plug the port there; the binding stays with a and traffic
// keeps reaching the VM on a until the VM runs on b and announces itself;
// then b's port carries the traffic, a's stop hooks unplug a, and the
// controller's final requested-chassis=b moves the binding to b. A first,
// cancelled attempt leaves the source as it was.
func TestMigrationBindingMovesWhenVMRuns(t *testing.T) {
	l := newLab(t, "a", "b")
	ha, hb := l.hosts["a"], l.hosts["b"]
	peer := ha.newVM(t, "peer", uuidC, "vnet9", "52:54:00:63:00:09", "10.77.3.9", "lsp-peer")
	src := ha.newVM(t, "mig", uuidA, "vnet0", "52:54:00:63:00:01", "10.77.3.1", "lsp-m")
	l.addSwitch(t, "ls1", peer, src)
	peer.mustHook(t, "start", "begin")
	src.mustHook(t, "start", "begin")
	l.waitChassis(t, "lsp-m", ha.name)
	harness.ExpectReach(t, peer.ns, src.ip)

	// The VPC controller, before it starts the migration.
	l.ovn.Nbctl(t, "lsp-set-options", "lsp-m", "requested-chassis="+ha.name+","+hb.name, "activation-strategy=rarp")

	// Destination: libvirt creates the tap, runs the hook ops, starts QEMU
	// paused; the guest sends nothing.
	dst := hb.newVM(t, "mig", uuidA, "vnet0", src.mac, src.ip, "lsp-m")
	dst.ns.IP(t, "link", "set", "eth0", "down")
	incoming := func() {
		for _, op := range [][2]string{{"migrate", "begin"}, {"prepare", "begin"}, {"start", "begin"}, {"started", "begin"}} {
			dst.mustHook(t, op[0], op[1])
		}
	}

	// A first attempt is cancelled: libvirt kills the paused destination
	// QEMU; its stop hooks unplug the port and the source never noticed.
	incoming()
	l.ovn.WaitBinding(t, "lsp-m", "destination as additional chassis", bindTimeout, func(b harness.PortBinding) bool {
		return slices.Equal(b.Additional, []string{hb.name})
	})
	dst.mustHook(t, "stopped", "end")
	dst.mustHook(t, "release", "end")
	b, took := l.ovn.WaitBinding(t, "lsp-m", "source alone after the cancel", bindTimeout, func(b harness.PortBinding) bool {
		return b.Chassis == ha.name && len(b.Additional) == 0 && b.Up
	})
	t.Logf("cancelled migration: destination released %v after its stop hook: %s", took, b)
	pingAll(t, peer.ns, src.ip, 5)

	// The second attempt.
	incoming()
	if got := hb.ifacesWithID(t, "lsp-m"); !slices.Equal(got, []string{"vnet0"}) {
		t.Fatalf("destination: interfaces carrying lsp-m = %q, want [vnet0] (plugged at start)", got)
	}
	b, took = l.ovn.WaitBinding(t, "lsp-m", "destination as additional chassis", bindTimeout, func(b harness.PortBinding) bool {
		return slices.Equal(b.Additional, []string{hb.name})
	})
	t.Logf("destination plugged: %s (%v after the hooks)", b, took)
	if b.Chassis != ha.name {
		t.Errorf("binding moved before the VM runs on the destination: %s", b)
	}
	if _, ok := b.Options["additional-chassis-activated"]; ok {
		t.Errorf("destination activated before the VM announced itself: %s", b)
	}
	// The source keeps its traffic while the memory is copied.
	pingAll(t, peer.ns, src.ip, 10)

	// Switchover: the source VM stops, the destination resumes. Until it
	// announces itself, OVN keeps the destination port blocked.
	src.ns.IP(t, "link", "set", "eth0", "down")
	dst.ns.IP(t, "link", "set", "eth0", "up")
	harness.ExpectNoReach(t, peer.ns, dst.ip)
	if b := l.ovn.Binding(t, "lsp-m"); b.Chassis != ha.name || b.Options["additional-chassis-activated"] != "" {
		t.Errorf("binding changed before the announce: %s", b)
	}
	start := time.Now()
	sendAnnounce(t, dst.ns, "eth0", dst.mac)
	b, took = l.ovn.WaitBinding(t, "lsp-m", "destination activated", bindTimeout, func(b harness.PortBinding) bool {
		return b.Options["additional-chassis-activated"] == hb.name
	})
	t.Logf("destination activated %v after the announce: %s", took, b)
	harness.ExpectReach(t, peer.ns, dst.ip)
	t.Logf("peer reaches the VM on the destination %v after the announce", time.Since(start))

	// Source: libvirt stops the migrated-away domain.
	src.mustHook(t, "stopped", "end")
	src.mustHook(t, "release", "end")
	if got := ha.ifacesWithID(t, "lsp-m"); len(got) != 0 {
		t.Errorf("source: interfaces still carrying lsp-m: %q", got)
	}
	t.Logf("source unplugged: %s", l.ovn.Binding(t, "lsp-m"))
	harness.ExpectReach(t, peer.ns, dst.ip)

	// The VPC controller completes the migration.
	l.ovn.Nbctl(t, "lsp-set-options", "lsp-m", "requested-chassis="+hb.name)
	b, took = l.ovn.WaitBinding(t, "lsp-m", "chassis "+hb.name+" alone", bindTimeout, func(b harness.PortBinding) bool {
		return b.Chassis == hb.name && len(b.Additional) == 0 && b.Up
	})
	t.Logf("migration completed: %s (%v)", b, took)
	pingAll(t, peer.ns, dst.ip, 5)
}

// pingAll sends n pings from ns to ip, 0.2 s apart, and fails the test
// unless every one is answered.
func pingAll(t *testing.T, ns *harness.Netns, ip string, n int) {
	t.Helper()
	out, err := ns.Run("ping", "-c", strconv.Itoa(n), "-i", "0.2", "-W", "2", ip)
	if err != nil {
		t.Fatalf("ping %s from %s: %v", ip, ns, err)
	}
	if !strings.Contains(out, " 0% packet loss") {
		t.Fatalf("ping %s from %s lost packets:\n%s", ip, ns, out)
	}
}
