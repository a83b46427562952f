package plug_test

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// allOps is every operation libvirt runs the qemu hook with, and a few it
// might add later.
var allOps = [][2]string{
	{"prepare", "begin"}, {"start", "begin"}, {"started", "begin"}, {"stopped", "end"}, {"release", "end"},
	{"migrate", "begin"}, {"restore", "begin"}, {"reconnect", "begin"}, {"attach", "begin"}, {"shutdown", "end"}, {"future-op", "begin"},
}

// TestOpsTable checks DESIGN.md section 5 row by row: which ops plug, which
// unplug, which only validate, which do nothing, and that none writes to
// stdout (runHook fails the test if one does).
func TestOpsTable(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:08:01", "")
	xml := domainXML("vm", uuidA, nic{mac: "52:54:00:00:08:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	plugged := func() bool { return h.get(t, "port", "vnet0", "_uuid") != "" }

	for _, op := range allOps {
		h.mustHook(t, "vm", "stopped", "end", xml) // start each row from an unplugged tap
		r := h.mustHook(t, "vm", op[0], op[1], xml)
		want := op[0] == "start" || op[0] == "reconnect" || op[0] == "attach"
		if plugged() != want {
			t.Errorf("%s %s: plugged=%v, want %v (stderr %q)", op[0], op[1], plugged(), want, r.stderr)
		}
	}
	// And the unplugging ops do unplug, release even from an XML without
	// tap names (what libvirt passes it).
	noTaps := strings.Replace(xml, "<target dev='vnet0'/>", "", 1)
	for _, op := range [][2]string{{"stopped", "end"}, {"release", "end"}} {
		h.mustHook(t, "vm", "start", "begin", xml)
		h.mustHook(t, "vm", op[0], op[1], noTaps)
		if plugged() {
			t.Errorf("%s %s left the port", op[0], op[1])
		}
	}
}

// TestRefusalsPerOp: an invalid NIC refuses prepare, start, migrate and
// restore with one line on stderr; every other op exits 0.
func TestRefusalsPerOp(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:09:01", "")
	for name, n := range map[string]nic{
		"missing bridge": {mac: "52:54:00:00:09:01", tap: "vnet0", attrs: `bridge="brmissing" vlan="100"`},
		"missing wire":   {mac: "52:54:00:00:09:01", tap: "vnet0", attrs: `wire="wire7"`},
		"bad vlan":       {mac: "52:54:00:00:09:01", tap: "vnet0", attrs: `bridge="br0" vlan="4095"`},
		"mac mismatch":   {mac: "52:54:00:00:09:01", tap: "vnet0", attrs: ``},
	} {
		xml := domainXML("vm", uuidA, n)
		if name == "mac mismatch" {
			xml = strings.Replace(xml, "<hostnet:interfaces xmlns:hostnet=\"urn:hostnet:domain:1\">\n",
				"<hostnet:interfaces xmlns:hostnet=\"urn:hostnet:domain:1\">\n<hostnet:interface mac=\"52:54:00:00:09:99\" bridge=\"br0\"/>\n", 1)
		}
		for _, op := range allOps {
			r := h.runHook(t, "vm", op[0], op[1], xml)
			refuses := map[string]bool{"prepare": true, "start": true, "migrate": true, "restore": true}[op[0]]
			switch {
			case refuses && r.code != 1:
				t.Errorf("%s: %s %s exited %d, want 1", name, op[0], op[1], r.code)
			case refuses && (!strings.HasPrefix(r.stderr, "hostnet: ") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0):
				t.Errorf("%s: %s %s: stderr is not one line starting with hostnet: %q", name, op[0], op[1], r.stderr)
			case !refuses && r.code != 0:
				t.Errorf("%s: %s %s exited %d, want 0: %s", name, op[0], op[1], r.code, r.stderr)
			}
		}
		if got := h.get(t, "port", "vnet0", "_uuid"); got != "" {
			t.Errorf("%s: an invalid NIC got plugged", name)
		}
	}
}

// TestMigrateIntoHostWithoutBridge: the incoming domain's NIC names a
// bridge this host lacks: the migration is refused before anything starts;
// with the bridge it is accepted and nothing is plugged yet.
func TestMigrateIntoHostWithoutBridge(t *testing.T) {
	h := newHost(t)
	incoming := domainXML("mig", uuidA,
		nic{mac: "52:54:00:00:0a:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`},
		nic{mac: "52:54:00:00:0a:02", tap: "vnet1", attrs: `bridge="brstorage" vlan="5"`})
	r := h.runHook(t, "mig", "migrate", "begin", incoming)
	if r.code != 1 || !strings.Contains(r.stderr, "brstorage") {
		t.Fatalf("migrate exited %d with %q; want a refusal naming brstorage", r.code, r.stderr)
	}
	h.ovs.AddBridge(t, "brstorage")
	h.mustHook(t, "mig", "migrate", "begin", incoming)
	if got := h.ovs.Vsctl(t, "list-ports", "brstorage"); got != "" {
		t.Errorf("migrate plugged ports: %q", got)
	}
}

// TestCleanupWithOVSDown: stopped, release and reconnect exit 0 when OVS is
// down, within the configured timeout (2 s); start fails clearly.
func TestCleanupWithOVSDown(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:0b:01", "")
	xml := domainXML("vm", uuidA, nic{mac: "52:54:00:00:0b:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	h.mustHook(t, "vm", "start", "begin", xml)

	const bound = 2*time.Second + 1500*time.Millisecond // ovs_timeout plus process start
	check := func(what string) {
		for _, op := range [][2]string{{"stopped", "end"}, {"release", "end"}, {"reconnect", "begin"}, {"attach", "begin"}} {
			r := h.runHook(t, "vm", op[0], op[1], xml)
			if r.code != 0 {
				t.Errorf("%s: %s %s exited %d: %s", what, op[0], op[1], r.code, r.stderr)
			}
			if r.took > bound {
				t.Errorf("%s: %s %s took %v, more than %v", what, op[0], op[1], r.took, bound)
			}
		}
		r := h.runHook(t, "vm", "start", "begin", xml)
		if r.code != 1 || r.stderr == "" || r.took > bound {
			t.Errorf("%s: start exited %d after %v with %q; want a clear refusal within %v", what, r.code, r.took, r.stderr, bound)
		}
	}

	// ovs-vswitchd down, the database up: the unplug is committed, the
	// wait for ovs-vswitchd runs into the timeout.
	h.ovs.StopVswitchd(t)
	check("ovs-vswitchd down")
	// Both down: the socket is gone.
	h.ovs.StopDB(t)
	check("ovsdb-server down")
	if data, err := os.ReadFile(h.logFile); err != nil || !strings.Contains(string(data), "libvirt goes on") {
		t.Errorf("the failed cleanups are not logged: %v\n%s", err, data)
	}
}

// TestUnrelatedDomainsUntouched: a domain without hostnet metadata costs
// nothing and needs nothing: no config, no OVS.
func TestUnrelatedDomainsUntouched(t *testing.T) {
	h := newHost(t)
	xml := `<domain type='qemu'><name>plain</name><uuid>` + uuidB + `</uuid><devices>
<interface type='bridge'><mac address='52:54:00:00:0c:01'/><source bridge='virbr0'/><target dev='vnet0'/></interface>
</devices></domain>`
	for _, op := range allOps {
		r := h.runHook(t, "plain", op[0], op[1], xml, "HOSTNET_CONFIG=/nonexistent/host.conf")
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s %s on a domain without hostnet metadata: exit %d, stderr %q", op[0], op[1], r.code, r.stderr)
		}
	}
	// With hostnet metadata and no config, start is refused and says why.
	r := h.runHook(t, "vm", "start", "begin", domainXML("vm", uuidA, nic{mac: "52:54:00:00:0c:02", tap: "vnet1", attrs: `bridge="br0"`}),
		"HOSTNET_CONFIG=/nonexistent/host.conf")
	if r.code != 1 || !strings.Contains(r.stderr, "/nonexistent/host.conf") {
		t.Errorf("start without config: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestActionsLogged: each plug and unplug is logged with domain, op, tap,
// bridge, VLAN and duration: to the journal when its socket is there (a
// real unixgram socket here, read as journald would), else to the log file.
func TestActionsLogged(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:0d:01", "")
	xml := domainXML("logged", uuidA, nic{mac: "52:54:00:00:0d:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})

	sock := filepath.Join(h.dir, "journal.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := h.runHook(t, "logged", "start", "begin", xml, "HOSTNET_JOURNAL_SOCKET="+sock)
	if r.code != 0 {
		t.Fatalf("start: %s", r.stderr)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no journal entry: %v", err)
	}
	entry := string(buf[:n])
	for _, want := range []string{"SYSLOG_IDENTIFIER=hostnet\n", "MESSAGE=NIC plugged\n", "DOMAIN=logged\n", "OP=start\n", "TAP=vnet0\n",
		"BRIDGE=br0\n", "VLAN=100\n", "VLAN_MODE=access\n", "ACTION=created\n", "DURATION_MS="} {
		if !strings.Contains(entry, want) {
			t.Errorf("journal entry lacks %q:\n%s", want, entry)
		}
	}

	// No journal: JSON lines in the log file.
	h.mustHook(t, "logged", "stopped", "end", xml)
	data, err := os.ReadFile(h.logFile)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if ev["message"] == "NIC unplugged" {
			found = true
			for _, k := range []string{"domain", "op", "tap", "bridge", "duration_ms", "time"} {
				if _, ok := ev[k]; !ok {
					t.Errorf("unplug log line lacks %s: %s", k, line)
				}
			}
		}
	}
	if !found {
		t.Errorf("no unplug line in the log file:\n%s", data)
	}
}

// TestOversizeDomainXML: a domain XML over the hook's 16 MiB bound is never
// judged from its truncated start: prepare and start refuse it with one
// line (even when its start is valid), while a stop still exits 0 and
// unplugs what it can.
func TestOversizeDomainXML(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:0a:01", "")
	xml := domainXML("vm", uuidA, nic{mac: "52:54:00:00:0a:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`})
	h.mustHook(t, "vm", "start", "begin", xml)
	// Valid XML whose bad hostnet entry comes after 17 MiB of comment.
	bad := `<hostnet:interface mac="52:54:00:00:0a:01" wire="wire9"/>`
	huge := strings.Replace(xml, "</domain>", "<!-- "+strings.Repeat("x", 17<<20)+" -->\n<metadata>"+bad+"</metadata></domain>", 1)
	for _, op := range [][2]string{{"prepare", "begin"}, {"start", "begin"}} {
		r := h.runHook(t, "vm", op[0], op[1], huge)
		if r.code != 1 || !strings.Contains(r.stderr, "is over 16 MiB") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%s %s of a 17 MiB domain XML: want exit 1 and one line saying it is over 16 MiB, got %d %q", op[0], op[1], r.code, r.stderr)
		}
	}
	if r := h.runHook(t, "vm", "stopped", "end", huge); r.code != 0 {
		t.Errorf("stopped end of a 17 MiB domain XML: exit %d, want 0 (%q)", r.code, r.stderr)
	}
	if got := h.get(t, "port", "vnet0", "_uuid"); got != "" {
		t.Errorf("stopped end of an oversize XML left vnet0 plugged")
	}
}
