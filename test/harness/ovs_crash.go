package harness

import (
	"syscall"
	"testing"
	"time"
)

// KillVswitchd kills ovs-vswitchd with SIGKILL, like a crash: no cleanup, its management
// sockets stay behind unanswered. StartVswitchd starts it again.
func (o *OVS) KillVswitchd(t testing.TB) {
	t.Helper()
	pid := readPidfile(o.pidfile("ovs-vswitchd"))
	if pid == 0 || !alive(pid) {
		t.Fatalf("KillVswitchd: ovs-vswitchd of OVS %s is not running", o.Rundir)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if !waitDead(pid, 10*time.Second) {
		t.Fatalf("KillVswitchd: pid %d survived SIGKILL", pid)
	}
}
