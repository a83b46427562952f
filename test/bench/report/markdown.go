package report

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Markdown writes docs/BENCHMARKS.md.
func (r *Results) Markdown(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	m := r.Machine
	p("# Benchmarks\n\n")
	p("Written by `make bench` (test/bench) on %s UTC", m.Date.Format("2006-01-02 15:04"))
	if r.Quick {
		p(", a **quick run** (BENCH_QUICK=1: fewer sizes and runs; a smoke test, not a measurement)")
	}
	p(". Do not edit: run `sudo make bench` again.\n\n")

	p("## Targets (DESIGN.md section 7)\n\n| what | target | measured | verdict |\n|---|---|---|---|\n")
	for _, t := range r.Targets() {
		p("| %s | %s | %s | **%s** |\n", t.What, t.Want, t.Measured, t.Verdict)
	}
	if len(r.Errors) > 0 {
		p("\nParts of this run failed, their rows are missing:\n\n")
		for _, e := range r.Errors {
			p("- %s\n", oneLine(e))
		}
	}

	p("\n## Machine and load\n\n")
	p("- CPU: %s, %d cores; kernel %s\n", m.CPU, m.Cores, m.Kernel)
	p("- %s; %s; %s; %s\n", m.OVS, m.Libvirt, m.QEMU, m.Go)
	p("- load average (1, 5, 15 min) before: %s, after: %s; the run took %s\n", m.LoadBefore, m.LoadAfter, m.Duration.Round(1e9))
	if len(m.Busy) > 0 {
		p("- other processes busy during the run (not the bench's own daemons): %s\n", strings.Join(m.Busy, ", "))
	} else {
		p("- no other process used more than 1%% of a CPU during the run\n")
	}

	r.method(w)
	r.hookSection(w)
	r.plugSection(w)
	r.hostprepSection(w)
	r.beforeAfterSection(w)
	r.waitSection(w)
}

func (r *Results) method(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n## Method\n\n")
	p("Everything is real and private to the run: a network namespace with its own `ovsdb-server` and `ovs-vswitchd` " +
		"(userspace datapath, `datapath_type=netdev`: no kernel module here), bridge `br0`, real libvirtds and qemu (TCG) in the same namespace.\n\n")
	p("- **Other ports**: persistent tap devices (`ip tuntap add`, up, no reader), added to `br0` as ordinary system ports, " +
		"which is what the taps of other VMs are on a hypervisor. ovs-vswitchd opens, polls and reconfigures real devices, so its cost grows as it would with VMs. " +
		"(Internal ports on the userspace datapath are tap devices as well; ports of absent devices would be cheaper to create, but ovs-vswitchd retries opening every one of them on each reconfiguration.) " +
		"The bridge grows from 10 to 500 to 2,000 of them during the run.\n")
	p("- **The VM**: 1, 4 or 16 NICs, each an access port of VLAN %d on `br0`, `src-check=\"off\"` (libvirt's plug installs no filter either); "+
		"the `src-check mac` rows add hostnet's default MAC source check (OpenFlow flows).\n", 100)
	p("- **Hook runs**: the hook binary built as shipped (`make build`), run the way libvirtd runs it: `hostnet DOMAIN start begin -` with the live domain XML on stdin, " +
		"libvirtd's minimal environment, forked from a thread inside the namespace; then `stopped end`. Times are whole process, fork to `wait4`; " +
		"memory is `wait4`'s peak resident set. `commit` is the same code built with the tag `benchnowait` (used only here): it exits right after the OVSDB commit, " +
		"without waiting for ovs-vswitchd. `applied` is the shipped hook: it waits until ovs-vswitchd has applied the transaction, reads the OpenFlow ports and installs flows. " +
		"Each variant gets an unmeasured warm-up (its result checked with `ovs-vsctl`), then the variants run in turn, round after round, so load drifts hit all alike.\n")
	p("- **Idle ovs-vswitchd before every timed run** (hook or virsh): the bench waits until it has used no more than one tick of CPU in 150 ms. " +
		"Right after applying a change it stays busy for 200 ms and more at 2,000 ports (it re-reads every interface, e.g. `getifaddrs`), " +
		"and a run started then would measure the previous run's aftermath; on a host, VM starts do not follow each other within milliseconds.\n")
	p("- **Side by side**: three libvirtds in the namespace. One has the hostnet hook and starts the VM with `<interface type='ethernet'>` and hostnet metadata; " +
		"one has no hook and starts the same VM with `<interface type='bridge'>`, `<virtualport type='openvswitch'/>` and `<vlan>`, so libvirt plugs the NICs with its own `ovs-vsctl` calls; " +
		"`virsh start` and `virsh destroy` of these two are timed. The VM boots nothing (no kernel, no disk, no option ROM): `virsh start` returns once qemu runs. " +
		"A third libvirtd starts both kinds of VM with tracers (copies of the bench binary) in place of `ovs-vsctl` (first in its PATH) and of the hook (its hook file execs the tracer), " +
		"which time each real `ovs-vsctl` and hook process: the OVS work of each plug alone, inside real starts, with the taps just created as on a host. " +
		"For libvirt that is the sum of its `ovs-vsctl` calls during the start, for hostnet the hook's `start begin` process.\n")
	if len(r.LibvirtCalls) > 0 {
		p("- libvirt's OVS calls for the first NIC of a %d-NIC VM at start and at destroy, as traced (each NIC gets its own):\n", r.LibvirtCallsNICs)
		for _, c := range r.LibvirtCalls {
			p("  `ovs-vsctl %s`\n", c)
		}
	}
	p("- **hostprep**: a fresh host per run (namespace, private OVS, `eth0` carrying %s/24 and the default route, cabled to a gateway namespace); "+
		"the gateway runs `ping -D -i 0.01` at the host IP while `hostprep apply` builds `br0` and moves the IP; the gap is the longest time between two replies. "+
		"Then `apply` again on the configured host, checked for \"no changes\" and an unchanged `next_cfg` (any OVSDB write bumps it).\n", "192.168.222.10")
	p("- **Statistics**: median, and p10–p90 by nearest rank (values that were measured), n runs. Runs: %s.\n", runsText(r.Runs))
}

