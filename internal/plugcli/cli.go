// Package plugcli is the `hostnet-plug` command: the plug engine for
// operators, orchestrators (NIC hot-plug: libvirt runs no hook for it) and
// the reconcile units.
package plugcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/flows"
	"github.com/hostnet/hostnet/internal/logging"
	"github.com/hostnet/hostnet/internal/plug"
	"github.com/hostnet/hostnet/internal/version"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// help is each command's section of the help, in the order shown.
var help = []struct{ name, text string }{
	{"add", `  add    Plug one tap: put it on its bridge with its VLAN settings, install
         its source-check flows and, for a VPC port, its OVN binding. Use it
         after hot-plugging a NIC (libvirt runs no hook for that). Idempotent:
         a port already plugged for this device is fixed in place, one left
         by a dead device of the same name is replaced. The live port of
         another domain is refused: to change a domain's NIC, give its
         --vm-uuid. The flags are the attributes of the domain's hostnet
         metadata.
           --tap TAP           the tap device (required)
           --mac MAC           the VM-side MAC of the NIC (required)
           --bridge BR | --wire WIRE | --vpc-port LSP   where it plugs (exactly one)
           --vlan N            1..4094; 1 (default) = untagged, every VLAN passes;
                               any other = access port of that VLAN
           --trunks LIST       e.g. 100,200-210: only these VLANs, tagged (with
                               --vlan N, N is the native, untagged one)
           --src-check MODE    on (MAC and --ip addresses), mac (MAC only) or
                               off; default: on with --ip, else mac (a VPC
                               port takes none: OVN's port_security checks it)
           --ip ADDR           an address the VM may send from (repeat)
           --vm-uuid UUID      the domain the NIC belongs to, as virsh domuuid
                               prints it (del --vm-uuid, the hook's unplug
                               and show use it)
           --vm-name NAME      the domain's name, for show and the logs
         Example: hostnet-plug add --tap vnet7 --mac 52:54:00:12:34:56 \
                    --bridge br0 --vlan 100 --ip 192.0.2.10 --vm-uuid UUID
`},
	{"del", `  del    Unplug taps: remove their ports and flows. Only ports hostnet
         plugged are touched; others are reported and left alone.
           --tap TAP           a tap to unplug (repeat)
           --vm-uuid UUID      only ports of this domain; without --tap, all of them
`},
	{"show", `  show   List hostnet's ports: tap, bridge, domain, MAC, VLAN mode, source
         check, its flows (installed/expected) and state (ok, flows
         missing, device gone, ...).
           --json              machine-readable output
`},
	{"sync", `  sync   Re-plug every live hostnet port in place and reinstall its flows,
         from what OVSDB stores on each port and from libvirt's status files
         of the running domains (libvirt is not called), which also brings
         back ports deleted by hand. Run after ovs-vswitchd restarts (the
         hostnet-reconcile unit does) or to repair ports changed by hand.
         Hostnet flows that no port has are removed. Ports whose device is
         gone are left for gc.
           --libvirt-state DIR status files (default /run/libvirt/qemu; a
                               directory given must exist)
`},
	{"gc", `  gc     Remove hostnet ports whose tap is gone or is another device now
         (a VM that crashed, a host that rebooted), or that ovs-vswitchd
         reports an error for on a device that is no tap (the loopback, a
         TUN device), and their flows; then hostnet flows that no port has
         (sync removes those too). Ports hostnet did not plug, and live
         ones, are never touched.
`},
	{"watch", `  watch  Stay running: sync now, and again each time ovs-vswitchd comes back
         after it exited, however it exited (restart, crash, kill) and
         whoever restarted it, within a second. It notices through an
         OpenFlow connection to a bridge's management socket, which
         ovs-vswitchd closes when it exits. For the hostnet-watch unit;
         hosts that only restart OVS through systemd have hostnet-reconcile.
           --libvirt-state DIR status files (default /run/libvirt/qemu)
`},
	{"version", `  version  Print the version.
`},
}

