package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hostnet/hostnet/test/bench/scope"
	"github.com/hostnet/hostnet/test/harness"
)

// benchHost is the simulated hypervisor: a network namespace with a private
// Open vSwitch holding br0 (userspace datapath) and the "other ports" on
// br0, plus the host.conf the hook reads.
type benchHost struct {
	ns     *harness.Netns
	ovs    *harness.OVS
	dir    string
	conf   string // host.conf
	logDir string // the hook's log directory (/var/log/hostnet in libvirtd's view)
	others int    // other ports on br0 now

	vswitchd int // pid
}

const benchConf = `# host.conf of make bench
networks: []
ovs_datapath_type: netdev
ovs_rundir: %s
ovs_timeout: 30s
`

func newBenchHost(s *scope.Scope) *benchHost {
	h := &benchHost{dir: s.TempDir()}
	h.ns = harness.NewNetns(s, "bench")
	h.ovs = harness.StartOVS(s, h.ns)
	h.ovs.AddBridge(s, "br0")
	// Before OVS stops (cleanups run last first): ovs-vswitchd closes a
	// packet socket per port, and each close waits for an RCU grace period,
	// so with thousands of ports its exit outlasts the harness's patience.
	// Deleting the bridge first lets that happen with time to spare.
	s.Cleanup(func() {
		start := time.Now()
		if err := h.vsctlLong(5*time.Minute, "--if-exists", "del-br", "br0"); err != nil {
			s.Errorf("delete br0 before stopping OVS: %v", err)
		}
		s.Logf("br0 with %d other ports deleted in %v", h.others, time.Since(start).Round(time.Millisecond))
	})
	etc := filepath.Join(h.dir, "etc-hostnet")
	h.logDir = filepath.Join(h.dir, "log-hostnet")
	for _, d := range []string{etc, h.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			s.Fatal(err)
		}
	}
	h.conf = filepath.Join(etc, "host.conf")
	if err := os.WriteFile(h.conf, []byte(fmt.Sprintf(benchConf, h.ovs.Rundir)), 0o644); err != nil {
		s.Fatal(err)
	}
	return h
}

// hookEnv is the environment the hook gets: libvirtd's minimal one, plus
// where to find host.conf and where to log (no journal here).
func (h *benchHost) hookEnv() []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNET_CONFIG=" + h.conf,
		"HOSTNET_LOG_FILE=" + filepath.Join(h.logDir, "hostnet.log"),
		"HOSTNET_JOURNAL_SOCKET=" + filepath.Join(h.dir, "no-journal"),
	}
}

// addTaps creates persistent tap devices, up, in the namespace, with one
// `ip -batch` (thousands of `ip` processes would take minutes).
func (h *benchHost) addTaps(s *scope.Scope, names []string) {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "tuntap add mode tap name %s\nlink set %s up\n", n, n)
	}
	batch := filepath.Join(h.dir, "taps.batch")
	if err := os.WriteFile(batch, []byte(b.String()), 0o644); err != nil {
		s.Fatal(err)
	}
	h.ns.IP(s, "-batch", batch)
}

// growTo adds tap ports o1..oN to br0 until it holds n other ports: the
// taps of n other VMs, which is what a busy hypervisor's bridge carries.
// One ovs-vsctl transaction adds them all; it waits until ovs-vswitchd has
// opened them, then until ovs-vswitchd is idle again.
func (h *benchHost) growTo(s *scope.Scope, n int) {
	if n <= h.others {
		return
	}
	start := time.Now()
	var names []string
	var args []string
	for i := h.others + 1; i <= n; i++ {
		name := "o" + strconv.Itoa(i)
		names = append(names, name)
		args = append(args, "--", "add-port", "br0", name)
	}
	h.addTaps(s, names)
	if err := h.vsctlLong(5*time.Minute, args...); err != nil {
		s.Fatalf("add %d other ports to br0: %v", len(names), err)
	}
	h.others = n
	got := strings.Count(h.ovs.Vsctl(s, "list-ports", "br0"), "\n") + 1
	if got < n {
		s.Fatalf("br0 has %d ports after adding %d other ports", got, n)
	}
	h.settle(s)
	s.Logf("br0 holds %d other ports (tap devices; added in %v)", n, time.Since(start).Round(time.Millisecond))
}

// vsctlLong runs ovs-vsctl for changes that take ovs-vswitchd long: the
// harness bounds its calls to seconds.
func (h *benchHost) vsctlLong(timeout time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	cmd := h.ovs.Command(ctx, append([]string{"ovs-vsctl", fmt.Sprintf("--timeout=%d", int(timeout.Seconds()))}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ovs-vsctl %s: %w: %s", strings.Join(args[:min(len(args), 6)], " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// settle waits (up to 30 s) until ovs-vswitchd uses under 5% of a CPU over
// half a second: after the bridge grew.
func (h *benchHost) settle(s *scope.Scope) {
	if !h.idle(s, 500*time.Millisecond, 2, 30*time.Second) { // 100 ticks a second: 2 in 0.5 s is 4%
		s.Logf("ovs-vswitchd still busy after 30 s; measuring anyway")
	}
}

// quiesce waits (up to 5 s) until ovs-vswitchd has been idle for 150 ms
// (at most one tick of CPU). Right after it applies a change it stays busy
// for a while, 200 ms and more with thousands of ports; every timed run
// starts after that, as a VM start on a host does not usually follow
// another change within milliseconds.
func (h *benchHost) quiesce(s *scope.Scope) {
	h.idle(s, 150*time.Millisecond, 1, 5*time.Second)
}

func (h *benchHost) idle(s *scope.Scope, window time.Duration, maxTicks int64, limit time.Duration) bool {
	if h.vswitchd == 0 {
		if h.vswitchd = pidOf(filepath.Join(h.ovs.Rundir, "ovs-vswitchd.pid")); h.vswitchd == 0 {
			s.Fatalf("ovs-vswitchd of %s: no pidfile", h.ovs.Rundir)
		}
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		a := cpuTicks(h.vswitchd)
		time.Sleep(window)
		if cpuTicks(h.vswitchd)-a <= maxTicks {
			return true
		}
	}
	return false
}

func pidOf(pidfile string) int {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// cpuTicks is a process's user+system time in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64) // field 14, utime
	k, _ := strconv.ParseInt(f[12], 10, 64) // field 15, stime
	return u + k
}
