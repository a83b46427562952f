package plugcli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hostnet/hostnet/internal/domain"
	"github.com/hostnet/hostnet/internal/flows"
	"github.com/hostnet/hostnet/internal/plug"
	"github.com/hostnet/hostnet/internal/portspec"
)

// DefaultLibvirtState is where libvirtd keeps the status of running qemu
// domains.
const DefaultLibvirtState = "/run/libvirt/qemu"

func cmdAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags("add")
	values := map[string]*once{}
	for _, name := range []string{portspec.AttrTap, portspec.AttrMAC, portspec.AttrBridge, portspec.AttrWire, portspec.AttrVPCPort,
		portspec.AttrVLAN, portspec.AttrTrunks, portspec.AttrSrcCheck, "vm-uuid", "vm-name"} {
		values[name] = &once{}
		fs.Var(values[name], name, "")
	}
	var ips multi
	fs.Var(&ips, "ip", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	vmName := values["vm-name"].value
	attrs := portspec.Attrs{Values: map[string]string{}, IPs: ips}
	for name, v := range values {
		if v.set && name != "vm-uuid" && name != "vm-name" {
			attrs.Values[name] = v.value
		}
	}
	if err := checkAddFlags(attrs); err != nil {
		return err
	}
	spec, err := portspec.FromAttrs(attrs)
	if err != nil {
		return flagErrors(err)
	}
	if spec.DomainUUID, err = parseDomainUUID(values["vm-uuid"], "for a NIC of no domain"); err != nil {
		return err
	}
	if err := checkDomainName(vmName); err != nil {
		return err
	}
	spec.DomainName = vmName
	if spec.VPCPort != "" && len(ips) > 0 {
		e.log.Warn().Str("vpc_port", spec.VPCPort).Msg("--ip is not used on a vpc-port: OVN checks its addresses (port_security on the logical port)")
	}

	ctx, cancel, eng, err := e.open(ctx, 1)
	defer cancel()
	if err != nil {
		return err
	}
	outcomes, err := eng.Plug(ctx, []portspec.PortSpec{spec}, plug.Repair)
	if err != nil {
		return err
	}
	for _, o := range outcomes {
		fmt.Fprintf(e.stdout, "%s: %s on %s (%s, src-check %s, ofport %d)\n", o.Spec.Tap, o.Action, o.Bridge, vlanText(o.Spec), o.Spec.SrcCheck, o.OFPort)
		printEvictions(e, o)
	}
	return nil
}

// printEvictions says which dead ports a plug removed, and why.
func printEvictions(e *env, o plug.Outcome) {
	for _, ev := range o.Evictions {
		fmt.Fprintf(e.stdout, "%s: removed %s, a dead port that held %s\n", o.Spec.Tap, ev.Tap, ev.Claim)
		e.log.Info().Str("tap", ev.Tap).Str("for", o.Spec.Tap).Str("claim", ev.Claim).Msg("dead port removed")
	}
}

