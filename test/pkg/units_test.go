package pkg

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// unitFile is a parsed systemd unit: section -> key -> values in file order.
type unitFile struct {
	path     string
	sections map[string]map[string][]string
}

// readUnit parses a unit file the way systemd reads these simple ones: sections, Key=Value,
// comments (# and ;), backslash continuations.
func readUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{path: path, sections: map[string]map[string][]string{}}
	var section, pending string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending = strings.TrimSuffix(line, `\`)
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			if u.sections[section] == nil {
				u.sections[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			t.Fatalf("%s:%d: not a Key=Value line in a section: %q", path, n, line)
		}
		key = strings.TrimSpace(key)
		u.sections[section][key] = append(u.sections[section][key], strings.TrimSpace(value))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// one returns the single value of a key, failing the test if it is missing or repeated.
func (u unitFile) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u.sections[section][key]
	if len(v) != 1 {
		t.Fatalf("%s: [%s] %s has %d values %q, want one", filepath.Base(u.path), section, key, len(v), v)
	}
	return v[0]
}

// list returns every word of every value of a list key (After=, Wants=, ...).
func (u unitFile) list(section, key string) []string {
	var out []string
	for _, v := range u.sections[section][key] {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// commands returns the command lines of an Exec key as argv lists. The units use no quoting
// and no prefixes ("-", "@", "+", "!"); either would need a real parser, so it fails here.
func (u unitFile) commands(t *testing.T, key string) [][]string {
	t.Helper()
	var out [][]string
	for _, v := range u.sections["Service"][key] {
		if strings.ContainsAny(v, `"'$%`) || strings.ContainsAny(v[:1], "-@+!:") {
			t.Fatalf("%s: %s=%s uses quoting, variables or a prefix; extend commands() to run it faithfully", filepath.Base(u.path), key, v)
		}
		out = append(out, strings.Fields(v))
	}
	return out
}

func (u unitFile) wantAll(t *testing.T, section, key string, want ...string) {
	t.Helper()
	got := u.list(section, key)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: [%s] %s=%v lacks %s", filepath.Base(u.path), section, key, got, w)
		}
	}
}

func (u unitFile) want(t *testing.T, section, key, want string) {
	t.Helper()
	if got := u.one(t, section, key); got != want {
		t.Errorf("%s: [%s] %s=%s, want %s", filepath.Base(u.path), section, key, got, want)
	}
}

func repoUnit(t *testing.T, name string) unitFile {
	t.Helper()
	return readUnit(t, filepath.Join(harness.RepoRoot(t), "packaging", "systemd", name))
}

// Units that exist in one family only: Debian's openvswitch-switch.service, the RHEL family's
// openvswitch.service. Binding to either would work on one family and do nothing on the other.
var familyOnlyUnits = []string{"openvswitch-switch.service", "openvswitch.service"}

func noFamilyOnlyUnits(t *testing.T, u unitFile) {
	t.Helper()
	for section, keys := range u.sections {
		for key := range keys {
			for _, w := range u.list(section, key) {
				if slices.Contains(familyOnlyUnits, w) {
					t.Errorf("%s: [%s] %s names %s, which only one distribution family has; use ovsdb-server.service/ovs-vswitchd.service",
						filepath.Base(u.path), section, key, w)
				}
			}
		}
	}
}

// TestHostprepUnit: oneshot that stays active, after the OVS daemons (which it pulls in) and
// the host's own network setup, before libvirtd (or virtqemud) and network-online.target; a
// bounded wait for the OVS database, then `hostprep apply`.
func TestHostprepUnit(t *testing.T) {
	u := repoUnit(t, "hostprep.service")
	u.want(t, "Service", "Type", "oneshot")
	u.want(t, "Service", "RemainAfterExit", "yes")
	u.want(t, "Service", "ExecStart", "/usr/sbin/hostprep apply")
	u.wantAll(t, "Unit", "Wants", "ovsdb-server.service", "ovs-vswitchd.service")
	u.wantAll(t, "Unit", "After", "ovsdb-server.service", "ovs-vswitchd.service", "network.target")
	u.wantAll(t, "Unit", "Before", "libvirtd.service", "virtqemud.service", "network-online.target")
	u.wantAll(t, "Install", "WantedBy", "multi-user.target")
	noFamilyOnlyUnits(t, u)
	checkOVSWait(t, u)
}

// TestGCUnit: at boot, after hostprep and the OVS daemons, before libvirtd: `hostnet-plug gc`.
func TestGCUnit(t *testing.T) {
	u := repoUnit(t, "hostnet-gc.service")
	u.want(t, "Service", "Type", "oneshot")
	u.want(t, "Service", "RemainAfterExit", "yes")
	u.want(t, "Service", "ExecStart", "/usr/sbin/hostnet-plug gc")
	u.wantAll(t, "Unit", "After", "hostprep.service", "ovsdb-server.service", "ovs-vswitchd.service")
	u.wantAll(t, "Unit", "Before", "libvirtd.service", "virtqemud.service")
	u.wantAll(t, "Install", "WantedBy", "multi-user.target")
	noFamilyOnlyUnits(t, u)
	checkOVSWait(t, u)
}

