// Command bench is `make bench`: it measures hostnet against the targets of
// DESIGN.md section 7 and against libvirt's own OVS plug, on this machine,
// in one run, prints a table and writes docs/BENCHMARKS.md.
//
// It needs root (namespaces, Open vSwitch, libvirtd), the binaries `make
// bench` builds (see -bin), and touches nothing of the machine's own
// network, OVS or libvirt: every daemon is private to the run and removed
// at its end, also after a failure or Ctrl-C.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hostnet/hostnet/test/bench/report"
	"github.com/hostnet/hostnet/test/bench/scope"
)

// plan is what one run measures.
type plan struct {
	ports        []int // other ports on br0, in growing order
	nics         []int
	hookRuns     int
	libvirtPorts map[int]bool
	libvirtNICs  []int
	libvirtRuns  int
	prepFresh    int
	prepConv     int
}

var fullPlan = plan{
	ports: []int{10, 500, 2000}, nics: []int{1, 4, 16}, hookRuns: 15,
	libvirtPorts: map[int]bool{10: true, 2000: true}, libvirtNICs: []int{1, 4, 16}, libvirtRuns: 5,
	prepFresh: 7, prepConv: 21,
}

var quickPlan = plan{
	ports: []int{10, 2000}, nics: []int{1, 4}, hookRuns: 5,
	libvirtPorts: map[int]bool{10: true, 2000: true}, libvirtNICs: []int{4}, libvirtRuns: 2,
	prepFresh: 2, prepConv: 5,
}

func main() {
	if isTracer() {
		os.Exit(trace())
	}
	os.Exit(run())
}

func run() int {
	bin := flag.String("bin", "build", "directory with hostnet, hostprep and bench/hostnet-nowait (make bench builds them)")
	baseline := flag.String("baseline-bin", "", "hook built from the baseline revision, measured as the \"before\" variants (and BIN-nowait next to it, if there)")
	baselineRev := flag.String("baseline-rev", "", "the revision -baseline-bin was built from (for the report)")
	out := flag.String("out", "docs/BENCHMARKS.md", "where to write the report")
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") != "", "smoke run: fewer sizes and runs (env BENCH_QUICK)")
	flag.Parse()
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (network namespaces, Open vSwitch, libvirtd): run `sudo make bench`")
		return 2
	}
	p := fullPlan
	if *quick {
		p = quickPlan
	}
	bins := map[string]string{
		"hook":        filepath.Join(*bin, "hostnet"),
		"hook-nowait": filepath.Join(*bin, "bench", "hostnet-nowait"),
		"hostprep":    filepath.Join(*bin, "hostprep"),
	}
	if *baseline != "" {
		bins["hook-baseline"] = *baseline
		if _, err := os.Stat(*baseline + "-nowait"); err == nil {
			bins["hook-baseline-nowait"] = *baseline + "-nowait"
		}
	}
	for what, path := range bins {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s binary %s: %v (run `make bench`, which builds it)\n", what, path, err)
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res := &report.Results{Machine: machine(), Quick: *quick, Baseline: *baselineRev, Runs: map[string]int{
		"hook start/stop per variant and size": p.hookRuns, "virsh start/destroy per libvirtd and size": p.libvirtRuns,
		"hostprep fresh apply": p.prepFresh, "hostprep configured-host apply": p.prepConv,
	}}
	busy := watchBusy()
	began := time.Now()
	err := scope.Run(ctx, "bench", os.Stderr, func(s *scope.Scope) {
		measure(s, p, bins, res)
	})
	if err != nil {
		res.Errors = append(res.Errors, err.Error())
	}
	res.Machine.Duration = time.Since(began)
	res.Machine.LoadAfter = loadavg()
	res.Machine.Busy = busy.report()

	var md bytes.Buffer
	res.Markdown(&md)
	if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench: write %s: %v\n", *out, err)
		return 1
	}
	fmt.Println()
	res.Table(os.Stdout)
	fmt.Printf("\nwritten: %s\n", *out)
	if len(res.Errors) > 0 {
		return 1
	}
	return 0
}

// measure runs the three parts. A part that fails is recorded and the
// others go on: a libvirt problem does not cost the hook's numbers.
func measure(s *scope.Scope, p plan, bins map[string]string, res *report.Results) {
	variants := []hookVariant{
		{name: report.VariantCommit, bin: bins["hook-nowait"], srcCheck: "off"},
		{name: report.VariantApplied, bin: bins["hook"], srcCheck: "off"},
		{name: report.VariantMAC, bin: bins["hook"], srcCheck: "mac", nics: map[int]bool{4: true}},
	}
	four := map[int]bool{4: true}
	if b := bins["hook-baseline-nowait"]; b != "" {
		variants = append(variants, hookVariant{name: report.VariantCommit + report.BeforeSuffix, bin: b, srcCheck: "off", nics: four})
	}
	if b := bins["hook-baseline"]; b != "" {
		variants = append(variants,
			hookVariant{name: report.VariantApplied + report.BeforeSuffix, bin: b, srcCheck: "off", nics: four},
			hookVariant{name: report.VariantMAC + report.BeforeSuffix, bin: b, srcCheck: "mac", nics: four})
	}
	fail := func(err error) {
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
		}
	}

	fail(s.Sub("ovs", func(s *scope.Scope) {
		h := newBenchHost(s)
		hb := newHookBench(s, h, variants, p.nics, p.hookRuns)
		var lb *libvirtBench
		fail(s.Try("libvirt-start", func(c *scope.Scope) { lb = newLibvirtBench(c, h, bins["hook"], p.libvirtRuns) }))
		for _, ports := range p.ports {
			h.growTo(s, ports)
			for _, n := range p.nics {
				res.Hook = append(res.Hook, hb.run(s, n)...)
			}
			if lb == nil || !p.libvirtPorts[ports] {
				continue
			}
			for _, n := range p.libvirtNICs {
				fail(s.Sub(fmt.Sprintf("libvirt-%d-%d", ports, n), func(c *scope.Scope) {
					res.Plug = append(res.Plug, lb.run(c, n))
				}))
			}
		}
		if lb != nil {
			res.LibvirtCalls, res.LibvirtCallsNICs = lb.calls, lb.callsNICs
		}
	}))
	fail(s.Sub("hostprep", func(s *scope.Scope) {
		res.Hostprep = hostprepBench(s, bins["hostprep"], p.prepFresh, p.prepConv)
	}))
}
