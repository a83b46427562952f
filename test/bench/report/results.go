// Package report holds what make bench measured and renders it: the
// terminal table and docs/BENCHMARKS.md, with every target of DESIGN.md
// section 7 judged pass or miss. It is pure: the measuring lives in the
// bench's main package.
package report

import (
	"time"

	"github.com/hostnet/hostnet/test/bench/stats"
)

// Hook variants: which hook binary ran and what it waited for.
const (
	VariantCommit  = "commit"  // benchnowait build: exits at the OVSDB commit
	VariantApplied = "applied" // the shipped hook: ovs-vswitchd applied, ofports read, flows installed
	VariantMAC     = "applied, src-check mac"
	// BeforeSuffix marks a variant run with the hook built from the baseline
	// revision (before the engine changes): "applied, before".
	BeforeSuffix = ", before"
)

// HookRow is the hook's `start begin` (and the `stopped end` after it), run
// as a whole process by the bench as libvirtd would run it.
type HookRow struct {
	Ports, NICs int
	Variant     string
	Start, Stop stats.Summary // wall time, ms
	RSS         stats.Summary // peak resident set of start, MiB
}

// PlugRow is one NIC count side by side: the same VM started by libvirtd,
// its NICs plugged by libvirt itself or by hostnet's hook.
type PlugRow struct {
	Ports, NICs int
	// virsh start and virsh destroy, wall time, ms.
	StartLibvirt, StartHostnet     stats.Summary
	DestroyLibvirt, DestroyHostnet stats.Summary
	// The OVS work alone, ms, traced inside real starts: the sum of
	// libvirt's ovs-vsctl calls, and the hook's `start begin` process.
	OVSLibvirt, OVSHostnet stats.Summary
	CallsPerStart          int // libvirt's ovs-vsctl calls per start
}

// Hostprep is the IP move and the no-op apply.
type Hostprep struct {
	FreshApply stats.Summary // ms, whole process, fresh host
	Gap        stats.Summary // ms, longest silence between replies, one per fresh apply
	Lost       stats.Summary // lost pings per fresh apply
	Converged  stats.Summary // ms, whole process, already configured host
	// ConvergedChanged counts converged runs that did not report "no
	// changes" or that moved next_cfg (a write to OVSDB).
	ConvergedChanged int
}

// Machine is where and when the numbers were taken.
type Machine struct {
	CPU, Kernel, OVS, Libvirt, QEMU, Go string
	Cores                               int
	Date                                time.Time
	LoadBefore, LoadAfter               string   // /proc/loadavg
	Busy                                []string // other heavy processes seen during the run
	Duration                            time.Duration
}

// Results is one `make bench` run.
type Results struct {
	Machine          Machine
	Quick            bool
	Baseline         string // revision of the "before" hook, "" when not measured
	Runs             map[string]int
	LibvirtCalls     []string // libvirt's ovs-vsctl calls for the first NIC of a start and destroy, as traced
	LibvirtCallsNICs int      // the NIC count of that VM
	Hook             []HookRow
	Plug             []PlugRow
	Hostprep         *Hostprep
	Errors           []string // parts that failed; their rows are missing
}

// HookRowFor finds a hook row.
func (r *Results) HookRowFor(ports, nics int, variant string) (HookRow, bool) {
	for _, h := range r.Hook {
		if h.Ports == ports && h.NICs == nics && h.Variant == variant {
			return h, true
		}
	}
	return HookRow{}, false
}

// PlugRowFor finds a side-by-side row.
func (r *Results) PlugRowFor(ports, nics int) (PlugRow, bool) {
	for _, p := range r.Plug {
		if p.Ports == ports && p.NICs == nics {
			return p, true
		}
	}
	return PlugRow{}, false
}
