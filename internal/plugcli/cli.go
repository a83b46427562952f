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
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/flows"
	"github.com/hostnet/hostnet/internal/logging"
	"github.com/hostnet/hostnet/internal/plug"
	"github.com/hostnet/hostnet/internal/version"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// Usage is the help of hostnet-plug.
const Usage = `hostnet-plug: plug VM NICs into the host's Open vSwitch bridges, the way
the hostnet libvirt hook does it, for NIC hot-plug, inspection and repair.

Usage:
  hostnet-plug [--config FILE] COMMAND [flags]

Commands:
  add    Plug one tap: put it on its bridge with its VLAN settings, install
         its source-check flows and, for a VPC port, its OVN binding. Use it
         after hot-plugging a NIC (libvirt runs no hook for that). Idempotent:
         a port already plugged for this device is fixed in place.
           --tap TAP           the tap device (required)
           --mac MAC           the VM-side MAC of the NIC (required)
           --bridge BR | --wire WIRE | --vpc-port LSP   where it plugs (one)
           --vlan N            1..4094; 1 (default) = untagged, every VLAN passes
           --trunks LIST       e.g. 100,200-210: only these VLANs (tagged)
           --src-check MODE    on | mac | off (default: on with --ip, else mac;
                               a VPC port takes none: OVN's port_security checks it)
           --ip ADDR           an address the VM may send from (repeat)
           --vm-uuid UUID      the domain the NIC belongs to
           --vm-name NAME
  del    Unplug taps: remove their ports and flows. Only ports hostnet
         plugged are touched.
           --tap TAP           (repeat)
           --vm-uuid UUID      only if the port belongs to this domain
  show   List hostnet's ports: tap, bridge, domain, MAC, VLAN mode, source
         check and whether its flows are in place.
           --json              machine-readable output
  sync   Re-plug every live hostnet port in place and reinstall its flows,
         from OVSDB and from libvirt's status files of the running domains
         (libvirt is not called). Run after ovs-vswitchd restarts (the
         hostnet-reconcile unit does) or to repair ports changed by hand.
           --libvirt-state DIR status files (default /run/libvirt/qemu)
  gc     Remove hostnet ports whose tap is gone (a VM that crashed, a host
         that rebooted), and their flows. Other ports are never touched.
  version

Global flags:
  --config FILE   host config (default $HOSTNET_CONFIG, else /etc/hostnet/host.conf)
  -v              log debug detail

Exit status: 0 done, 1 failed or refused, 2 usage error.
`

// errUsage marks a command line that is wrong (exit 2).
var errUsage = errors.New("usage")

// Run runs hostnet-plug with args (without the program name) and returns
// the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("hostnet-plug", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	cfgPath := global.String("config", "", "")
	verbose := global.Bool("v", false, "")
	help := global.Bool("help", false, "")
	global.BoolVar(help, "h", false, "")
	if err := global.Parse(args); err != nil {
		return usageError(stderr, err)
	}
	if *help || global.NArg() == 0 || global.Arg(0) == "help" {
		fmt.Fprint(stdout, Usage)
		if global.NArg() == 0 && !*help {
			return 2
		}
		return 0
	}
	cmd, rest := global.Arg(0), global.Args()[1:]
	if cmd == "version" {
		fmt.Fprintln(stdout, "hostnet-plug", version.Version)
		return 0
	}
	run, ok := commands[cmd]
	if !ok {
		return usageError(stderr, fmt.Errorf("unknown command %q", cmd))
	}

	log := logging.ForCLI("hostnet-plug", *verbose)
	cfg, warns, err := config.Load(config.Path(*cfgPath))
	for _, w := range warns {
		log.Warn().Msg(w.Message)
	}
	if err != nil {
		fmt.Fprintf(stderr, "hostnet-plug: %v\n", err)
		return 1
	}
	env := &env{cfg: cfg, log: log, stdout: stdout}
	err = run(ctx, env, rest)
	if env.db != nil {
		env.db.Close()
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return usageError(stderr, err)
	default:
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "hostnet-plug %s: %s\n", cmd, line)
		}
		return 1
	}
}

func usageError(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "hostnet-plug: %v\nRun hostnet-plug --help for usage.\n", err)
	return 2
}

// env is what a command needs.
type env struct {
	cfg    *config.Config
	log    zerolog.Logger
	stdout io.Writer
	db     *vswitch.DB
}

// engine connects to OVS (once) and returns the plug engine.
func (e *env) engine(ctx context.Context) (*plug.Engine, error) {
	if e.db == nil {
		db, err := vswitch.Open(ctx, e.cfg.OVSRundir)
		if err != nil {
			return nil, err
		}
		e.db = db
	}
	return &plug.Engine{DB: e.db, Config: e.cfg, Flows: flows.ForConfig(e.cfg)}, nil
}

// withTimeout bounds one command by the OVS timeout, scaled for commands
// that make many calls.
func (e *env) withTimeout(ctx context.Context, calls int) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, time.Duration(calls)*e.cfg.OVSTimeout)
}

var commands = map[string]func(context.Context, *env, []string) error{
	"add":  cmdAdd,
	"del":  cmdDel,
	"show": cmdShow,
	"sync": cmdSync,
	"gc":   cmdGC,
}

// newFlags makes a subcommand's flag set; parse errors are usage errors.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Main is what the thin main package calls.
func Main() {
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
