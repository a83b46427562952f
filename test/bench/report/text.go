package report

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Table writes the run's summary for the terminal: targets, then medians.
func (r *Results) Table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tWANT\tMEASURED\tVERDICT")
	for _, t := range r.Targets() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.What, t.Want, t.Measured, t.Verdict)
	}
	tw.Flush()

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "hook start, ms (median p10-p90)\tports\tNICs\tmedian\tp10\tp90\tn\tpeak RSS MiB\t")
	for _, h := range r.Hook {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%d\t%.1f\t\n", h.Variant, h.Ports, h.NICs,
			h.Start.Median, h.Start.P10, h.Start.P90, h.Start.N, h.RSS.Max)
	}
	tw.Flush()

	if len(r.Plug) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "ports\tNICs\tvirsh start libvirt\thostnet\tratio\tOVS work libvirt\thostnet\tratio\t")
		for _, p := range r.Plug {
			fmt.Fprintf(tw, "%d\t%d\t%.0f\t%.0f\t%s\t%.1f\t%.1f\t%s\t\n", p.Ports, p.NICs,
				p.StartLibvirt.Median, p.StartHostnet.Median, ratio(p.StartLibvirt.Median, p.StartHostnet.Median),
				p.OVSLibvirt.Median, p.OVSHostnet.Median, ratio(p.OVSLibvirt.Median, p.OVSHostnet.Median))
		}
		tw.Flush()
	}
	if h := r.Hostprep; h != nil {
		fmt.Fprintf(w, "\nhostprep: fresh apply %s ms, gap %s ms (worst %.0f), configured-host apply %s ms, %d changed\n",
			h.FreshApply.Spread("%.0f"), h.Gap.Spread("%.0f"), h.Gap.Max, h.Converged.Spread("%.1f"), h.ConvergedChanged)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "\nFAILED: %s\n", e)
	}
}
