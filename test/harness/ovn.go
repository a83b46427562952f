package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	ovnNBSchema = "/usr/share/ovn/ovn-nb.ovsschema"
	ovnSBSchema = "/usr/share/ovn/ovn-sb.ovsschema"
)

// OVNCentral is a private OVN control plane: the northbound and southbound databases (one
// ovsdb-server each, on unix sockets) and ovn-northd, all in Dir and running inside NS. The
// sockets are files, so ovn-controllers in other namespaces reach them through SBRemote.
type OVNCentral struct {
	Dir string
	NS  *Netns
}

// StartOVNCentral starts the NB and SB databases and ovn-northd inside ns. Teardown stops
// them (by pidfile) and on failure logs the tail of their logs and the SB Port_Binding table.
func StartOVNCentral(t testing.TB, ns *Netns) *OVNCentral {
	t.Helper()
	for _, bin := range []string{"ovsdb-tool", "ovsdb-server", "ovn-northd", "ovn-nbctl", "ovn-sbctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s not found: install ovn-central (scripts/install-deps.sh) (%v)", bin, err)
		}
	}
	for _, schema := range []string{ovnNBSchema, ovnSBSchema} {
		if _, err := os.Stat(schema); err != nil {
			t.Fatalf("OVN schema missing: install ovn-central (scripts/install-deps.sh) (%v)", err)
		}
	}
	dir, err := os.MkdirTemp("", "hnovn") // short: unix socket paths are limited to 107 bytes
	if err != nil {
		t.Fatalf("StartOVNCentral: %v", err)
	}
	c := &OVNCentral{Dir: dir, NS: ns}
	t.Cleanup(func() { c.teardown(t) })
	for _, db := range []struct{ name, schema string }{{"nb", ovnNBSchema}, {"sb", ovnSBSchema}} {
		mustRun(t, "ovsdb-tool", "create", c.path(db.name+".db"), db.schema)
		c.mustRun(t, "ovsdb-server", c.path(db.name+".db"),
			"--remote=punix:"+c.path(db.name+".sock"),
			"--pidfile="+c.path(db.name+".pid"), "--unixctl="+c.path(db.name+".ctl"),
			"--log-file="+c.path(db.name+".log"), "--detach")
	}
	c.mustRun(t, "ovn-northd", "--ovnnb-db="+c.NBRemote(), "--ovnsb-db="+c.SBRemote(),
		"--pidfile="+c.path("northd.pid"), "--unixctl="+c.path("northd.ctl"),
		"--log-file="+c.path("northd.log"), "--detach")
	return c
}

func (c *OVNCentral) path(name string) string { return filepath.Join(c.Dir, name) }

// NBRemote and SBRemote are the databases' connection strings ("unix:PATH").
func (c *OVNCentral) NBRemote() string { return "unix:" + c.path("nb.sock") }

// SBRemote is what ovn-remote (hostprep's ovn_south_database) points at.
func (c *OVNCentral) SBRemote() string { return "unix:" + c.path("sb.sock") }

// env keeps every OVN and OVS tool's default files inside Dir.
func (c *OVNCentral) env() []string {
	return []string{"OVN_RUNDIR=" + c.Dir, "OVN_LOGDIR=" + c.Dir, "OVN_DBDIR=" + c.Dir, "OVS_RUNDIR=" + c.Dir}
}

func (c *OVNCentral) run(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ovsTimeout+5*time.Second)
	defer cancel()
	cmd := c.NS.Command(ctx, args...)
	cmd.Env = append(os.Environ(), c.env()...)
	return run(cmd)
}

func (c *OVNCentral) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.run(args...)
	if err != nil {
		t.Fatalf("OVN central %s: %v", c.Dir, err)
	}
	return out
}

// Nbctl runs ovn-nbctl against the NB database and returns its trimmed output.
func (c *OVNCentral) Nbctl(t testing.TB, args ...string) string {
	t.Helper()
	return strings.TrimSpace(c.mustRun(t, append([]string{"ovn-nbctl", "--db=" + c.NBRemote(), "--timeout=" + secs(ovsTimeout)}, args...)...))
}

