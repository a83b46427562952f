package harness

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RestartLibvirtd stops libvirtd (SIGTERM, what `systemctl restart libvirtd` sends) and starts
// it again in the same network and mount namespaces, like a package upgrade. Running domains
// keep running: the new libvirtd reconnects to them, and their hooks see `reconnect begin`.
// It returns once the new libvirtd answers; the reconnect hooks may still be running.
func (l *Libvirt) RestartLibvirtd(t testing.TB) {
	t.Helper()
	l.StopLibvirtd(t)
	l.StartLibvirtd(t)
}

// StopLibvirtd stops libvirtd alone: virtlogd and the domains' qemu keep running, and so does
// the private mount namespace.
func (l *Libvirt) StopLibvirtd(t testing.TB) {
	t.Helper()
	if err := stopPid(readPidfile(l.pidfile("libvirtd")), 10*time.Second); err != nil {
		t.Fatalf("stop libvirtd: %v", err)
	}
}

// StartLibvirtd starts libvirtd again after StopLibvirtd and waits until it answers.
func (l *Libvirt) StartLibvirtd(t testing.TB) {
	t.Helper()
	// Re-enter the mount namespace through virtlogd, which outlives libvirtd: it holds the
	// private /run/libvirt, /etc/libvirt, ... and the /sys of the network namespace.
	logd := readPidfile(l.pidfile("virtlogd"))
	if logd == 0 || !alive(logd) {
		t.Fatalf("StartLibvirtd: virtlogd of %s is not running; its mount namespace is gone", l.Dir)
	}
	args := []string{"nsenter", "--mount=/proc/" + strconv.Itoa(logd) + "/ns/mnt"}
	if l.NS.Name != "" {
		args = append(args, "--net="+l.NS.Path())
	}
	args = append(args, "--", "libvirtd", "-d", "-p", l.pidfile("libvirtd"))
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if _, err := run(RootNetns().Command(ctx, args...)); err != nil {
		t.Fatalf("start libvirtd again: %v\n%s", err, tail(filepath.Join(l.Dir, "log", "libvirtd.log"), 30))
	}
	l.waitReady(t)
}

// DomainPid returns the pid of a running domain's qemu, from libvirt's pidfile, or fails the
// test. A VM that was killed and started again has another pid.
func (l *Libvirt) DomainPid(t testing.TB, name string) int {
	t.Helper()
	path := filepath.Join(l.Dir, "run", "qemu", name+".pid")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("domain %s has no qemu pidfile: %v", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(pid) {
		t.Fatalf("domain %s: qemu pid %q from %s is not running", name, b, path)
	}
	return pid
}

// StatusDir is where this libvirtd keeps the status files of running domains (what
// /run/libvirt/qemu is to a host's libvirtd), for `hostnet-plug sync --libvirt-state`.
func (l *Libvirt) StatusDir() string { return filepath.Join(l.Dir, "run", "qemu") }
