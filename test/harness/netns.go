package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// RequireRoot fails the test when it does not run as root. These tests never skip: CI runs them
// as root, and a silent skip would hide that nothing was tested.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("%s needs root (network namespaces, Open vSwitch, libvirtd): run `sudo go test ./test/...`; these tests never skip", t.Name())
	}
}

// Netns is a named network namespace (ip netns). The zero Name means the root namespace: only
// use it with names that cannot clash with the machine's own interfaces.
type Netns struct {
	Name string
	ids  atomic.Int32 // for generated interface names in this namespace
}

// uniqueName returns "hn" + 6 random hex digits + "-" + role.
func uniqueName(role string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "hn" + hex.EncodeToString(b) + "-" + role
}

// NewNetns creates a namespace named after role, with lo up. Teardown kills every process
// still in it and deletes it.
func NewNetns(t testing.TB, role string) *Netns {
	t.Helper()
	adoptOrphans()
	n := &Netns{Name: uniqueName(role)}
	mustRun(t, "ip", "netns", "add", n.Name)
	t.Cleanup(func() { n.destroy(t) })
	n.IP(t, "link", "set", "lo", "up")
	return n
}

// RootNetns is the machine's own namespace, for the rare end-to-end test that must run there.
func RootNetns() *Netns { return &Netns{} }

func (n *Netns) String() string {
	if n.Name == "" {
		return "root namespace"
	}
	return "netns " + n.Name
}

// Path is the namespace's bind mount, for netns.GetFromPath and netlink handles.
func (n *Netns) Path() string {
	if n.Name == "" {
		return "/proc/1/ns/net"
	}
	return "/run/netns/" + n.Name
}

// nextIfname returns a fresh interface name (prefix + counter) unique in this namespace. In the
// root namespace, which other tests and the machine share, it adds random hex digits.
func (n *Netns) nextIfname(prefix string) string {
	if n.Name == "" {
		b := make([]byte, 3)
		_, _ = rand.Read(b)
		prefix += hex.EncodeToString(b)
	}
	return prefix + strconv.Itoa(int(n.ids.Add(1)))
}

func (n *Netns) destroy(t testing.TB) {
	t.Helper()
	out, _ := runArgs("ip", "netns", "pids", n.Name)
	var pids []int
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	for _, pid := range pids {
		if !waitDead(pid, 5*time.Second) {
			t.Errorf("teardown of %s: pid %d still alive after SIGKILL", n, pid)
		}
	}
	if _, err := runArgs("ip", "netns", "del", n.Name); err != nil {
		t.Errorf("teardown of %s: %v", n, err)
	}
}

// Command returns a command running args in the namespace (ip netns exec), bound by ctx.
func (n *Netns) Command(ctx context.Context, args ...string) *exec.Cmd {
	if n.Name == "" {
		return exec.CommandContext(ctx, args[0], args[1:]...)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name}, args...)...)
}

// Run runs args in the namespace and returns the combined output; the error names the
// command, the namespace and the output.
func (n *Netns) Run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return run(n.Command(ctx, args...))
}

// Exec runs args in the namespace and fails the test on error.
func (n *Netns) Exec(t testing.TB, args ...string) string {
	t.Helper()
	out, err := n.Run(args...)
	if err != nil {
		t.Fatalf("in %s: %v", n, err)
	}
	return out
}

// IP runs `ip -n NAME args...` (cheaper than ip netns exec) and fails the test on error.
func (n *Netns) IP(t testing.TB, args ...string) string {
	t.Helper()
	if n.Name != "" {
		args = append([]string{"-n", n.Name}, args...)
	}
	return mustRun(t, "ip", args...)
}

// AddAddr adds cidr (IPv4 or IPv6; IPv6 without duplicate address detection, so it is usable
// at once) to dev.
func (n *Netns) AddAddr(t testing.TB, dev, cidr string) {
	t.Helper()
	args := []string{"addr", "add", cidr, "dev", dev}
	if strings.Contains(cidr, ":") {
		args = append([]string{"-6"}, append(args, "nodad")...)
	}
	n.IP(t, args...)
}

// Do runs fn with the calling goroutine's OS thread switched into the namespace. The thread is
// locked for the duration and switched back afterwards; if switching back fails the thread
// stays locked, so Go destroys it when the goroutine ends instead of reusing a thread in the
// wrong namespace. Goroutines started by fn do NOT run in the namespace.
func (n *Netns) Do(fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current netns: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(n.Path())
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open %s: %w", n, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter %s: %w", n, err)
	}
	fnErr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: it dies with this goroutine.
		return fmt.Errorf("return from %s (thread discarded): %w", n, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}

// Veth creates a veth pair with end aName in a and bName in b, both up. Interface names only
// need to be unique within their own namespace. Ends in test namespaces die with them; an end
// in the root namespace is deleted at teardown.
func Veth(t testing.TB, a *Netns, aName string, b *Netns, bName string) {
	t.Helper()
	args := []string{"link", "add", aName, "type", "veth", "peer", "name", bName}
	if b.Name != "" {
		args = append(args, "netns", b.Name)
	}
	a.IP(t, args...)
	for _, end := range []struct {
		ns  *Netns
		dev string
	}{{a, aName}, {b, bName}} {
		if end.ns.Name == "" {
			dev := end.dev
			t.Cleanup(func() { _, _ = runArgs("ip", "link", "del", dev) })
		}
	}
	a.IP(t, "link", "set", aName, "up")
	b.IP(t, "link", "set", bName, "up")
}