func runsText(runs map[string]int) string {
	keys := make([]string, 0, len(runs))
	for k := range runs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, runs[k])
	}
	return strings.Join(parts, ", ")
}

func (r *Results) hookSection(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n## 1. Hook `start`: whole process, ms\n\n")
	variants := r.hookVariants(false)
	p("| other ports | NICs |")
	for _, v := range variants {
		p(" %s |", v)
	}
	p(" `stopped end` (applied) | peak RSS, MiB |\n|---|---|")
	for range variants {
		p("---|")
	}
	p("---|---|\n")
	for _, k := range r.hookSizes() {
		p("| %s | %d |", thousands(k[0]), k[1])
		for _, v := range variants {
			h, ok := r.HookRowFor(k[0], k[1], v)
			p(" %s |", cell(ok, h.Start.Spread("%.1f")))
		}
		h, ok := r.HookRowFor(k[0], k[1], VariantApplied)
		p(" %s | %s |\n", cell(ok, h.Stop.Spread("%.1f")), cell(ok, fmt.Sprintf("%.1f (max %.1f)", h.RSS.Median, h.RSS.Max)))
	}
}

// hookVariants lists the variants measured, commit and applied first;
// before-variants only when before is set.
func (r *Results) hookVariants(before bool) []string {
	order := map[string]int{VariantCommit: 0, VariantApplied: 1, VariantMAC: 2}
	seen := map[string]bool{}
	var vs []string
	for _, h := range r.Hook {
		if !seen[h.Variant] && strings.HasSuffix(h.Variant, BeforeSuffix) == before {
			seen[h.Variant] = true
			vs = append(vs, h.Variant)
		}
	}
	sort.SliceStable(vs, func(i, j int) bool {
		oi, ok := order[vs[i]]
		if !ok {
			oi = 9
		}
		oj, ok := order[vs[j]]
		if !ok {
			oj = 9
		}
		return oi < oj
	})
	return vs
}

func (r *Results) hookSizes() [][2]int {
	seen := map[[2]int]bool{}
	var ks [][2]int
	for _, h := range r.Hook {
		k := [2]int{h.Ports, h.NICs}
		if !seen[k] {
			seen[k] = true
			ks = append(ks, k)
		}
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i][0] != ks[j][0] {
			return ks[i][0] < ks[j][0]
		}
		return ks[i][1] < ks[j][1]
	})
	return ks
}