// Usage is the help of hostnet-plug.
var Usage = func() string {
	var b strings.Builder
	b.WriteString(`hostnet-plug: plug VM NICs into the host's Open vSwitch bridges, the way
the hostnet libvirt hook does it, for NIC hot-plug, inspection and repair.

Usage:
  hostnet-plug [--config FILE] COMMAND [flags]
  hostnet-plug COMMAND --help

Commands:
`)
	for _, h := range help {
		b.WriteString(h.text)
	}
	b.WriteString(globalHelp)
	return b.String()
}()

const globalHelp = `
Global flags:
  --config FILE   host config (default $HOSTNET_CONFIG, else /etc/hostnet/host.conf)
  -v              log debug detail

Exit status: 0 done, 1 failed or refused, 2 usage error.
`

// commandUsage is the help of one command.
func commandUsage(name string) string {
	for _, h := range help {
		if h.name == name {
			return "Usage: hostnet-plug [--config FILE] " + name + " [flags]\n\n" + h.text + globalHelp
		}
	}
	return Usage
}

const commandList = "the commands are add, del, show, sync, gc, watch and version"

// usageError is a command line that is wrong (exit 2): a flag missing, a
// value that does not parse.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// Run runs hostnet-plug with args (without the program name) and returns
// the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("hostnet-plug", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	var cfgPath once
	global.Var(&cfgPath, "config", "")
	verbose := global.Bool("v", false, "")
	help := global.Bool("help", false, "")
	global.BoolVar(help, "h", false, "")
	if err := global.Parse(args); err != nil {
		return printUsageError(stderr, "", flagError(global, err))
	}
	if cfgPath.set && cfgPath.value == "" {
		return printUsageError(stderr, "", fmt.Errorf("--config is empty; give the host config file, or leave the flag out for $%s or %s",
			config.EnvConfig, config.DefaultPath))
	}
	if *help {
		fmt.Fprint(stdout, Usage)
		return 0
	}
	if global.NArg() == 0 {
		return printUsageError(stderr, "", errors.New("no command given; "+commandList))
	}
	cmd, rest := global.Arg(0), global.Args()[1:]
	if cmd == "help" {
		if len(rest) > 0 {
			cmd = rest[0]
		}
		fmt.Fprint(stdout, commandUsage(cmd))
		return 0
	}
	if cmd == "version" {
		fmt.Fprintln(stdout, "hostnet-plug", version.Version)
		return 0
	}
	run, ok := commands[cmd]
	if !ok {
		return printUsageError(stderr, "", fmt.Errorf("unknown command %q; %s", cmd, commandList))
	}
	if wantsHelp(rest) {
		fmt.Fprint(stdout, commandUsage(cmd))
		return 0
	}

	// The config is read when a command first needs OVS, so a wrong
	// command line is reported as such on a host without one.
	env := &env{cfgPath: cfgPath.value, log: logging.ForCLI("hostnet-plug", *verbose), stdout: stdout}
	err := run(ctx, env, rest)
	env.closeDB()
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		return printUsageError(stderr, cmd, err)
	default:
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "hostnet-plug %s: %s\n", cmd, line)
		}
		return 1
	}
}

// printUsageError prints one line: what is wrong and where the help is.
func printUsageError(stderr io.Writer, cmd string, err error) int {
	msg := err.Error()
	prefix, helpCmd := "hostnet-plug", "hostnet-plug --help"
	if cmd != "" {
		prefix, helpCmd = "hostnet-plug "+cmd, "hostnet-plug "+cmd+" --help"
	}
	fmt.Fprintf(stderr, "%s: %s (see %s)\n", prefix, strings.ReplaceAll(msg, "\n", "; "), helpCmd)
	return 2
}

// wantsHelp reports whether a command's arguments ask for its help.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// env is what a command needs.
type env struct {
	cfgPath string
	cfg     *config.Config // once loaded
	log     zerolog.Logger
	stdout  io.Writer
	db      *vswitch.DB
}

// loadConfig reads the host config, once.
func (e *env) loadConfig() error {
	if e.cfg != nil {
		return nil
	}
	cfg, warns, err := config.Load(config.Path(e.cfgPath))
	for _, w := range warns {
		e.log.Warn().Msg(w.Message)
	}
	if err != nil {
		return err
	}
	e.cfg = cfg
	return nil
}

