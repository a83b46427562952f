// Command hostprep prepares a KVM host's networking from host.conf: it
// checks the config against the host, builds the bridges, moves the host's
// IP configuration from the NICs onto them and sets up the OVN integration
// bridge. systemd runs `hostprep apply` at boot, before libvirtd.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/hostprep"
	"github.com/hostnet/hostnet/internal/logging"
	"github.com/hostnet/hostnet/internal/version"
)

const usage = `usage: hostprep [--config FILE] [-v] COMMAND

Commands:
  check          validate host.conf against this host and print the plan; change nothing
  apply          converge the host to host.conf (what systemd runs at boot)
  status [--json] per entry: NIC, bridge, form, addresses, state; and the host's wires
  version        print hostprep's version

Flags:
  --config FILE  host config (default $HOSTNET_CONFIG, else /etc/hostnet/host.conf)
  -v             verbose logging
  --json         status: machine-readable output

Exit status: 0 done (status: every entry ok), 1 refused, failed or not ok, 2 usage.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hostprep", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", "", "")
	verbose := fs.Bool("v", false, "")
	asJSON := fs.Bool("json", false, "")
	// Flags may come before or after the command.
	if err := fs.Parse(args); err != nil {
		return usageError(stdout, stderr, err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError(stdout, stderr, errors.New("no command"))
	}
	cmd := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return usageError(stdout, stderr, err)
	}
	if fs.NArg() > 0 {
		return usageError(stdout, stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	switch cmd {
	case "check", "apply", "status":
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version":
		fmt.Fprintln(stdout, "hostprep "+version.Version)
		return 0
	default:
		return usageError(stdout, stderr, fmt.Errorf("unknown command %q", cmd))
	}
	if *asJSON && cmd != "status" {
		return usageError(stdout, stderr, errors.New("--json goes with status"))
	}

	log := logging.ForCLI("hostprep", *verbose)
	cfg, warnings, err := config.Load(config.Path(*cfgPath))
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning: "+w.Message)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	eng, err := hostprep.Open(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer eng.Close()

	switch cmd {
	case "check":
		return check(ctx, eng, stdout, stderr)
	case "apply":
		return apply(ctx, eng, stderr)
	default:
		return status(ctx, eng, *asJSON, stdout, stderr)
	}
}

// usageError prints the usage; -h/--help is not an error.
func usageError(stdout, stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "hostprep: %v\n%s", err, usage)
	return 2
}

func check(ctx context.Context, eng *hostprep.Engine, stdout, stderr io.Writer) int {
	p, err := eng.Plan(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	if len(p.Problems) > 0 {
		fmt.Fprintln(stderr, (&hostprep.RefusedError{Problems: p.Problems}).Error())
		return 1
	}
	p.WritePlan(stdout)
	return 0
}

func apply(ctx context.Context, eng *hostprep.Engine, stderr io.Writer) int {
	if _, err := eng.Apply(ctx); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func status(ctx context.Context, eng *hostprep.Engine, asJSON bool, stdout, stderr io.Writer) int {
	p, err := eng.Plan(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "warning: "+w)
	}
	s := hostprep.StatusOf(p)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	} else {
		s.WriteText(stdout)
	}
	if !s.OK {
		return 1
	}
	return 0
}