// checkAddFlags catches what is missing or conflicting among add's flags,
// in the flags' own words (the rest is checked as the metadata is).
func checkAddFlags(a portspec.Attrs) error {
	var msgs []string
	for _, f := range []struct{ name, example string }{
		{portspec.AttrTap, "the VM's tap device, e.g. --tap vnet0"},
		{portspec.AttrMAC, "the NIC's MAC as the VM sees it, e.g. --mac 52:54:00:12:34:56"},
	} {
		if a.Values[f.name] == "" {
			msgs = append(msgs, fmt.Sprintf("--%s is required (%s)", f.name, f.example))
		}
	}
	var targets []string
	for _, k := range []string{portspec.AttrBridge, portspec.AttrWire, portspec.AttrVPCPort} {
		if v, ok := a.Values[k]; ok {
			targets = append(targets, fmt.Sprintf("--%s %q", k, v))
		}
	}
	switch {
	case len(targets) == 0:
		msgs = append(msgs, "one of --bridge, --wire or --vpc-port is required (where the NIC plugs)")
	case len(targets) > 1:
		msgs = append(msgs, fmt.Sprintf("%s: give exactly one of --bridge, --wire and --vpc-port", strings.Join(targets, " and ")))
	}
	_, vlan := a.Values[portspec.AttrVLAN]
	_, trunks := a.Values[portspec.AttrTrunks]
	if _, vpc := a.Values[portspec.AttrVPCPort]; vpc && (vlan || trunks) {
		msgs = append(msgs, "--vlan and --trunks do not apply to --vpc-port (OVN isolates VPC ports); remove them")
	}
	_, vpc := a.Values[portspec.AttrVPCPort]
	if !vpc && a.Values[portspec.AttrSrcCheck] == string(portspec.SrcCheckOn) && len(a.IPs) == 0 {
		msgs = append(msgs, `--src-check "on" needs the VM's addresses: add --ip ADDR (repeat it), or use --src-check mac`)
	}
	if len(msgs) > 0 {
		return usagef("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// flagErrors turns the spec's errors into one usage error that names each
// bad value by its flag: vlan "5000" ... becomes --vlan "5000" ...
func flagErrors(err error) error {
	var errs []error
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	} else {
		errs = []error{err}
	}
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		var ae *portspec.AttrError
		msg := e.Error()
		if errors.As(e, &ae) && strings.HasPrefix(msg, ae.Attr) {
			msg = "--" + msg
		}
		msgs = append(msgs, msg)
	}
	return usagef("%s", strings.Join(msgs, "; "))
}

func cmdDel(ctx context.Context, e *env, args []string) error {
	fs := newFlags("del")
	var taps multi
	fs.Var(&taps, "tap", "")
	var vmUUID once
	fs.Var(&vmUUID, "vm-uuid", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	uuid, err := parseDomainUUID(&vmUUID, "and name the taps with --tap")
	if err != nil {
		return err
	}
	if len(taps) == 0 && uuid == "" {
		return usagef("--tap TAP (repeat it) or --vm-uuid UUID is required: what to unplug")
	}
	ctx, cancel, eng, err := e.open(ctx, 1)
	defer cancel()
	if err != nil {
		return err
	}
	removals, err := eng.Unplug(ctx, uuid, taps)
	if len(removals) == 0 && err == nil {
		fmt.Fprintf(e.stdout, "domain %s has no hostnet ports\n", uuid)
	}
	printRemovals(e, removals)
	return err
}

func cmdGC(ctx context.Context, e *env, args []string) error {
	if err := parse(newFlags("gc"), args); err != nil {
		return err
	}
	ctx, cancel, eng, err := e.open(ctx, 2)
	defer cancel()
	if err != nil {
		return err
	}
	removals, err := eng.GC(ctx)
	// After the ports: the flows gc could not remove with them are orphans
	// now, and go too.
	swept, sweepErr := eng.SweepFlows(ctx)
	if len(removals) == 0 && len(swept) == 0 && err == nil && sweepErr == nil {
		fmt.Fprintln(e.stdout, "no stale ports")
	}
	printRemovals(e, removals)
	printSwept(e, swept)
	return errors.Join(err, sweepErr)
}

// printSwept says which flows of no port were removed.
func printSwept(e *env, swept []plug.Swept) {
	for _, s := range swept {
		port := fmt.Sprintf("OpenFlow port %d", s.Owner.OFPort)
		if s.Owner.OFPort < 0 {
			port = "the bridge's LOCAL port"
		}
		fmt.Fprintf(e.stdout, "%s: removed %d flow(s) of MAC %s on %s, which no hostnet port has\n", s.Bridge, s.Flows, s.Owner.MAC, port)
		e.log.Info().Str("bridge", s.Bridge).Str("mac", s.Owner.MAC).Int64("ofport", s.Owner.OFPort).Int("flows", s.Flows).Msg("flows of no port removed")
	}
}

func printRemovals(e *env, removals []plug.Removal) {
	for _, r := range removals {
		if r.Removed {
			fmt.Fprintf(e.stdout, "%s: removed from %s (%s)\n", r.Tap, orNone(r.Bridge), orText(r.Reason, "unplugged"))
			e.log.Info().Str("tap", r.Tap).Str("bridge", r.Bridge).Str("reason", orText(r.Reason, "unplugged")).Msg("port removed")
			continue
		}
		fmt.Fprintf(e.stdout, "%s: left alone: %s\n", r.Tap, r.Reason)
	}
}

func cmdSync(ctx context.Context, e *env, args []string) error {
	fs := newFlags("sync")
	stateDir := &once{value: DefaultLibvirtState}
	fs.Var(stateDir, "libvirt-state", "")
	if err := parseWithStateDir(fs, args); err != nil {
		return err
	}
	report, err := e.sync(ctx, stateDir.value)
	for _, o := range report.Plugged {
		fmt.Fprintf(e.stdout, "%s: %s on %s (%s, src-check %s)\n", o.Spec.Tap, o.Action, o.Bridge, vlanText(o.Spec), o.Spec.SrcCheck)
		printEvictions(e, o)
	}
	for _, s := range report.Skipped {
		fmt.Fprintf(e.stdout, "%s: skipped: %s\n", s.Tap, s.Reason)
	}
	for _, k := range report.Kept {
		fmt.Fprintf(e.stdout, "%s: its re-plug failed; its source checks were reinstalled on %s as OVSDB records them\n", k.Spec.Tap, k.Bridge)
	}
	printSwept(e, report.Swept)
	return err
}

// sync re-plugs every live port from OVSDB and the status files in
// stateDir, and logs what it did.
func (e *env) sync(ctx context.Context, stateDir string) (plug.SyncReport, error) {
	start := time.Now()
	running, err := runningNICs(e, stateDir)
	if err != nil {
		return plug.SyncReport{}, err
	}
	ctx, cancel, eng, err := e.open(ctx, 4)
	defer cancel()
	if err != nil {
		return plug.SyncReport{}, err
	}
	report, err := eng.Sync(ctx, running)
	e.log.Info().Int("plugged", len(report.Plugged)).Int("skipped", len(report.Skipped)).
		Dur("duration_ms", time.Since(start)).Msg("sync done")
	return report, err
}

// runningNICs reads the hostnet NICs of the running domains from libvirt's
// status files. A missing directory means no libvirtd has run since boot;
// a file that does not parse is reported and skipped.
func runningNICs(e *env, dir string) ([]portspec.PortSpec, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		return nil, fmt.Errorf("libvirt status directory %s: %w", dir, err)
	}
	var out []portspec.PortSpec
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			e.log.Warn().Err(err).Str("file", f).Msg("cannot read libvirt status file")
			continue
		}
		if !domain.MentionsHostnet(data) {
			continue
		}
		d, err := domain.ParseStatus(data)
		if err != nil {
			e.log.Warn().Err(err).Str("file", f).Msg("libvirt status file skipped")
			continue
		}
		out = append(out, d.NICs...)
	}
	return out, nil
}

