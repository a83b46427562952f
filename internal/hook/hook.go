// Package hook is the logic of the libvirt qemu hook (DESIGN.md section 5):
// what each operation does with the domain XML, and which failures refuse
// a start or a migration and which are only logged.
//
// The rules libvirt imposes are kept here: never write to stdout (libvirt
// reads it as replacement XML for migrate and restore), never call libvirt
// (it waits for the hook: deadlock), and make stopped/release/reconnect
// never fail.
package hook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/hostnet/hostnet/internal/config"
	"github.com/hostnet/hostnet/internal/domain"
	"github.com/hostnet/hostnet/internal/plug"
	"github.com/hostnet/hostnet/internal/portspec"
	"github.com/hostnet/hostnet/internal/vswitch"
)

// Invocation is one call of the hook: libvirtd runs it as
// `hostnet DOMAIN OP SUBOP EXTRA` with the domain XML on stdin.
type Invocation struct {
	Domain, Op, SubOp, Extra string
}

// Action is what hostnet does for an operation.
type Action int

// Actions of the ops table.
const (
	Ignore   Action = iota // anything hostnet does not handle
	Validate               // prepare, migrate, restore: check the NICs against this host
	Plug                   // start: plug every NIC
	Unplug                 // stopped, release: unplug what this domain plugged
	Repair                 // reconnect, attach: re-plug in place
)

// ActionFor maps an operation to what hostnet does.
func ActionFor(op, subop string) Action {
	switch op + "/" + subop {
	case "prepare/begin", "migrate/begin", "restore/begin":
		return Validate
	case "start/begin":
		return Plug
	case "stopped/end", "release/end":
		return Unplug
	case "reconnect/begin", "attach/begin":
		return Repair
	}
	return Ignore
}

// MayFail reports whether a failure of the action stops libvirt (exit 1).
// Unplug and repair are logged and exit 0: a stop must never fail because
// cleanup did, and a running VM must never be killed by a repair.
func (a Action) MayFail() bool { return a == Validate || a == Plug }

func (a Action) String() string {
	return [...]string{"ignore", "validate", "plug", "unplug", "repair"}[a]
}

// Runner runs invocations.
type Runner struct {
	ConfigPath string
	Log        zerolog.Logger
	// Flows builds the flow table for a config; nil installs no flows.
	Flows func(*config.Config) plug.FlowTable
}

// Run handles one invocation. The returned error is what the hook prints
// on stderr before exiting 1; it is nil for every action that may not fail
// (their problems are logged).
func (r *Runner) Run(ctx context.Context, inv Invocation, domainXML []byte) error {
	action := ActionFor(inv.Op, inv.SubOp)
	if action == Ignore || !domain.MentionsHostnet(domainXML) {
		return nil
	}
	start := time.Now()
	log := r.Log.With().Str("domain", inv.Domain).Str("op", inv.Op).Str("subop", inv.SubOp).Logger()
	err := r.run(ctx, log, action, domainXML)
	if err == nil {
		return nil
	}
	ev := log.Error().Err(err).Dur("duration_ms", time.Since(start))
	if !action.MayFail() {
		ev.Msg(action.String() + " failed; libvirt goes on")
		return nil
	}
	ev.Msg(action.String() + " refused")
	return err
}

func (r *Runner) run(ctx context.Context, log zerolog.Logger, action Action, domainXML []byte) error {
	cfg, err := r.loadConfig(log, action)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.OVSTimeout)
	defer cancel()

	if action == Unplug {
		inst, err := domain.ParseInstance(domainXML)
		if err != nil {
			return err
		}
		return r.withEngine(ctx, cfg, func(e *plug.Engine) error {
			return unplug(ctx, log, e, inst)
		})
	}

	dom, err := domain.Parse(domainXML)
	if err != nil {
		return err
	}
	if len(dom.NICs) == 0 {
		return nil
	}
	return r.withEngine(ctx, cfg, func(e *plug.Engine) error {
		switch action {
		case Validate:
			return validate(ctx, log, e, dom)
		case Plug:
			return plugAll(ctx, log, e, dom, plug.Fresh)
		default:
			return plugAll(ctx, log, e, dom, plug.Repair)
		}
	})
}

