// Package hostprep_test runs the real hostprep binary inside a network
// namespace that plays a KVM host, with a private Open vSwitch (userspace
// datapath), veth "NICs" cabled to a gateway namespace or a VLAN switch, and
// checks the result with independent tools: ip -j, ovs-vsctl, ovs-ofctl,
// ovsdb-client and real traffic.
package hostprep_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// host is one simulated hypervisor before hostprep: a namespace with a
// private OVS (no bridges yet), a config file and a state directory.
type host struct {
	t     *testing.T
	ns    *harness.Netns
	ovs   *harness.OVS // nil for linux_bridge hosts without OVS
	dir   string
	conf  string
	state string
	bin   string
	env   []string // extra environment for the binary
}

func newHost(t *testing.T) *host {
	t.Helper()
	harness.RequireRoot(t)
	h := newHostNoOVS(t)
	h.ovs = harness.StartOVS(t, h.ns)
	return h
}

func newHostNoOVS(t *testing.T) *host {
	t.Helper()
	harness.RequireRoot(t)
	dir := t.TempDir()
	h := &host{t: t, dir: dir, conf: filepath.Join(dir, "host.conf"), state: filepath.Join(dir, "state"),
		bin: harness.Binary(t, "./hostprep")}
	h.ns = harness.NewNetns(t, "host")
	return h
}

