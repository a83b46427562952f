package harness

import (
	"syscall"
	"testing"
	"time"
)

// FreezeVswitchd stops ovs-vswitchd with SIGSTOP: a hung daemon that keeps its sockets and
// pidfile but answers nothing (OpenFlow clients wait, the database keeps working and
// cur_cfg stops moving). ThawVswitchd resumes it; the test's cleanup does too, before the
// OVS is torn down.
func (o *OVS) FreezeVswitchd(t testing.TB) {
	t.Helper()
	pid := readPidfile(o.pidfile("ovs-vswitchd"))
	if pid == 0 || !alive(pid) {
		t.Fatalf("FreezeVswitchd: ovs-vswitchd of OVS %s is not running", o.Rundir)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("FreezeVswitchd: SIGSTOP pid %d: %v", pid, err)
	}
	if !waitState(pid, func(s byte) bool { return s == 'T' }, 5*time.Second) {
		t.Fatalf("FreezeVswitchd: pid %d did not stop", pid)
	}
}

// ThawVswitchd resumes ovs-vswitchd after FreezeVswitchd.
func (o *OVS) ThawVswitchd(t testing.TB) {
	t.Helper()
	pid := readPidfile(o.pidfile("ovs-vswitchd"))
	if pid == 0 {
		t.Fatalf("ThawVswitchd: no ovs-vswitchd pidfile in %s", o.Rundir)
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatalf("ThawVswitchd: SIGCONT pid %d: %v", pid, err)
	}
	if !waitState(pid, func(s byte) bool { return s != 'T' }, 5*time.Second) {
		t.Fatalf("ThawVswitchd: pid %d did not resume", pid)
	}
}

// waitState polls until pid's state (as /proc/PID/stat shows it) satisfies want, or d has
// passed.
func waitState(pid int, want func(state byte) bool, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if s, _, _, ok := procStat(pid); ok && want(s) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