// Sbctl runs ovn-sbctl against the SB database and returns its trimmed output.
func (c *OVNCentral) Sbctl(t testing.TB, args ...string) string {
	t.Helper()
	return strings.TrimSpace(c.mustRun(t, append([]string{"ovn-sbctl", "--db=" + c.SBRemote(), "--timeout=" + secs(ovsTimeout)}, args...)...))
}

// PortBinding is the southbound binding of one logical port, with chassis by name.
type PortBinding struct {
	Exists     bool     // northd has created the binding
	Chassis    string   // "" when no chassis has claimed it
	Additional []string // additional_chassis (multi-chassis binding during a migration)
	Up         bool
	Options    map[string]string
}

func (b PortBinding) String() string {
	if !b.Exists {
		return "no Port_Binding"
	}
	s := fmt.Sprintf("chassis=%q up=%v", b.Chassis, b.Up)
	if len(b.Additional) > 0 {
		s += fmt.Sprintf(" additional_chassis=%q", b.Additional)
	}
	if v, ok := b.Options["additional-chassis-activated"]; ok {
		s += " additional-chassis-activated=" + v
	}
	return s
}

// Binding reads the Port_Binding of logical port lsp from the SB database.
func (c *OVNCentral) Binding(t testing.TB, lsp string) PortBinding {
	t.Helper()
	names := map[string]string{}
	for _, row := range c.sbRows(t, "list", "Chassis") {
		names[ovsdbUUID(row["_uuid"])] = ovsdbString(row["name"])
	}
	rows := c.sbRows(t, "find", "Port_Binding", "logical_port="+lsp)
	if len(rows) == 0 {
		return PortBinding{}
	}
	row := rows[0]
	b := PortBinding{Exists: true, Options: ovsdbMap(row["options"])}
	if u := ovsdbUUIDs(row["chassis"]); len(u) == 1 {
		b.Chassis = chassisName(names, u[0])
	}
	for _, u := range ovsdbUUIDs(row["additional_chassis"]) {
		b.Additional = append(b.Additional, chassisName(names, u))
	}
	sort.Strings(b.Additional)
	up, _ := row["up"].(bool)
	b.Up = up
	return b
}

func chassisName(names map[string]string, uuid string) string {
	if n, ok := names[uuid]; ok {
		return n
	}
	return "chassis " + uuid // a row deleted between the two reads
}

