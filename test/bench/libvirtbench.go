package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hostnet/hostnet/test/bench/report"
	"github.com/hostnet/hostnet/test/bench/scope"
	"github.com/hostnet/hostnet/test/bench/stats"
	"github.com/hostnet/hostnet/test/harness"
)

// libvirtBench starts the same VM through real libvirtds in the bench
// host's namespace (where ovs-vswitchd opens the taps):
//   - hostnet: <interface type='ethernet'>, the hostnet hook plugs;
//   - plain: <interface type='bridge'> + <virtualport type='openvswitch'/>
//   - <vlan>, libvirt plugs with its own ovs-vsctl calls; no hooks;
//   - traced: as plain, with the ovs-vsctl tracer first in its PATH, to
//     measure libvirt's OVS work alone. Its virsh times are not reported.
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
	b.hostnet = harness.StartLibvirt(s, h.ns, harness.LibvirtOptions{
		Hooks: map[string]string{"hostnet": hookBin},
		Binds: map[string]string{"/etc/hostnet": filepath.Dir(h.conf), "/var/log/hostnet": h.logDir},
	})
	b.plain = harness.StartLibvirt(s, h.ns, harness.LibvirtOptions{Env: []string{ovsEnv}})
	tracer := filepath.Join(h.dir, "tracer")
	if err := os.MkdirAll(tracer, 0o755); err != nil {
		s.Fatal(err)
	}
	if err := installTracer(tracer); err != nil {
		s.Fatalf("install the ovs-vsctl tracer: %v", err)
	}
	b.trace = filepath.Join(tracer, traceFile)
	b.traced = harness.StartLibvirt(s, h.ns, harness.LibvirtOptions{
		Env: []string{ovsEnv, "PATH=" + tracer + ":" + os.Getenv("PATH")},
	})
	return b
}

// vm is the VM of a NIC count for one libvirtd; tap prefixes keep their
// taps apart (libvirt creates and deletes them).
func (b *libvirtBench) vm(k plugKind, traced bool, nics int) vmSpec {
	prefix, mb := "hn", 0xc0
	switch {
	case k == byLibvirt && traced:
		prefix, mb = "lt", 0xd0
	case k == byLibvirt:
		prefix, mb = "lp", 0xe0
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

func (b *libvirtBench) define(s *scope.Scope, lv *harness.Libvirt, v vmSpec, k plugKind) {
	if b.defined[v.name] {
		return
	}
	if _, err := lv.Define(v.libvirtXML(k)); err != nil {
		s.Fatalf("define %s: %v", v.name, err)
	}
	b.defined[v.name] = true
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

// run measures one NIC count: a checked warm-up per libvirtd, then rounds
// that start and destroy the VM on each.
func (b *libvirtBench) run(s *scope.Scope, nics int) report.PlugRow {
	hn, lp, lt := b.vm(byHostnet, false, nics), b.vm(byLibvirt, false, nics), b.vm(byLibvirt, true, nics)
	b.define(s, b.hostnet, hn, byHostnet)
	b.define(s, b.plain, lp, byLibvirt)
	b.define(s, b.traced, lt, byLibvirt)

	// Warm-up, checked with ovs-vsctl: every tap on br0 with the VLAN tag.
	for _, c := range []struct {
		lv *harness.Libvirt
		vm vmSpec
	}{{b.hostnet, hn}, {b.plain, lp}, {b.traced, lt}} {
		b.virsh(s, c.lv, "start", c.vm.name)
		for _, tap := range c.vm.taps() {
			if tag := b.host.ovs.Vsctl(s, "get", "port", tap, "tag"); tag != strconv.Itoa(vmVLAN) {
				s.Fatalf("%s: after virsh start, port %s has tag %s, want %d", c.vm.name, tap, tag, vmVLAN)
			}
		}
		b.virsh(s, c.lv, "destroy", c.vm.name)
	}
	calls, off, err := readCalls(b.trace, b.traceOff)
	if err != nil {
		s.Fatal(err)
	}
	b.traceOff = off
	if b.calls == nil {
		b.callsNICs = nics
		for _, c := range calls {
			b.calls = append(b.calls, strings.Join(c.Args, " "))
		}
	}

	var startHN, startLV, stopHN, stopLV, ovsLV []time.Duration
	perStart := 0
	for round := 0; round < b.runs; round++ {
		if err := s.Context().Err(); err != nil {
			s.Fatalf("interrupted: %v", err)
		}
		q := b.host.quiesce
		q(s)
		startHN = append(startHN, b.virsh(s, b.hostnet, "start", hn.name))
		q(s)
		stopHN = append(stopHN, b.virsh(s, b.hostnet, "destroy", hn.name))
		q(s)
		startLV = append(startLV, b.virsh(s, b.plain, "start", lp.name))
		q(s)
		stopLV = append(stopLV, b.virsh(s, b.plain, "destroy", lp.name))

		q(s)
		b.virsh(s, b.traced, "start", lt.name)
		calls, off, err := readCalls(b.trace, b.traceOff)
		if err != nil {
			s.Fatal(err)
		}
		b.traceOff = off
		var sum float64
		for _, c := range calls {
			if c.Code != 0 {
				s.Fatalf("libvirt's ovs-vsctl %s exited %d", strings.Join(c.Args, " "), c.Code)
			}
			sum += c.MS
		}
		perStart = len(calls)
		ovsLV = append(ovsLV, time.Duration(sum*float64(time.Millisecond)))
		q(s)
		b.virsh(s, b.traced, "destroy", lt.name)
		if _, b.traceOff, err = readCalls(b.trace, b.traceOff); err != nil {
			s.Fatal(err)
		}
	}
	row := report.PlugRow{Ports: b.host.others, NICs: nics,
		StartLibvirt: stats.Millis(startLV), StartHostnet: stats.Millis(startHN),
		DestroyLibvirt: stats.Millis(stopLV), DestroyHostnet: stats.Millis(stopHN),
		OVSLibvirt: stats.Millis(ovsLV), CallsPerStart: perStart}
	s.Logf("%5d ports %2d NICs virsh start: libvirt %s ms, hostnet %s ms; libvirt's ovs-vsctl calls %d, %s ms",
		row.Ports, nics, row.StartLibvirt.Spread("%.0f"), row.StartHostnet.Spread("%.0f"), perStart, row.OVSLibvirt.Spread("%.1f"))
	return row
}
