package plugcli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestBadInput: every wrong command line is refused before hostnet reads
// its config or touches OVS, with exit 2 and one line that names the flag,
// the value and the fix.
func TestBadInput(t *testing.T) {
	add := []string{"add", "--tap", "vnet0", "--mac", "52:54:00:00:00:01"}
	with := func(base []string, more ...string) []string { return append(append([]string{}, base...), more...) }
	cases := []struct {
		args []string
		want []string
	}{
		{with(add, "--bridge", "br0", "--vlan", "5000"), []string{`--vlan "5000"`, "1..4094"}},
		{with(add, "--bridge", "br0", "--vlan", "ten"), []string{`--vlan "ten"`, "1..4094"}},
		{with(add, "--bridge", "br0", "--vlan", " 0100"), []string{`--vlan " 0100" is not written as a plain VLAN ID; write 100`}},
		{with(add, "--bridge", "br0", "--vlan", "+100"), []string{`--vlan "+100"`, "write 100"}},
		{with(add, "--bridge", "br0", "--trunks", "100, 200"), []string{`--trunks "100, 200"`, "write 100,200"}},
		{with(add, "--bridge", "br0", "--ip", "255.255.255.255"), []string{"--ip 255.255.255.255 is the limited broadcast address", "unicast"}},
		{[]string{"add", "--tap", "vnet0", "--mac", "00:00:00:00:00:00", "--bridge", "br0"}, []string{`--mac: "00:00:00:00:00:00" is the all-zero MAC`, "52:54:00:12:34:56"}},
		{with(add, "--bridge", "br0", "--trunks", "300-200"), []string{`--trunks "300-200"`, "100,200-210"}},
		{with(add, "--bridge", "br0", "--ip", "10.0.0.1/24"), []string{`--ip "10.0.0.1/24"`, "without prefix"}},
		{with(add, "--bridge", "br0", "--ip", "fe80::1"), []string{"--ip fe80::1", "link-local", "unicast"}},
		{with(add, "--bridge", "br0", "--ip", "10.0.0.1", "--ip", "10.0.0.1"), []string{"--ip 10.0.0.1 is listed twice"}},
		{with(add, "--bridge", "br0", "--src-check", "yes"), []string{`--src-check "yes"`, "on, mac or off"}},
		{with(add, "--bridge", "br0", "--src-check", "on"), []string{`--src-check "on"`, "--ip ADDR", "--src-check mac"}},
		{with(add, "--bridge", "br0 -- del-br br0"), []string{"--bridge", `"br0 -- del-br br0"`}},
		{with(add, "--wire", "wire 1"), []string{"--wire", `"wire 1"`}},
		{with(add, "--vpc-port", `lsp"x`), []string{`--vpc-port "lsp\"x"`, "letters, digits"}},
		{with(add, "--vpc-port", "lsp", "--vlan", "5"), []string{"--vlan and --trunks do not apply to --vpc-port", "remove them"}},
		{with(add, "--bridge", "br0", "--wire", "wire1"), []string{`--bridge "br0" and --wire "wire1"`, "exactly one"}},
		{add, []string{"one of --bridge, --wire or --vpc-port is required"}},
		{[]string{"add", "--mac", "52:54:00:00:00:01", "--bridge", "br0"}, []string{"--tap is required", "--tap vnet0"}},
		{[]string{"add", "--tap", "vnet0", "--mac", "zz", "--bridge", "br0"}, []string{"--mac", `"zz"`, "52:54:00:12:34:56"}},
		{[]string{"add", "--tap", "vnet0,tag=5", "--mac", "52:54:00:00:00:01", "--bridge", "br0"}, []string{"--tap", "vnet0,tag=5"}},
		{[]string{"add", "--tap", "vnet0", "--mac", "01:00:5e:00:00:01", "--bridge", "br0"}, []string{"--mac", "multicast", "unicast"}},
		{with(add, "--bridge", "br0", "--colour", "red"), []string{"add: unknown flag --colour; the flags of add are --bridge, --ip, --mac,"}},
		{with(add, "--bridge", "br0", "--co\nlour"), []string{`unknown flag "--co\nlour"`}},
		{with(add, "---bridge", "br0"), []string{`"---bridge" is not a flag; write a flag as --name VALUE or --name=VALUE`}},
		{with(add, "--bridge", "br0", "--help=yes"), []string{"--help takes no value"}},
		{[]string{"gc", "--force"}, []string{"unknown flag --force; gc takes no flags"}},
		{[]string{"--colour", "gc"}, []string{"hostnet-plug: unknown flag --colour; the flags before the command are --config and -v; a command's flags go after it"}},
		{[]string{"-x", "gc"}, []string{"unknown flag -x;"}},
		{with(add, "--bridge", "br0", "stray"), []string{`unexpected argument "stray"`}},
		{with(add, "--bridge"), []string{"add: --bridge needs a value (see hostnet-plug add --help)"}},
		{[]string{"del", "--vm-uuid"}, []string{"del: --vm-uuid needs a value"}},
		{[]string{"sync", "--libvirt-state"}, []string{"sync: --libvirt-state needs a value"}},
		{[]string{"--config"}, []string{"hostnet-plug: --config needs a value (see hostnet-plug --help)"}},
		{[]string{"del"}, []string{"--tap TAP", "--vm-uuid UUID", "is required"}},
		{[]string{"show", "--yaml"}, []string{"unknown flag --yaml; the flags of show are --json"}},
		{[]string{"show", "--json=maybe"}, []string{`--json "maybe" is not true or false; it is a switch: give it alone, without a value`}},
		{[]string{"-v=maybe", "gc"}, []string{`hostnet-plug: -v "maybe" is not true or false`}},
		{[]string{"gc", "now"}, []string{`unexpected argument "now"`}},
		{[]string{"frob"}, []string{`unknown command "frob"`, "add, del, show, sync, gc"}},
		{nil, []string{"no command given", "add, del, show, sync, gc"}},
		{with(add, "--bridge", "br0", "--tap", "vnet1"), []string{`add: --tap "vnet1": given twice ("vnet0" and "vnet1"); give it once`}},
		{with(add, "--bridge", "br0", "--config", "/etc/x.conf"), []string{"--config goes before the command: hostnet-plug --config ... add ..."}},
		{with(add, "--bridge", "br0", "-v"), []string{"add: -v goes before the command: hostnet-plug -v ... add ..."}},
		{with(add, "--bridge", "br0", "--v"), []string{"-v goes before the command"}},
		{[]string{"--config", "/etc/a.conf", "--config", "/etc/b.conf", "gc"}, []string{`hostnet-plug: --config "/etc/b.conf": given twice ("/etc/a.conf" and "/etc/b.conf"); give it once`}},
		{[]string{"--config", "", "gc"}, []string{"hostnet-plug: --config is empty; give the host config file, or leave the flag out for $HOSTNET_CONFIG or /etc/hostnet/host.conf"}},
		{[]string{"del", "--vm-uuid", "8c6f6a5e-3b1d-4c2a-9e7f-0a1b2c3d4e5f", "--vm-uuid", "8c6f6a5e-3b1d-4c2a-9e7f-0a1b2c3d4e60"},
			[]string{`del: --vm-uuid "8c6f6a5e-3b1d-4c2a-9e7f-0a1b2c3d4e60": given twice`}},
		{[]string{"del", "--vm-uuid", ""}, []string{"del: --vm-uuid is empty; give the domain's UUID, or leave the flag out and name the taps with --tap"}},
		{[]string{"del", "--tap", "vnet0", "--vm-uuid="}, []string{"del: --vm-uuid is empty"}},
		{[]string{"del", "--vm-uuid", "00000000-0000-0000-0000-000000000000"}, []string{"--vm-uuid 00000000-0000-0000-0000-000000000000 is the nil UUID, which is no domain's", "virsh domuuid"}},
		{with(add, "--bridge", "br0", "--vm-uuid", ""), []string{"add: --vm-uuid is empty; give the domain's UUID, or leave the flag out for a NIC of no domain"}},
		{with(add, "--bridge", "br0", "--vm-uuid", "00000000-0000-0000-0000-000000000000"), []string{"--vm-uuid 00000000-0000-0000-0000-000000000000 is the nil UUID"}},
		{with(add, "--bridge", "br0", "--vm-uuid", "notauuid"), []string{`--vm-uuid "notauuid" is not a domain UUID`, "virsh domuuid"}},
		{[]string{"del", "--vm-uuid", "8c6f6a5e3b1d4c2a9e7f0a1b2c3d4e5f"}, []string{`--vm-uuid "8c6f6a5e3b1d4c2a9e7f0a1b2c3d4e5f" is not a domain UUID`}},
		{with(add, "--bridge", "br0", "--vm-name", "vm1\n\x1b[31mevil"), []string{`--vm-name "vm1\n\x1b[31mevil" holds control characters`, "virsh list"}},
		{with(add, "--bridge", "br0", "--vm-name", "\xff"), []string{`--vm-name "\xff" is not UTF-8`}},
		{with(add, "--bridge", "br0", "--vm-name", strings.Repeat("n", 300)), []string{"--vm-name is 300 bytes long", "at most 256"}},
		{with(add, "--vpc-port", "lsp", "--src-check", "on"), []string{`--src-check "on" on a vpc-port NIC`, "port_security"}},
		{[]string{"sync", "--libvirt-state", "/no-such-state/qemu"}, []string{`--libvirt-state "/no-such-state/qemu": no such file or directory`, "status files"}},
		{[]string{"watch", "--libvirt-state", "/dev/null"}, []string{`--libvirt-state "/dev/null" is not a directory`}},
		{[]string{"sync", "--libvirt-state", "/no-such-state/qemu", "--libvirt-state", "/run/libvirt/qemu"},
			[]string{`sync: --libvirt-state "/run/libvirt/qemu": given twice ("/no-such-state/qemu" and "/run/libvirt/qemu"); give it once`}},
		{[]string{"watch", "--libvirt-state", "/run/libvirt/qemu", "--libvirt-state", "/dev/null"}, []string{`watch: --libvirt-state "/dev/null": given twice`}},
		{[]string{"sync", "--libvirt-state", ""}, []string{"sync: --libvirt-state is empty", "/run/libvirt/qemu"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv("HOSTNET_CONFIG", "/nonexistent/host.conf") // reached = a failure of the test
			code, stdout, stderr := run(tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (usage); stderr %q", code, stderr)
			}
			if stdout != "" {
				t.Errorf("wrote to stdout: %q", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
				t.Errorf("want exactly one line on stderr, got %q", stderr)
			}
			if !strings.HasPrefix(stderr, "hostnet-plug") || !strings.Contains(stderr, "--help)") {
				t.Errorf("line does not name the program and the help: %q", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q lacks %q", stderr, w)
				}
			}
			if strings.Contains(stderr, "nonexistent") {
				t.Errorf("a usage error read the config: %q", stderr)
			}
		})
	}
}

// TestHelp: --help explains every command and every flag of add; each
// command's own --help explains it, before any config is read.
func TestHelp(t *testing.T) {
	t.Setenv("HOSTNET_CONFIG", "/nonexistent/host.conf")
	code, stdout, _ := run("--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, w := range []string{"add", "del", "show", "sync", "gc", "watch", "version", "--tap", "--mac", "--bridge", "--wire", "--vpc-port",
		"--vlan", "--trunks", "--src-check", "--ip", "--vm-uuid", "--json", "--libvirt-state", "--config", "Exit status"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("--help lacks %q", w)
		}
	}
	for cmd, words := range map[string][]string{
		"add":   {"hot-plug", "--tap", "--src-check", "on", "mac", "off", "Example"},
		"del":   {"--tap", "--vm-uuid", "left alone"},
		"show":  {"--json", "VLAN mode", "source"},
		"sync":  {"OVSDB", "status files", "libvirt is not called", "ovs-vswitchd restarts", "--libvirt-state"},
		"gc":    {"gone", "never touched"},
		"watch": {"ovs-vswitchd comes back", "crash", "hostnet-reconcile", "--libvirt-state"},
	} {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			code, stdout, stderr := run(args...)
			if code != 0 || stderr != "" {
				t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
			}
			if !strings.HasPrefix(stdout, "Usage: hostnet-plug [--config FILE] "+cmd+" ") {
				t.Errorf("%v: help does not start with the command's usage:\n%s", args, stdout)
			}
			for _, w := range words {
				if !strings.Contains(stdout, w) {
					t.Errorf("%v: help lacks %q:\n%s", args, w, stdout)
				}
			}
		}
	}
}

// show prints a domain name stored by another tool quoted when it holds
// what a terminal would act on, and as it is otherwise.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"web-1":            "web-1",
		"my vm":            "my vm",
		"vm1\n\x1b[31mred": `"vm1\n\x1b[31mred"`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %s, want %s", in, got, want)
		}
	}
}
