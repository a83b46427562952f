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
)

// hookVariant is one hook binary run against the same VM.
type hookVariant struct {
	name     string // report.Variant*
	bin      string
	srcCheck string
	nics     map[int]bool // NIC counts it runs for; nil for all
}

// hookBench runs the hook's start and stop directly, as libvirtd would:
// `hostnet DOMAIN start begin -` with the live XML on stdin and a minimal
// environment, inside the namespace of ovs-vswitchd, on persistent taps.
type hookBench struct {
	host     *benchHost
	variants []hookVariant
	runs     int
	vms      map[int]vmSpec // by NIC count
	xmlFiles map[int]map[string]string
}

func newHookBench(s *scope.Scope, h *benchHost, variants []hookVariant, nicCounts []int, runs int) *hookBench {
	b := &hookBench{host: h, variants: variants, runs: runs, vms: map[int]vmSpec{}, xmlFiles: map[int]map[string]string{}}
	maxNICs := 0
	for _, n := range nicCounts {
		maxNICs = max(maxNICs, n)
	}
	vm := vmSpec{nics: maxNICs, tapPrefix: "bt"}
	h.addTaps(s, vm.taps())
	for _, n := range nicCounts {
		b.xmlFiles[n] = map[string]string{}
		for _, sc := range []string{"off", "mac"} {
			v := vmSpec{name: fmt.Sprintf("hook%d", n), uuid: fmt.Sprintf("b0000000-0000-4000-8000-%012d", n),
				nics: n, tapPrefix: "bt", macByte: 0xb0, srcCheck: sc}
			b.vms[n] = v
			f := filepath.Join(h.dir, fmt.Sprintf("hook%d-%s.xml", n, sc))
			if err := os.WriteFile(f, []byte(v.hookXML()), 0o644); err != nil {
				s.Fatal(err)
			}
			b.xmlFiles[n][sc] = f
		}
	}
	return b
}

// hookJob is one hook invocation.
func (b *hookBench) hookJob(v hookVariant, nics int, op, subop string) job {
	return job{
		ns:      b.host.ns,
		argv:    []string{v.bin, b.vms[nics].name, op, subop, "-"},
		env:     b.host.hookEnv(),
		stdin:   b.xmlFiles[nics][v.srcCheck],
		timeout: 60 * time.Second,
	}
}

// run measures every variant for one NIC count at the bridge's current
// size: one unmeasured, checked warm-up each, then rounds in which every
// variant runs once (start, then stop), so drift of the machine's load
// spreads evenly over the variants. Each timed run waits for an idle
// ovs-vswitchd first.
func (b *hookBench) run(s *scope.Scope, nics int) []report.HookRow {
	var vs []hookVariant
	for _, v := range b.variants {
		if v.nics == nil || v.nics[nics] {
			vs = append(vs, v)
		}
	}
	type samples struct {
		start, stop []time.Duration
		rss         []float64
	}
	got := make([]samples, len(vs))
	for _, v := range vs {
		b.once(s, v, nics)
		b.check(s, v, nics)
		b.stop(s, v, nics)
	}
	for round := 0; round < b.runs; round++ {
		if err := s.Context().Err(); err != nil {
			s.Fatalf("interrupted: %v", err)
		}
		for i, v := range vs {
			b.host.quiesce(s)
			o := b.once(s, v, nics)
			got[i].start = append(got[i].start, o.wall)
			got[i].rss = append(got[i].rss, float64(o.maxRSS)/1024)
			b.host.quiesce(s)
			got[i].stop = append(got[i].stop, b.stop(s, v, nics).wall)
		}
	}
	rows := make([]report.HookRow, len(vs))
	for i, v := range vs {
		rows[i] = report.HookRow{Ports: b.host.others, NICs: nics, Variant: v.name,
			Start: stats.Millis(got[i].start), Stop: stats.Millis(got[i].stop), RSS: stats.Of(got[i].rss)}
		s.Logf("%5d ports %2d NICs %-24s start %s ms, stop %s ms, peak RSS %s MiB", b.host.others, nics, v.name,
			rows[i].Start.Spread("%.1f"), rows[i].Stop.Spread("%.1f"), rows[i].RSS.Spread("%.1f"))
	}
	return rows
}

func (b *hookBench) once(s *scope.Scope, v hookVariant, nics int) outcome {
	j := b.hookJob(v, nics, "start", "begin")
	o, err := timedOK(j)
	if err != nil {
		s.Fatalf("hook start of %s (%s): %v", b.vms[nics].name, v.name, err)
	}
	return o
}

func (b *hookBench) stop(s *scope.Scope, v hookVariant, nics int) outcome {
	j := b.hookJob(v, nics, "stopped", "end")
	o, err := timedOK(j)
	if err != nil {
		s.Fatalf("hook stop of %s (%s): %v", b.vms[nics].name, v.name, err)
	}
	if o.stderr != "" {
		s.Fatalf("hook stop of %s (%s) printed: %s", b.vms[nics].name, v.name, o.stderr)
	}
	return o
}

// check verifies the warm-up's result with ovs-vsctl, independently of
// hostnet: every tap on br0 with the VM's tag; once applied, with an
// OpenFlow port.
func (b *hookBench) check(s *scope.Scope, v hookVariant, nics int) {
	for _, tap := range b.vms[nics].taps() {
		if br := b.host.ovs.Vsctl(s, "port-to-br", tap); br != "br0" {
			s.Fatalf("%s: after the hook's start %s is on %q, want br0", v.name, tap, br)
		}
		if tag := b.host.ovs.Vsctl(s, "get", "port", tap, "tag"); tag != strconv.Itoa(vmVLAN) {
			s.Fatalf("%s: %s has tag %s, want %d", v.name, tap, tag, vmVLAN)
		}
		if strings.HasPrefix(v.name, report.VariantCommit) {
			continue
		}
		if of := b.host.ovs.Vsctl(s, "get", "interface", tap, "ofport"); of == "[]" || strings.HasPrefix(of, "-") {
			s.Fatalf("%s: %s has no OpenFlow port after the hook (ofport %s)", v.name, tap, of)
		}
	}
}
