package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hostnet/hostnet/test/bench/report"
	"github.com/hostnet/hostnet/test/bench/scope"
	"github.com/hostnet/hostnet/test/bench/stats"
	"github.com/hostnet/hostnet/test/harness"
)

// libvirtBench starts the same VM through real libvirtds in the bench
// host's namespace, where ovs-vswitchd opens the taps. The one called
// hostnet has the hook and starts the VM with <interface type='ethernet'>
// and hostnet metadata; plain has no hook and starts it with <interface
// type='bridge'>, <virtualport type='openvswitch'/> and <vlan>, so libvirt
// plugs with its own ovs-vsctl calls. Their `virsh start` and `virsh
// destroy` are timed. traced starts both kinds with tracers in place of
// ovs-vsctl and of the hook: the OVS work of each plug alone, inside real
// starts (taps just created, as on a host). Its virsh times are not used.
type libvirtBench struct {
	host                   *benchHost
	hostnet, plain, traced *harness.Libvirt
	trace                  string
	traceOff               int64
	runs                   int
	defined                map[string]bool
	calls                  []string // libvirt's ovs-vsctl calls of the first warm-up start and destroy, as traced
	callsNICs              int
}

func newLibvirtBench(s *scope.Scope, h *benchHost, hookBin string, runs int) *libvirtBench {
	b := &libvirtBench{host: h, runs: runs, defined: map[string]bool{}}
	ovsEnv := "OVS_RUNDIR=" + h.ovs.Rundir
	binds := map[string]string{"/etc/hostnet": filepath.Dir(h.conf), "/var/log/hostnet": h.logDir}
	b.hostnet = harness.StartLibvirt(s, h.ns, harness.LibvirtOptions{Hooks: map[string]string{"hostnet": hookBin}, Binds: binds})
	b.plain = harness.StartLibvirt(s, h.ns, harness.LibvirtOptions{Env: []string{ovsEnv}})
	tracers := filepath.Join(h.dir, "tracer")
	if err := os.MkdirAll(tracers, 0o755); err != nil {
		s.Fatal(err)
	}
	hookScript, err := installTracers(tracers, hookBin)
	if err != nil {
		s.Fatalf("install the tracers: %v", err)
	}
	b.trace = filepath.Join(tracers, traceFile)
	b.traced = harness.StartLibvirt(s, h.ns, harness.LibvirtOptions{
		Hooks: map[string]string{"hostnet": hookScript},
		Binds: binds,
		Env:   []string{ovsEnv, "PATH=" + tracers + ":" + os.Getenv("PATH")},
	})
	return b
}

// vm is the VM of a NIC count for one libvirtd and plug; tap prefixes keep
// their taps apart (libvirt creates and deletes them).
func (b *libvirtBench) vm(k plugKind, traced bool, nics int) vmSpec {
	prefix, mb := map[bool]string{false: "hn", true: "ht"}[traced], 0xc0
	if k == byLibvirt {
		prefix, mb = map[bool]string{false: "lp", true: "lt"}[traced], 0xe0
	}
	if traced {
		mb += 0x10
	}
	return vmSpec{
		name:      fmt.Sprintf("%s%d", prefix, nics),
		uuid:      fmt.Sprintf("%02x000000-0000-4000-8000-%012d", mb, nics),
		nics:      nics,
		tapPrefix: fmt.Sprintf("%s%d-", prefix, nics),
		macByte:   mb + nics%16,
		srcCheck:  "off",
	}
}

// virsh times one virsh command as a whole process.
func (b *libvirtBench) virsh(s *scope.Scope, lv *harness.Libvirt, args ...string) time.Duration {
	j := job{argv: append([]string{"virsh", "-q", "-c", lv.URI}, args...), env: os.Environ(), timeout: 2 * time.Minute}
	o, err := timedOK(j)
	if err != nil {
		s.Fatalf("%v", err)
	}
	return o.wall
}

