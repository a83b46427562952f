package main

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hostnet/hostnet/test/bench/report"
)

// machine describes where the numbers are taken.
func machine() report.Machine {
	m := report.Machine{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		Kernel:     firstLine("uname", "-r"),
		OVS:        firstLine("ovs-vswitchd", "--version"),
		Libvirt:    firstLine("libvirtd", "--version"),
		QEMU:       firstLine("qemu-system-x86_64", "--version"),
		Go:         runtime.Version(),
		Date:       time.Now().UTC(),
		LoadBefore: loadavg(),
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown (" + name + ": " + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// busyWatcher samples, every few seconds, the processes that are not the
// bench's and used CPU since the last look: on a shared machine, what else
// ran during the measurements.
type busyWatcher struct {
	self  map[int]bool
	last  map[int]int64
	seen  map[string]int64 // command -> CPU ticks used while watched
	stop  chan struct{}
	done  chan struct{}
	start time.Time
}

func watchBusy() *busyWatcher {
	w := &busyWatcher{last: map[int]int64{}, seen: map[string]int64{}, stop: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for {
			w.sample()
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// ownTree reports whether pid descends from the bench process (the bench's
// own daemons are the load it measures, not outside load). Daemons detach,
// so the bench makes itself their subreaper: they stay descendants.
func ownTree(pid, self int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		if pid == self {
			return true
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			return false
		}
		pid, _ = strconv.Atoi(f[1])
	}
	return false
}

func (w *busyWatcher) sample() {
	self := os.Getpid()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || ownTree(pid, self) {
			continue
		}
		t := cpuTicks(pid)
		if prev, ok := w.last[pid]; ok && t > prev {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			w.seen[strings.TrimSpace(string(comm))] += t - prev
		}
		w.last[pid] = t
	}
}

// report ends the watch and lists the outside processes that used more
// than 1% of one CPU over the run, busiest first.
func (w *busyWatcher) report() []string {
	close(w.stop)
	<-w.done
	total := time.Since(w.start).Seconds() * 100 // ticks of one CPU
	type use struct {
		comm string
		pct  float64
	}
	var uses []use
	for comm, ticks := range w.seen {
		if pct := float64(ticks) / total * 100; pct >= 1 {
			uses = append(uses, use{comm, pct})
		}
	}
	sort.Slice(uses, func(i, j int) bool { return uses[i].pct > uses[j].pct })
	var out []string
	for _, u := range uses {
		out = append(out, u.comm+" "+strconv.FormatFloat(u.pct, 'f', 0, 64)+"% of a CPU")
	}
	return out
}
