// Command hostnet is the libvirt qemu hook, installed as
// /etc/libvirt/hooks/qemu.d/hostnet: libvirtd runs it as
// `hostnet DOMAIN OP SUBOP EXTRA` with the domain XML on stdin.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/hostnet/hostnet/internal/flows"
	"github.com/hostnet/hostnet/internal/hook"
	"github.com/hostnet/hostnet/internal/logging"
)

// maxDomainXML bounds what is read from stdin.
const maxDomainXML = 16 << 20

func main() {
	os.Exit(run())
}

func run() int {
	// libvirt reads stdout as replacement XML for migrate and restore:
	// nothing may ever be written there.
	os.Stdout = nil
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, hook.ErrUsage)
		return 2
	}
	args := append(os.Args[1:], "")
	inv := hook.Invocation{Domain: args[0], Op: args[1], SubOp: args[2], Extra: args[3]}

	// Read all of stdin whatever the op: libvirt writes the whole XML.
	xml, err := io.ReadAll(io.LimitReader(os.Stdin, maxDomainXML+1))
	if err != nil {
		fmt.Fprintf(os.Stderr, "hostnet: read domain XML of %s from stdin: %v\n", inv.Domain, err)
		return 1
	}
	if len(xml) > maxDomainXML {
		// A truncated document could hide hostnet's metadata: never judge
		// one. Cleanup ops go on with what was read (they must not fail).
		if hook.ActionFor(inv.Op, inv.SubOp).MayFail() {
			fmt.Fprintf(os.Stderr, "hostnet: domain XML of %s is over %d MiB on stdin; hostnet does not judge a truncated document: shrink the domain's XML (metadata, descriptions)\n", inv.Domain, maxDomainXML>>20)
			return 1
		}
		xml = xml[:maxDomainXML]
	}

	log, closer := logging.ForDaemonless("hostnet")
	defer closer.Close()
	r := hook.Runner{ConfigPath: os.Getenv("HOSTNET_CONFIG"), Log: log, Flows: flows.ForConfig}
	if err := r.Run(context.Background(), inv, xml); err != nil {
		fmt.Fprintln(os.Stderr, hook.OneLine(err))
		return 1
	}
	return 0
}