// run measures one NIC count: a checked warm-up of every VM, then rounds
// that start and destroy each, every one after an idle ovs-vswitchd.
func (b *libvirtBench) run(s *scope.Scope, nics int) report.PlugRow {
	type vmOn struct {
		lv *harness.Libvirt
		vm vmSpec
	}
	hn := vmOn{b.hostnet, b.vm(byHostnet, false, nics)}
	lp := vmOn{b.plain, b.vm(byLibvirt, false, nics)}
	ht := vmOn{b.traced, b.vm(byHostnet, true, nics)}
	lt := vmOn{b.traced, b.vm(byLibvirt, true, nics)}
	for _, c := range []vmOn{hn, lp, ht, lt} {
		if b.defined[c.vm.name] {
			continue
		}
		k := byHostnet
		if c == lp || c == lt {
			k = byLibvirt
		}
		if _, err := c.lv.Define(c.vm.libvirtXML(k)); err != nil {
			s.Fatalf("define %s: %v", c.vm.name, err)
		}
		b.defined[c.vm.name] = true
	}

	// Warm-up, checked with ovs-vsctl: every tap on br0 with the VLAN tag.
	b.drainTrace(s)
	for _, c := range []vmOn{hn, lp, ht, lt} {
		b.virsh(s, c.lv, "start", c.vm.name)
		for _, tap := range c.vm.taps() {
			if tag := b.host.ovs.Vsctl(s, "get", "port", tap, "tag"); tag != strconv.Itoa(vmVLAN) {
				s.Fatalf("%s: after virsh start, port %s has tag %s, want %d", c.vm.name, tap, tag, vmVLAN)
			}
		}
		b.virsh(s, c.lv, "destroy", c.vm.name)
		if c == lt && b.calls == nil {
			b.callsNICs = nics
			for _, call := range b.drainTrace(s) {
				if call.Tool == vsctlTracer && slices.Contains(call.Args, lt.vm.tap(0)) {
					b.calls = append(b.calls, strings.Join(call.Args, " "))
				}
			}
		}
	}
	b.drainTrace(s)

	var startHN, startLV, stopHN, stopLV, ovsHN, ovsLV []time.Duration
	perStart := 0
	q := b.host.quiesce
	for round := 0; round < b.runs; round++ {
		if err := s.Context().Err(); err != nil {
			s.Fatalf("interrupted: %v", err)
		}
		q(s)
		startHN = append(startHN, b.virsh(s, hn.lv, "start", hn.vm.name))
		q(s)
		stopHN = append(stopHN, b.virsh(s, hn.lv, "destroy", hn.vm.name))
		q(s)
		startLV = append(startLV, b.virsh(s, lp.lv, "start", lp.vm.name))
		q(s)
		stopLV = append(stopLV, b.virsh(s, lp.lv, "destroy", lp.vm.name))

		// The OVS work alone: libvirt's ovs-vsctl calls during its start,
		// hostnet's `start begin` hook process during its start.
		q(s)
		b.virsh(s, lt.lv, "start", lt.vm.name)
		var lv time.Duration
		perStart = 0
		for _, c := range b.drainTrace(s) {
			if c.Tool == vsctlTracer {
				lv += c.wall()
				perStart++
			}
		}
		ovsLV = append(ovsLV, lv)
		q(s)
		b.virsh(s, lt.lv, "destroy", lt.vm.name)
		q(s)
		b.virsh(s, ht.lv, "start", ht.vm.name)
		var hook time.Duration
		for _, c := range b.drainTrace(s) {
			if c.Tool == hookTracer && len(c.Args) > 2 && c.Args[1] == "start" && c.Args[2] == "begin" {
				hook += c.wall()
			}
		}
		ovsHN = append(ovsHN, hook)
		q(s)
		b.virsh(s, ht.lv, "destroy", ht.vm.name)
		b.drainTrace(s)
	}
	row := report.PlugRow{Ports: b.host.others, NICs: nics,
		StartLibvirt: stats.Millis(startLV), StartHostnet: stats.Millis(startHN),
		DestroyLibvirt: stats.Millis(stopLV), DestroyHostnet: stats.Millis(stopHN),
		OVSLibvirt: stats.Millis(ovsLV), OVSHostnet: stats.Millis(ovsHN), CallsPerStart: perStart}
	s.Logf("%5d ports %2d NICs virsh start: libvirt %s ms, hostnet %s ms; OVS work: libvirt (%d ovs-vsctl) %s ms, hostnet hook %s ms",
		row.Ports, nics, row.StartLibvirt.Spread("%.0f"), row.StartHostnet.Spread("%.0f"), perStart,
		row.OVSLibvirt.Spread("%.1f"), row.OVSHostnet.Spread("%.1f"))
	return row
}

// drainTrace returns the calls traced since the last look; every one must
// have succeeded.
func (b *libvirtBench) drainTrace(s *scope.Scope) []tracedCall {
	calls, off, err := readCalls(b.trace, b.traceOff)
	if err != nil {
		s.Fatal(err)
	}
	b.traceOff = off
	for _, c := range calls {
		if c.Code != 0 {
			s.Fatalf("traced %s %s exited %d", c.Tool, strings.Join(c.Args, " "), c.Code)
		}
	}
	return calls
}

func (c tracedCall) wall() time.Duration { return time.Duration(c.MS * float64(time.Millisecond)) }