// open reads the host config and connects to OVS (both once), and bounds
// the command by the OVS timeout, scaled for commands that make many calls.
func (e *env) open(ctx context.Context, calls int) (context.Context, context.CancelFunc, *plug.Engine, error) {
	if err := e.loadConfig(); err != nil {
		return ctx, func() {}, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(calls)*e.cfg.OVSTimeout)
	if e.db == nil {
		db, err := vswitch.Open(ctx, e.cfg.OVSRundir)
		if err != nil {
			return ctx, cancel, nil, err
		}
		e.db = db
	}
	return ctx, cancel, &plug.Engine{DB: e.db, Config: e.cfg, Flows: flows.ForConfig(e.cfg)}, nil
}

// closeDB ends the OVS connection, if any.
func (e *env) closeDB() {
	if e.db != nil {
		e.db.Close()
		e.db = nil
	}
}

var commands = map[string]func(context.Context, *env, []string) error{
	"add":   cmdAdd,
	"del":   cmdDel,
	"show":  cmdShow,
	"sync":  cmdSync,
	"gc":    cmdGC,
	"watch": cmdWatch,
}

// newFlags makes a subcommand's flag set; parse errors are usage errors.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return flagError(fs, err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (every value goes with a flag)", fs.Arg(0))
	}
	return nil
}

// flagError says what Go's flag package reports in hostnet's words, as a
// usage error: "flag needs an argument: -tap" becomes "--tap needs a
// value". A message it does not know is passed on as it is.
func flagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return usagef("%s needs a value", flagName(name))
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if fs.Name() != "hostnet-plug" && (name == "config" || name == "v") {
			return usagef("%s goes before the command: hostnet-plug %s ... %s ...", flagName(name), flagName(name), fs.Name())
		}
		return usagef("unknown flag %s; %s", flagName(name), flagList(fs))
	}
	if arg, ok := strings.CutPrefix(msg, "bad flag syntax: "); ok {
		return usagef("%q is not a flag; write a flag as --name VALUE or --name=VALUE", arg)
	}
	if errors.Is(err, flag.ErrHelp) { // --help=VALUE
		return usagef("--help takes no value")
	}
	if name, value, problem, ok := cutValueError(msg, "invalid value ", " for flag -"); ok {
		return usagef("%s %s: %s", flagName(name), value, problem)
	}
	if name, value, _, ok := cutValueError(msg, "invalid boolean value ", " for -"); ok {
		return usagef("%s %s is not true or false; it is a switch: give it alone, without a value", flagName(name), value)
	}
	return usagef("%s", msg)
}

// cutValueError splits the flag package's PREFIX"VALUE"INFIXNAME: PROBLEM;
// value stays quoted.
func cutValueError(msg, prefix, infix string) (name, value, problem string, ok bool) {
	rest, ok := strings.CutPrefix(msg, prefix)
	if !ok {
		return "", "", "", false
	}
	value, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return "", "", "", false
	}
	rest, ok = strings.CutPrefix(rest[len(value):], infix)
	if !ok {
		return "", "", "", false
	}
	name, problem, ok = strings.Cut(rest, ": ")
	return name, value, problem, ok
}

// flagName writes a flag as the help does: -v, --tap.
func flagName(name string) string {
	if len(name) == 1 {
		return printable("-" + name)
	}
	return printable("--" + name)
}

// flagList names the flags of fs, for an unknown one.
func flagList(fs *flag.FlagSet) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "help" && f.Name != "h" {
			names = append(names, flagName(f.Name))
		}
	})
	switch {
	case fs.Name() == "hostnet-plug":
		return "the flags before the command are " + strings.Join(names, " and ") + "; a command's flags go after it"
	case len(names) == 0:
		return fs.Name() + " takes no flags"
	}
	return "the flags of " + fs.Name() + " are " + strings.Join(names, ", ")
}

// once is a string flag that may be given once: a second --tap would
// otherwise silently win over the first.
type once struct {
	value string
	set   bool
}

func (o *once) String() string { return o.value }
func (o *once) Set(v string) error {
	if o.set {
		return fmt.Errorf("given twice (%q and %q); give it once", o.value, v)
	}
	o.value, o.set = v, true
	return nil
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Main is what the thin main package calls. SIGTERM and SIGINT cancel the
// command (watch stops, exit 0).
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
