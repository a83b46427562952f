package harness

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Zombies: the daemons the harness starts detach from their parent. Re-parented to PID 1, they
// stay zombies on machines whose PID 1 does not reap (as on the CI sandbox). So the test
// process makes itself their reaper and reaps exactly the pids it knows.

// reap collects pid's exit status if it is a child of ours (see adoptOrphans), waiting up to d:
// a multi-threaded daemon shows as a zombie before its last thread is gone, and only then can
// it be reaped. Only pids the harness knows to be its daemons are reaped: a blanket wait4(-1)
// could steal the status of a command another goroutine is about to Wait for.
func reap(pid int, d time.Duration) {
	deadline := time.Now().Add(d)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		if got == pid || err != nil || time.Now().After(deadline) { // ECHILD: not ours, or gone
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var subreaper sync.Once

// adoptOrphans makes the test process the reaper of the daemons it starts. They detach, and
// would otherwise be re-parented to PID 1, which on some CI machines never reaps them, leaving
// a zombie per daemon per test.
func adoptOrphans() {
	subreaper.Do(func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })
}

// procsInMntns lists the live processes in mount namespace ns ("mnt:[...]").
func procsInMntns(ns string) []int {
	if ns == "" {
		return nil
	}
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if got, err := os.Readlink("/proc/" + e.Name() + "/ns/mnt"); err == nil && got == ns && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// qemuZombies lists the zombies re-parented to us whose command is qemu. A short-lived qemu
// (libvirtd's capability probe on a cold cache) can live and die between two looks at the
// mount namespace, and a zombie no longer shows its namespace; the harness itself never starts
// qemu, so no goroutine of ours waits for one.
func qemuZombies(self int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil || !strings.Contains(string(b), "(qemu-system") {
			continue
		}
		if state, ppid, _, ok := procStat(pid); ok && state == 'Z' && ppid == self {
			pids = append(pids, pid)
		}
	}
	return pids
}

// startReaper reaps the processes of this libvirtd's mount namespace that die as our zombies.
// qemu is daemonised, so it is re-parented to the test process (adoptOrphans); libvirtd
// waits for a destroyed qemu to disappear, and a zombie never does, so without this
// `virsh destroy` hangs. Only pids seen alive in the namespace (with the same start time)
// are reaped, never a command another goroutine will Wait for.
func (l *Libvirt) startReaper() {
	if l.mntns == "" {
		return
	}
	l.stopReaper, l.reaperDone = make(chan struct{}), make(chan struct{})
	self := os.Getpid()
	go func() {
		defer close(l.reaperDone)
		seen := map[int]string{} // pid -> start time
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for pid, start := range seen {
				state, ppid, st, ok := procStat(pid)
				switch {
				case !ok || st != start:
					delete(seen, pid)
				case state == 'Z' && ppid == self:
					reap(pid, 0)
					if _, _, _, ok := procStat(pid); !ok {
						delete(seen, pid)
					}
				}
			}
			for _, pid := range qemuZombies(self) {
				reap(pid, 0)
			}
			for _, pid := range procsInMntns(l.mntns) {
				if _, _, st, ok := procStat(pid); ok {
					seen[pid] = st
				}
			}
			select {
			case <-l.stopReaper:
				return
			case <-tick.C:
			}
		}
	}()
}