// portView is one row of `show`.
type portView struct {
	Tap        string   `json:"tap"`
	Bridge     string   `json:"bridge"`
	Domain     string   `json:"domain"`
	DomainUUID string   `json:"domain_uuid"`
	MAC        string   `json:"mac"`
	Target     string   `json:"target"`
	VLANMode   string   `json:"vlan_mode"`
	VLAN       int      `json:"vlan"`
	Trunks     string   `json:"trunks,omitempty"`
	SrcCheck   string   `json:"src_check"`
	IPs        []string `json:"ips,omitempty"`
	OFPort     int64    `json:"ofport"`
	Flows      int      `json:"flows"`
	FlowsWant  int      `json:"flows_expected"`
	State      string   `json:"state"`
}

func cmdShow(ctx context.Context, e *env, args []string) error {
	fs := newFlags("show")
	asJSON := fs.Bool("json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel, eng, err := e.open(ctx, 2)
	defer cancel()
	if err != nil {
		return err
	}
	ports, err := eng.List(ctx)
	if err != nil {
		return err
	}
	table := flows.ForConfig(e.cfg).(*flows.OFTable)
	counts := map[string]map[flows.FlowOwner]int{}
	var errs []error
	views := make([]portView, 0, len(ports))
	for _, p := range ports {
		if p.Bridge != "" && counts[p.Bridge] == nil {
			c, err := table.CountByOwner(ctx, p.Bridge)
			if err != nil {
				errs = append(errs, err)
				c = map[flows.FlowOwner]int{}
			}
			counts[p.Bridge] = c
		}
		views = append(views, view(p, counts[p.Bridge]))
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(views); err != nil {
			return err
		}
		return errors.Join(errs...)
	}
	w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TAP\tBRIDGE\tDOMAIN\tMAC\tVLAN\tSRC-CHECK\tFLOWS\tSTATE")
	for _, v := range views {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", v.Tap, orNone(v.Bridge), printable(orNone(v.Domain)), v.MAC,
			vlanColumn(v), v.SrcCheck, v.Flows, v.FlowsWant, v.State)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// view is one row of show. Its flows are those of its MAC that match its
// own OpenFlow port: a port without one (ovs-vswitchd could not open the
// device) has none, whatever other ports with its MAC have.
func view(p plug.Port, counts map[flows.FlowOwner]int) portView {
	s := p.Spec
	v := portView{Tap: p.Tap, Bridge: p.Bridge, Domain: s.DomainName, DomainUUID: s.DomainUUID, MAC: s.MAC, OFPort: p.OFPort,
		Target: s.Target(), VLANMode: string(s.Mode()), VLAN: s.VLAN, SrcCheck: string(s.SrcCheck)}
	if p.OFPort > 0 {
		v.Flows = counts[flows.FlowOwner{MAC: s.MAC, OFPort: p.OFPort}]
	}
	if len(s.Trunks) > 0 {
		v.Trunks = portspec.FormatTrunks(s.Trunks)
	}
	for _, ip := range s.IPs {
		v.IPs = append(v.IPs, ip.String())
	}
	if rules, err := flows.Rules(s, int(p.OFPort)); err == nil {
		v.FlowsWant = len(rules)
	}
	switch {
	case p.SpecError != nil:
		v.State = "bad spec: " + p.SpecError.Error()
	case p.DeviceGone:
		v.State = "device gone (gc removes it)"
	case p.Stale:
		v.State = "device replaced (gc removes it)"
	case p.NotATap:
		v.State = "not a tap: ovs-vswitchd cannot use it: " + p.Error + " (gc removes it)"
	case p.Error != "":
		v.State = "error: ovs-vswitchd: " + p.Error + " (fix the device and sync, or hostnet-plug del --tap " + p.Tap + ")"
	case p.Bridge == "":
		v.State = "on no bridge (sync repairs it)"
	case p.VLANDrift != "":
		v.State = "VLAN settings differ: " + p.VLANDrift + " (sync repairs it)"
	case v.Flows < v.FlowsWant:
		v.State = "flows missing (sync repairs it)"
	case v.Flows > v.FlowsWant:
		v.State = "extra flows (sync repairs it)"
	default:
		v.State = "ok"
	}
	return v
}

func vlanText(s portspec.PortSpec) string {
	switch s.Mode() {
	case portspec.ModeAccess:
		return fmt.Sprintf("access vlan %d", s.VLAN)
	case portspec.ModeTrunk:
		return "trunk " + portspec.FormatTrunks(s.Trunks)
	case portspec.ModeNativeUntagged:
		return fmt.Sprintf("trunk %s, native vlan %d", portspec.FormatTrunks(s.Trunks), s.VLAN)
	default:
		return "untagged, all VLANs"
	}
}

func vlanColumn(v portView) string {
	switch v.VLANMode {
	case string(portspec.ModeAccess):
		return fmt.Sprintf("access %d", v.VLAN)
	case string(portspec.ModeTrunk):
		return "trunk " + v.Trunks
	case string(portspec.ModeNativeUntagged):
		return fmt.Sprintf("trunk %s native %d", v.Trunks, v.VLAN)
	default:
		return "brtrunk"
	}
}

func orNone(s string) string { return orText(s, "-") }

func orText(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
