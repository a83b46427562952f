package report

import (
	"fmt"
	"math"
	"strings"
)

// Verdicts of a target.
const (
	Pass        = "PASS"
	Miss        = "MISS"
	NotMeasured = "not measured"
)

// Target is one line of DESIGN.md section 7, judged.
type Target struct {
	What, Want, Measured, Verdict string
}

// The sizes the targets name.
const (
	TargetNICs       = 4
	TargetPortsLarge = 2000
	TargetPortsSmall = 10
)

// Limits of DESIGN.md section 7.
const (
	MaxCommitMS       = 15.0
	MaxCommitGrowth   = 1.5
	MinSpeedupLarge   = 5.0
	MaxGapMS          = 50.0
	MaxConvergedMS    = 100.0
	MaxRSSMiB         = 30e6 / (1 << 20) // 30 MB
	targetDescription = "hook `start`, 4 NICs"
)

// Targets judges the results against DESIGN.md section 7.
func (r *Results) Targets() []Target {
	var out []Target
	large, okL := r.HookRowFor(TargetPortsLarge, TargetNICs, VariantCommit)
	small, okS := r.HookRowFor(TargetPortsSmall, TargetNICs, VariantCommit)
	t := Target{What: targetDescription + ", whole process, up to the OVSDB commit, 2,000 other ports", Want: "median ≤ 15 ms"}
	if okL {
		t.Measured = fmt.Sprintf("%.1f ms", large.Start.Median)
		t.Verdict = verdict(large.Start.Median <= MaxCommitMS)
	}
	out = append(out, done(t))

	t = Target{What: "the same, 2,000 ports against 10 ports", Want: "≤ 1.5×"}
	if okL && okS {
		g := large.Start.Median / small.Start.Median
		t.Measured = fmt.Sprintf("%.2f× (%.1f ms / %.1f ms)", g, large.Start.Median, small.Start.Median)
		t.Verdict = verdict(g <= MaxCommitGrowth)
	}
	out = append(out, done(t))

	for _, c := range []struct {
		ports int
		want  string
		min   float64
	}{{TargetPortsLarge, "≥ 5× faster", MinSpeedupLarge}, {TargetPortsSmall, "faster", 1}} {
		t = Target{What: fmt.Sprintf("%s including ovs-vswitchd applying it, against libvirt's own OVS plug of the same 4 NICs, %s other ports",
			targetDescription, thousands(c.ports)), Want: c.want}
		plug, ok := r.PlugRowFor(c.ports, TargetNICs)
		if ok && plug.OVSLibvirt.N > 0 && plug.OVSHostnet.N > 0 {
			x := plug.OVSLibvirt.Median / plug.OVSHostnet.Median
			t.Measured = fmt.Sprintf("%.1f× (libvirt %.1f ms, hostnet %.1f ms)", x, plug.OVSLibvirt.Median, plug.OVSHostnet.Median)
			t.Verdict = verdict(x >= c.min && (c.min > 1 || x > 1))
		}
		out = append(out, done(t))
	}

	t = Target{What: "host connectivity gap while `apply` moves the host IP (gateway pings every 10 ms)", Want: "≤ 50 ms"}
	if h := r.Hostprep; h != nil && h.Gap.N > 0 {
		t.Measured = fmt.Sprintf("worst %.0f ms, median %.0f ms (n=%d)", h.Gap.Max, h.Gap.Median, h.Gap.N)
		t.Verdict = verdict(h.Gap.Max <= MaxGapMS)
	}
	out = append(out, done(t))

	t = Target{What: "`apply` on an already configured host", Want: "≤ 100 ms, zero changes"}
	if h := r.Hostprep; h != nil && h.Converged.N > 0 {
		t.Measured = fmt.Sprintf("median %.1f ms, %d of %d runs changed something", h.Converged.Median, h.ConvergedChanged, h.Converged.N)
		t.Verdict = verdict(h.Converged.Median <= MaxConvergedMS && h.ConvergedChanged == 0)
	}
	out = append(out, done(t))

	t = Target{What: "hook peak memory (any run of the shipped hook)", Want: "≤ 30 MB"}
	peak, found := 0.0, false
	for _, h := range r.Hook {
		if h.Variant != VariantCommit && !strings.HasSuffix(h.Variant, BeforeSuffix) && h.RSS.N > 0 {
			peak, found = math.Max(peak, h.RSS.Max), true
		}
	}
	if found {
		t.Measured = fmt.Sprintf("%.1f MB (%.1f MiB)", peak*(1<<20)/1e6, peak)
		t.Verdict = verdict(peak <= MaxRSSMiB)
	}
	out = append(out, done(t))
	return out
}

func verdict(ok bool) string {
	if ok {
		return Pass
	}
	return Miss
}

func done(t Target) Target {
	if t.Verdict == "" {
		t.Measured, t.Verdict = "—", NotMeasured
	}
	return t
}

// thousands writes 2000 as 2,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