// loadConfig reads host.conf. Unplug goes on with the defaults when it
// cannot (the ports must still go); every other action needs it.
func (r *Runner) loadConfig(log zerolog.Logger, action Action) (*config.Config, error) {
	cfg, warns, err := config.Load(config.Path(r.ConfigPath))
	for _, w := range warns {
		log.Warn().Str("key", w.Key).Msg(w.Message)
	}
	if err == nil {
		return cfg, nil
	}
	if action == Unplug {
		log.Warn().Err(err).Msg("host config unreadable; unplugging with the defaults")
		d := config.Defaults()
		return &d, nil
	}
	return nil, fmt.Errorf("cannot read the host config: %w", err)
}

func (r *Runner) withEngine(ctx context.Context, cfg *config.Config, fn func(*plug.Engine) error) error {
	db, err := vswitch.Open(ctx, cfg.OVSRundir)
	if err != nil {
		return err
	}
	defer db.Close()
	e := &plug.Engine{DB: db, Config: cfg}
	if r.Flows != nil {
		e.Flows = r.Flows(cfg)
	}
	return fn(e)
}

func validate(ctx context.Context, log zerolog.Logger, e *plug.Engine, dom *domain.Domain) error {
	start := time.Now()
	if err := e.Validate(ctx, dom.NICs); err != nil {
		return err
	}
	for _, n := range dom.NICs {
		nicEvent(log.Info(), n).Dur("duration_ms", time.Since(start)).Msg("NIC valid on this host")
	}
	return nil
}

func plugAll(ctx context.Context, log zerolog.Logger, e *plug.Engine, dom *domain.Domain, mode plug.Mode) error {
	start := time.Now()
	outcomes, err := e.Plug(ctx, dom.NICs, mode)
	if err != nil {
		return err
	}
	d := time.Since(start)
	for _, o := range outcomes {
		ev := nicEvent(log.Info(), o.Spec).Str("bridge", o.Bridge).Str("action", string(o.Action)).
			Int64("ofport", o.OFPort).Dur("duration_ms", d)
		if len(o.Evicted) > 0 {
			// Dead ports that carried the NIC's iface-id, removed with the plug.
			ev = ev.Strs("evicted", o.Evicted)
		}
		ev.Msg("NIC plugged")
	}
	return nil
}

func unplug(ctx context.Context, log zerolog.Logger, e *plug.Engine, inst *domain.Instance) error {
	start := time.Now()
	removals, err := e.Unplug(ctx, inst.UUID, inst.Taps)
	d := time.Since(start)
	for _, r := range removals {
		ev := log.Info().Str("tap", r.Tap).Str("bridge", r.Bridge).Dur("duration_ms", d)
		if r.Removed {
			ev.Msg("NIC unplugged")
		} else {
			ev.Str("reason", r.Reason).Msg("NIC left alone")
		}
	}
	return err
}

func nicEvent(ev *zerolog.Event, s portspec.PortSpec) *zerolog.Event {
	ev = ev.Str("tap", s.Tap).Str("mac", s.MAC).Str("target", s.Target()).
		Str("vlan_mode", string(s.Mode())).Int("vlan", s.VLAN).Str("src_check", string(s.SrcCheck))
	if len(s.Trunks) > 0 {
		ev = ev.Str("trunks", portspec.FormatTrunks(s.Trunks))
	}
	return ev
}

// OneLine turns an error (possibly several joined) into the single line
// libvirt shows the user.
func OneLine(err error) string {
	var lines []string
	for _, l := range strings.Split(err.Error(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return "hostnet: " + strings.Join(lines, "; ")
}

// ErrUsage is returned for an invocation that is not libvirt's.
var ErrUsage = errors.New("usage: hostnet DOMAIN OP SUBOP EXTRA < domain.xml (run by libvirtd as a qemu hook)")