// writeConf writes host.conf: body plus the keys that point at this host's
// private OVS and state directory.
func (h *host) writeConf(body string) {
	h.t.Helper()
	body = strings.TrimLeft(body, "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	body += "state_dir: " + h.state + "\n"
	if h.ovs != nil {
		body += "ovs_rundir: " + h.ovs.Rundir + "\n"
	}
	if err := os.WriteFile(h.conf, []byte(body), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// result is one run of the binary.
type result struct {
	code     int
	stdout   string
	stderr   string
	duration time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\n--- stdout\n%s--- stderr\n%s", r.code, r.duration, r.stdout, r.stderr)
}

// run runs bin (the hostprep binary unless another build is given) inside
// the host namespace.
func (h *host) runBin(bin string, env []string, args ...string) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := h.ns.Command(ctx, append([]string{bin, "--config", h.conf}, args...)...)
	cmd.Env = append(os.Environ(), "HOSTNET_NM_RUNDIR="+filepath.Join(h.dir, "nm"))
	if h.ovs != nil {
		cmd.Env = append(cmd.Env, h.ovs.Env()...)
	}
	cmd.Env = append(cmd.Env, h.env...)
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		h.t.Fatalf("run %s: %v", bin, err)
	}
	if ctx.Err() != nil {
		h.t.Fatalf("hostprep %v timed out:\n%s", args, r)
	}
	return r
}

func (h *host) run(args ...string) result {
	h.t.Helper()
	return h.runBin(h.bin, nil, args...)
}

// apply runs hostprep apply and fails the test unless it exits 0.
func (h *host) apply() result {
	h.t.Helper()
	r := h.run("apply")
	if r.code != 0 {
		h.t.Fatalf("hostprep apply failed:\n%s", r)
	}
	return r
}

// settle waits until no IPv6 address in the host namespace is tentative:
// the kernel adds routes to the local table when duplicate address
// detection ends, which a before/after comparison must not mistake for a
// change.
func (h *host) settle() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for strings.TrimSpace(h.ns.Exec(h.t, "ip", "-6", "addr", "show", "tentative")) != "" {
		if time.Now().After(deadline) {
			h.t.Fatalf("IPv6 addresses still tentative after 10 s:\n%s", h.ns.Exec(h.t, "ip", "-6", "addr", "show", "tentative"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// --- independent views of the host -------------------------------------------

type ipAddr struct {
	Family    string `json:"family"`
	Local     string `json:"local"`
	Prefixlen int    `json:"prefixlen"`
	Scope     string `json:"scope"`
	Secondary bool   `json:"secondary"`
	Label     string `json:"label"`
}

type ipLink struct {
	Ifname    string   `json:"ifname"`
	Address   string   `json:"address"`
	MTU       int      `json:"mtu"`
	Flags     []string `json:"flags"`
	Master    string   `json:"master"`
	AddrInfo  []ipAddr `json:"addr_info"`
	OperState string   `json:"operstate"`
	LinkInfo  *struct {
		Kind string `json:"info_kind"`
	} `json:"linkinfo"`
}

// link returns `ip -j -d addr show dev`; ok is false when dev does not exist.
func (h *host) link(dev string) (ipLink, bool) {
	h.t.Helper()
	out, err := h.ns.Run("ip", "-j", "-d", "addr", "show", "dev", dev)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return ipLink{}, false
		}
		h.t.Fatalf("ip addr show %s: %v", dev, err)
	}
	var links []ipLink
	if err := json.Unmarshal([]byte(out), &links); err != nil || len(links) != 1 {
		h.t.Fatalf("ip -j addr show %s: %v\n%s", dev, err, out)
	}
	return links[0], true
}

func (h *host) mustLink(dev string) ipLink {
	h.t.Helper()
	l, ok := h.link(dev)
	if !ok {
		h.t.Fatalf("%s does not exist in %s", dev, h.ns)
	}
	return l
}

// waitLink waits (up to 5 s) until dev exists and ok holds for it.
func (h *host) waitLink(dev string, ok func(ipLink) bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, found := h.link(dev); found && ok(l) {
			return
		}
		if time.Now().After(deadline) {
			l, _ := h.link(dev)
			h.t.Fatalf("%s: condition not met within 5 s: %+v", dev, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addrs lists dev's addresses as "192.0.2.10/24", without IPv6 link-local
// ones; secondaries are marked " secondary".
func (h *host) addrs(dev string) []string {
	h.t.Helper()
	l, ok := h.link(dev)
	if !ok {
		return nil
	}
	var out []string
	for _, a := range l.AddrInfo {
		if a.Family == "inet6" && a.Scope == "link" {
			continue
		}
		s := fmt.Sprintf("%s/%d", a.Local, a.Prefixlen)
		if a.Secondary {
			s += " secondary"
		}
		out = append(out, s)
	}
	return out
}

// ipRoute is one route of `ip -j route show table all`, kept as a generic
// map so that every attribute ip prints is compared.
type ipRoute map[string]any

func (r ipRoute) str(k string) string {
	v, _ := r[k].(string)
	return v
}

// routes returns every route of both families in every table, except the
// ones the kernel keeps by itself (proto kernel, the local table, IPv6
// multicast and link-local), each rendered as sorted key=value text.
func (h *host) routes() []string {
	h.t.Helper()
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		js := h.ns.Exec(h.t, "ip", "-j", fam, "route", "show", "table", "all")
		var rs []ipRoute
		if err := json.Unmarshal([]byte(js), &rs); err != nil {
			h.t.Fatalf("ip -j route: %v\n%s", err, js)
		}
		for _, r := range rs {
			if r.str("protocol") == "kernel" || r.str("table") == "local" || strings.HasPrefix(r.str("dst"), "ff00::") ||
				strings.HasPrefix(r.str("dst"), "fe80::") {
				continue
			}
			out = append(out, renderRoute(r))
		}
	}
	sort.Strings(out)
	return out
}

func renderRoute(r ipRoute) string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		b, _ := json.Marshal(r[k])
		parts = append(parts, k+"="+string(b))
	}
	return strings.Join(parts, " ")
}

// netState is the whole netlink state that hostprep may change: links
// (address, MTU, flags, master), addresses and routes of every table, and
// the IPv6 autoconf sysctls of every link.
func (h *host) netState() string {
	h.t.Helper()
	var b strings.Builder
	js := h.ns.Exec(h.t, "ip", "-j", "addr", "show")
	var links []ipLink
	if err := json.Unmarshal([]byte(js), &links); err != nil {
		h.t.Fatal(err)
	}
	for _, l := range links {
		flags := slices.Clone(l.Flags)
		sort.Strings(flags)
		fmt.Fprintf(&b, "link %s %s mtu %d master %q flags %v\n", l.Ifname, l.Address, l.MTU, l.Master, flags)
		for _, a := range l.AddrInfo {
			fmt.Fprintf(&b, "  addr %s/%d scope %s secondary %v label %q\n", a.Local, a.Prefixlen, a.Scope, a.Secondary, a.Label)
		}
		for _, k := range []string{"accept_ra", "autoconf"} {
			v, err := h.ns.Run("cat", "/proc/sys/net/ipv6/conf/"+l.Ifname+"/"+k)
			if err == nil {
				fmt.Fprintf(&b, "  %s=%s\n", k, strings.TrimSpace(v))
			}
		}
	}
	for _, fam := range []string{"-4", "-6"} {
		b.WriteString(h.ns.Exec(h.t, "ip", fam, "route", "show", "table", "all"))
	}
	return b.String()
}

// ovsState dumps the OVSDB columns hostprep reads or writes, and next_cfg,
// which every change hostprep commits increments: an unchanged dump means
// hostprep wrote nothing.
func (h *host) ovsState() string {
	h.t.Helper()
	sock := "unix:" + h.ovs.DBSocket()
	var b strings.Builder
	for _, q := range [][]string{
		{"Open_vSwitch", "bridges", "external_ids", "next_cfg"},
		{"Bridge", "name", "ports", "datapath_type", "fail_mode", "other_config", "external_ids"},
		{"Port", "name", "interfaces", "tag", "trunks", "vlan_mode", "external_ids"},
		{"Interface", "name", "type", "mtu_request", "mac", "external_ids"},
	} {
		out, err := exec.Command("ovsdb-client", append([]string{"dump", sock, "Open_vSwitch"}, q...)...).CombinedOutput()
		if err != nil {
			h.t.Fatalf("ovsdb-client dump %v: %v\n%s", q, err, out)
		}
		b.Write(out)
	}
	return b.String()
}

func (h *host) vsctl(args ...string) string {
	h.t.Helper()
	return h.ovs.Vsctl(h.t, args...)
}

// readState returns a file of the state directory.
func (h *host) readState(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.state, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// stateFiles lists the files in the state directory.
func (h *host) stateFiles() []string {
	h.t.Helper()
	des, err := os.ReadDir(h.state)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// monitor records netlink link, address and route events in the host
// namespace until stop is called: proof that a run made no netlink change.
func (h *host) monitor() (stop func() string) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := h.ns.Command(ctx, "ip", "monitor", "link", "address", "route")
	// Events go to stdout. ip's own complaints go to stderr, e.g. "Peer
	// netns reference is invalid." while other tests' namespaces come and
	// go: they are not changes of this host.
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let ip subscribe before the run starts
	return func() string {
		time.Sleep(100 * time.Millisecond)
		cancel()
		_ = cmd.Wait()
		if errOut.Len() > 0 {
			h.t.Logf("ip monitor said on stderr: %s", strings.TrimSpace(errOut.String()))
		}
		return out.String()
	}
}

func equalOrDiff(t *testing.T, what, before, after string) {
	t.Helper()
	if before == after {
		return
	}
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	var diff []string
	for _, l := range bl {
		if !slices.Contains(al, l) {
			diff = append(diff, "- "+l)
		}
	}
	for _, l := range al {
		if !slices.Contains(bl, l) {
			diff = append(diff, "+ "+l)
		}
	}
	t.Errorf("%s changed:\n%s", what, strings.Join(diff, "\n"))
}

// pinger pings from a namespace every 10 ms with timestamps, to measure
// the host's connectivity gap while apply moves its IP.
type pinger struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    bytes.Buffer
	cancel context.CancelFunc
}

func startPinger(t *testing.T, ns *harness.Netns, ip string) *pinger {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	p := &pinger{t: t, cancel: cancel}
	p.cmd = ns.Command(ctx, "ping", "-D", "-n", "-i", "0.01", "-W", "1", ip)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	// Wait for the first replies, so that ARP is done before the measure.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.out.String(), "icmp_seq=") {
		if time.Now().After(deadline) {
			t.Fatalf("ping %s from %s: no reply in 10 s:\n%s", ip, ns, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// gapStats is what the pinger saw.
type gapStats struct {
	sent, lost int           // lost: requests without a reply between the first and the last reply
	gap        time.Duration // longest time without a reply
}

func (g gapStats) String() string {
	return fmt.Sprintf("%d pings every 10 ms, %d lost, longest gap between replies %v", g.sent, g.lost, g.gap.Round(time.Millisecond))
}

func (p *pinger) stop() gapStats {
	p.t.Helper()
	_ = p.cmd.Process.Signal(os.Interrupt)
	_ = p.cmd.Wait()
	p.cancel()
	var st gapStats
	seen := map[int]float64{}
	var times []float64
	minSeq, maxSeq := -1, -1
	for _, line := range strings.Split(p.out.String(), "\n") {
		var ts float64
		var seq int
		i := strings.Index(line, "icmp_seq=")
		if !strings.HasPrefix(line, "[") || i < 0 {
			continue
		}
		if _, err := fmt.Sscanf(line, "[%f]", &ts); err != nil {
			continue
		}
		if _, err := fmt.Sscanf(line[i:], "icmp_seq=%d", &seq); err != nil {
			continue
		}
		if _, dup := seen[seq]; dup {
			continue // a DUP!: the userspace datapath also hands the frame to the NIC's own stack
		}
		seen[seq] = ts
		times = append(times, ts)
		if minSeq < 0 || seq < minSeq {
			minSeq = seq
		}
		if seq > maxSeq {
			maxSeq = seq
		}
	}
	if len(times) < 2 {
		p.t.Fatalf("pinger saw fewer than 2 replies:\n%s", p.out.String())
	}
	sort.Float64s(times)
	for i := 1; i < len(times); i++ {
		if d := time.Duration((times[i] - times[i-1]) * float64(time.Second)); d > st.gap {
			st.gap = d
		}
	}
	st.sent = maxSeq - minSeq + 1
	st.lost = st.sent - len(seen)
	return st
}