// WaitBinding polls the Port_Binding of lsp (every 50 ms) until ok holds or d has passed, and
// returns it with the time it took; it fails the test on timeout, naming what it waited for.
func (c *OVNCentral) WaitBinding(t testing.TB, lsp, what string, d time.Duration, ok func(PortBinding) bool) (PortBinding, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		b := c.Binding(t, lsp)
		if ok(b) {
			return b, time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("Port_Binding %s: waited %v for %s; it is %s", lsp, d, what, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sbRows runs an ovn-sbctl list/find with JSON output and returns the rows as column maps.
func (c *OVNCentral) sbRows(t testing.TB, args ...string) []map[string]any {
	t.Helper()
	out := c.Sbctl(t, append([]string{"--format=json"}, args...)...)
	var table struct {
		Headings []string `json:"headings"`
		Data     [][]any  `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &table); err != nil {
		t.Fatalf("ovn-sbctl %v: %v\n%s", args, err, out)
	}
	rows := make([]map[string]any, 0, len(table.Data))
	for _, d := range table.Data {
		row := map[string]any{}
		for i, h := range table.Headings {
			if i < len(d) {
				row[h] = d[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// OVSDB JSON values as ovn-sbctl --format=json prints them (RFC 7047 section 5.1).

func ovsdbUUID(v any) string {
	if a, ok := v.([]any); ok && len(a) == 2 && a[0] == "uuid" {
		s, _ := a[1].(string)
		return s
	}
	return ""
}

func ovsdbUUIDs(v any) []string {
	if u := ovsdbUUID(v); u != "" {
		return []string{u}
	}
	var out []string
	if a, ok := v.([]any); ok && len(a) == 2 && a[0] == "set" {
		elems, _ := a[1].([]any)
		for _, e := range elems {
			if u := ovsdbUUID(e); u != "" {
				out = append(out, u)
			}
		}
	}
	return out
}

func ovsdbString(v any) string {
	s, _ := v.(string)
	return s
}

func ovsdbMap(v any) map[string]string {
	m := map[string]string{}
	if a, ok := v.([]any); ok && len(a) == 2 && a[0] == "map" {
		pairs, _ := a[1].([]any)
		for _, p := range pairs {
			if kv, ok := p.([]any); ok && len(kv) == 2 {
				m[ovsdbString(kv[0])] = fmt.Sprint(kv[1])
			}
		}
	}
	return m
}

func (c *OVNCentral) teardown(t testing.TB) {
	t.Helper()
	if t.Failed() {
		pb, err := c.run("ovn-sbctl", "--db="+c.SBRemote(), "--timeout=5", "--columns=logical_port,chassis,additional_chassis,up,options", "list", "Port_Binding")
		if err != nil {
			pb = err.Error()
		}
		ch, err := c.run("ovn-sbctl", "--db="+c.SBRemote(), "--timeout=5", "--columns=_uuid,name,hostname,encaps", "list", "Chassis")
		if err != nil {
			ch = err.Error()
		}
		t.Logf("OVN central %s at failure:\n--- SB Chassis\n%s\n--- SB Port_Binding\n%s\n--- ovn-northd.log (tail)\n%s",
			c.Dir, ch, pb, tail(c.path("northd.log"), 20))
	}
	for _, d := range []string{"northd", "sb", "nb"} {
		if err := stopPid(readPidfile(c.path(d+".pid")), 5*time.Second); err != nil {
			t.Errorf("stop OVN %s in %s: %v", d, c.Dir, err)
		}
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		t.Errorf("remove OVN dir: %v", err)
	}
}

// OVNController is an ovn-controller for one simulated host: it runs in the host's namespace
// against the host's private OVS (found through OVS_RUNDIR, like the OVS tools) and reads its
// settings (ovn-remote, ovn-bridge, ovn-encap-*) from that OVS's Open_vSwitch row, which
// hostprep writes. Its pidfile, control socket and log are in Dir.
type OVNController struct {
	Dir string
	OVS *OVS
}

// StartOVNController starts ovn-controller for the host of o. Teardown stops it and on
// failure logs the tail of its log and the integration bridge's flows count.
func StartOVNController(t testing.TB, o *OVS) *OVNController {
	t.Helper()
	if _, err := exec.LookPath("ovn-controller"); err != nil {
		t.Fatalf("ovn-controller not found: install ovn-host (scripts/install-deps.sh) (%v)", err)
	}
	dir, err := os.MkdirTemp("", "hnovc")
	if err != nil {
		t.Fatalf("StartOVNController: %v", err)
	}
	c := &OVNController{Dir: dir, OVS: o}
	t.Cleanup(func() { c.teardown(t) })
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := o.Command(ctx, "ovn-controller", "unix:"+o.DBSocket(),
		"--pidfile="+c.path("ovn-controller.pid"), "--log-file="+c.path("ovn-controller.log"), "--detach")
	// ovn-controller takes no --unixctl: its control socket goes to OVN_RUNDIR.
	cmd.Env = append(cmd.Env, "OVN_RUNDIR="+dir, "OVN_LOGDIR="+dir)
	if _, err := run(cmd); err != nil {
		t.Fatalf("start ovn-controller in %s: %v", o.NS, err)
	}
	return c
}

func (c *OVNController) path(name string) string { return filepath.Join(c.Dir, name) }

// Log returns ovn-controller's log so far.
func (c *OVNController) Log(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(c.path("ovn-controller.log"))
	if err != nil {
		t.Fatalf("read ovn-controller log: %v", err)
	}
	return string(b)
}

func (c *OVNController) teardown(t testing.TB) {
	t.Helper()
	if t.Failed() {
		t.Logf("ovn-controller of %s at failure:\n--- ovn-controller.log (tail)\n%s",
			c.OVS.NS, tail(c.path("ovn-controller.log"), 40))
	}
	if err := stopPid(readPidfile(c.path("ovn-controller.pid")), 5*time.Second); err != nil {
		t.Errorf("stop ovn-controller of %s: %v", c.OVS.NS, err)
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		t.Errorf("remove ovn-controller dir: %v", err)
	}
}