func (r *Results) plugSection(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n## 2. Side by side with libvirt's own OVS plug, ms\n\n")
	if len(r.Plug) == 0 {
		p("Not measured in this run.\n")
		return
	}
	p("| other ports | NICs | `virsh start`, libvirt plugs | `virsh start`, hostnet plugs | ratio | OVS work, libvirt (calls) | OVS work, hostnet hook | ratio |\n|---|---|---|---|---|---|---|---|\n")
	for _, row := range r.Plug {
		p("| %s | %d | %s | %s | %s | %s (%d) | %s | %s |\n", thousands(row.Ports), row.NICs,
			row.StartLibvirt.Spread("%.0f"), row.StartHostnet.Spread("%.0f"), ratio(row.StartLibvirt.Median, row.StartHostnet.Median),
			row.OVSLibvirt.Spread("%.1f"), row.CallsPerStart, row.OVSHostnet.Spread("%.1f"), ratio(row.OVSLibvirt.Median, row.OVSHostnet.Median))
	}
	p("\nRatios are libvirt's median over hostnet's: above 1, hostnet is faster. `virsh destroy` (unplug included), ms:\n\n")
	p("| other ports | NICs | libvirt unplugs | hostnet unplugs |\n|---|---|---|---|\n")
	for _, row := range r.Plug {
		p("| %s | %d | %s | %s |\n", thousands(row.Ports), row.NICs, row.DestroyLibvirt.Spread("%.0f"), row.DestroyHostnet.Spread("%.0f"))
	}
}

func (r *Results) hostprepSection(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n## 3. hostprep\n\n")
	h := r.Hostprep
	if h == nil {
		p("Not measured in this run.\n")
		return
	}
	p("| what | result |\n|---|---|\n")
	p("| `apply` on a fresh host (bridge built, IP and routes moved), ms | %s |\n", h.FreshApply.Spread("%.0f"))
	p("| longest gap between the gateway's ping replies during it, ms | %s; worst %.0f |\n", h.Gap.Spread("%.0f"), h.Gap.Max)
	p("| pings lost during it | %s |\n", h.Lost.Spread("%.0f"))
	p("| `apply` on the configured host, ms | %s |\n", h.Converged.Spread("%.1f"))
	p("| configured-host runs that changed anything | %d of %d |\n", h.ConvergedChanged, h.Converged.N)
}

func (r *Results) beforeAfterSection(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	before := r.hookVariants(true)
	if len(before) == 0 {
		return
	}
	p("\n## 4. Engine changes: before and after, ms\n\n")
	p("`before` is the hook built from %s (the revision before the changes below), measured in this same run, interleaved with the current one.\n\n", r.Baseline)
	for _, c := range EngineChanges {
		p("- %s\n", c)
	}
	p("\n| other ports | NICs | variant | before | after | speed-up |\n|---|---|---|---|---|---|\n")
	for _, k := range r.hookSizes() {
		for _, bv := range before {
			b, okB := r.HookRowFor(k[0], k[1], bv)
			v := strings.TrimSuffix(bv, BeforeSuffix)
			a, okA := r.HookRowFor(k[0], k[1], v)
			if !okB || !okA {
				continue
			}
			p("| %s | %d | %s | %s | %s | %s |\n", thousands(k[0]), k[1], v, b.Start.Spread("%.1f"), a.Start.Spread("%.1f"), ratio(b.Start.Median, a.Start.Median))
		}
	}
}

func (r *Results) waitSection(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n## 5. Should the hook wait for ovs-vswitchd?\n\n")
	p("| other ports | NICs | up to the commit | applied | the wait costs |\n|---|---|---|---|---|\n")
	for _, k := range r.hookSizes() {
		c, okC := r.HookRowFor(k[0], k[1], VariantCommit)
		a, okA := r.HookRowFor(k[0], k[1], VariantApplied)
		if okC && okA {
			p("| %s | %d | %.1f | %.1f | %.1f |\n", thousands(k[0]), k[1], c.Start.Median, a.Start.Median, a.Start.Median-c.Start.Median)
		}
	}
	p("\n%s\n", WaitArgument)
}

func ratio(a, b float64) string {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) || a == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

func cell(ok bool, s string) string {
	if !ok {
		return "—"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