// TestReconcileUnit: `hostnet-plug sync` each time ovs-vswitchd starts (WantedBy) or
// restarts (PartOf, which reaches only an active unit: RemainAfterExit=yes; not BindsTo,
// which would stop it when ovs-vswitchd dies and make the restart miss it).
func TestReconcileUnit(t *testing.T) {
	u := repoUnit(t, "hostnet-reconcile.service")
	u.want(t, "Service", "Type", "oneshot")
	u.want(t, "Service", "RemainAfterExit", "yes")
	u.want(t, "Service", "ExecStart", "/usr/sbin/hostnet-plug sync")
	u.want(t, "Service", "ExecReload", "/usr/sbin/hostnet-plug sync")
	u.want(t, "Unit", "PartOf", "ovs-vswitchd.service")
	u.want(t, "Unit", "ReloadPropagatedFrom", "ovs-vswitchd.service")
	u.wantAll(t, "Unit", "After", "ovs-vswitchd.service", "hostprep.service", "hostnet-gc.service")
	u.want(t, "Install", "WantedBy", "ovs-vswitchd.service")
	if v := u.sections["Unit"]["BindsTo"]; len(v) > 0 {
		t.Errorf("hostnet-reconcile.service: BindsTo=%v: a crash of ovs-vswitchd would stop the unit and its restart would then skip it", v)
	}
	noFamilyOnlyUnits(t, u)
}

// TestWatchUnit: `hostnet-plug watch` kept running (shipped disabled: hostnet-reconcile covers
// restarts through systemd; this one is for hosts where OVS also restarts outside it).
func TestWatchUnit(t *testing.T) {
	u := repoUnit(t, "hostnet-watch.service")
	u.want(t, "Service", "Type", "simple")
	u.want(t, "Service", "ExecStart", "/usr/sbin/hostnet-plug watch")
	u.want(t, "Service", "Restart", "always")
	u.wantAll(t, "Unit", "After", "ovsdb-server.service", "ovs-vswitchd.service")
	u.wantAll(t, "Install", "WantedBy", "multi-user.target")
	noFamilyOnlyUnits(t, u)
}

// TestOVSUnitFacts: the unit bindings rest on facts about Open vSwitch's own units, checked
// on this (Debian) machine: ovs-vswitchd.service exists under openvswitch-switch.service and
// restarts itself on failure, and ovsdb-server.service exists. (The RHEL family's units, from
// the same upstream source, put both under openvswitch.service.)
func TestOVSUnitFacts(t *testing.T) {
	dir := "/lib/systemd/system"
	vswitchd := readUnit(t, filepath.Join(dir, "ovs-vswitchd.service"))
	vswitchd.wantAll(t, "Unit", "PartOf", "openvswitch-switch.service")
	vswitchd.wantAll(t, "Unit", "Requires", "ovsdb-server.service")
	vswitchd.want(t, "Service", "Restart", "on-failure")
	readUnit(t, filepath.Join(dir, "ovsdb-server.service"))
}

// checkOVSWait: the ExecStartPre waits for the OVS database with ovs-vsctl's own bound, which
// is shorter than the unit's start timeout, so the unit fails with ovs-vsctl's message rather
// than systemd's timeout.
func checkOVSWait(t *testing.T, u unitFile) {
	t.Helper()
	pre := u.commands(t, "ExecStartPre")
	if len(pre) != 1 || pre[0][0] != "/usr/bin/ovs-vsctl" || !slices.Contains(pre[0], "--retry") || !slices.Contains(pre[0], "wait-until") {
		t.Fatalf("%s: ExecStartPre=%v, want one /usr/bin/ovs-vsctl --timeout=N --retry wait-until ...", filepath.Base(u.path), pre)
	}
	bound := ovsWaitBound(t, pre[0])
	if bound <= 0 || bound > 60*time.Second {
		t.Errorf("%s: ovs-vsctl waits %s; want a bound of at most 60s", filepath.Base(u.path), bound)
	}
	startTimeout, err := strconv.Atoi(u.one(t, "Service", "TimeoutStartSec"))
	if err != nil {
		t.Fatalf("%s: TimeoutStartSec is not plain seconds: %v", filepath.Base(u.path), err)
	}
	if time.Duration(startTimeout)*time.Second < bound+30*time.Second {
		t.Errorf("%s: TimeoutStartSec=%d leaves less than 30s after the %s OVS wait", filepath.Base(u.path), startTimeout, bound)
	}
}

func ovsWaitBound(t *testing.T, argv []string) time.Duration {
	t.Helper()
	for _, a := range argv {
		if v, ok := strings.CutPrefix(a, "--timeout="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("ovs-vsctl %s: %v", a, err)
			}
			return time.Duration(n) * time.Second
		}
	}
	t.Fatalf("%v: no --timeout=N: the wait would be unbounded", argv)
	return 0
}
