package plugcli

import (
	"context"
	"errors"
	"time"

	"github.com/hostnet/hostnet/internal/switchwatch"
)

// How often watch looks for ovs-vswitchd while it is down, and the least
// time between two syncs (a connection that keeps closing at once must not
// make watch spin).
const (
	watchRetry  = 100 * time.Millisecond
	watchMinGap = time.Second
)

// cmdWatch syncs at start and again each time ovs-vswitchd comes back
// after it exited, until it is stopped (SIGTERM, SIGINT).
func cmdWatch(ctx context.Context, e *env, args []string) error {
	fs := newFlags("watch")
	stateDir := fs.String("libvirt-state", DefaultLibvirtState, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := e.loadConfig(); err != nil {
		return err
	}
	rundir := e.cfg.OVSRundir
	e.log.Info().Str("ovs_rundir", rundir).Msg("watching for ovs-vswitchd restarts")
	var lastSync time.Time
	synced := "" // the ovs-vswitchd last synced, "" = none or unknown
	for {
		conn, err := waitForSwitch(ctx, e, rundir)
		if err != nil {
			return nil // stopped
		}
		id := switchwatch.Identity(rundir)
		if id == "" || id != synced {
			if !lastSync.IsZero() {
				e.log.Warn().Str("was", synced).Str("now", id).Msg("ovs-vswitchd restarted; syncing ports and flows")
			}
			if id == "" {
				// Cannot tell a new process from the old one: sync, but
				// never more than once a watchMinGap.
				sleepCtx(ctx, watchMinGap-time.Since(lastSync))
			}
			lastSync = time.Now()
			if _, err := e.sync(ctx, *stateDir); err != nil {
				// Logged and kept going: the rest of the host is synced,
				// and the failing domain is the operator's to look at.
				e.log.Error().Err(err).Msg("sync failed")
			}
			synced = id
			// A fresh database connection for the next sync: ovsdb-server
			// may restart in between too.
			e.closeDB()
		}
		e.log.Info().Str("socket", conn.Socket).Str("ovs_vswitchd", id).Msg("watching ovs-vswitchd")
		err = conn.Wait(ctx)
		conn.Close()
		if err != nil {
			return nil // stopped
		}
		// It exited, or closed its connections and runs on (which it does
		// once after it starts): the identity after reconnecting tells.
		e.log.Debug().Msg("ovs-vswitchd closed the OpenFlow connection")
	}
}

// waitForSwitch returns a connection to a running ovs-vswitchd, trying
// every watchRetry, or ctx's error once stopped.
func waitForSwitch(ctx context.Context, e *env, rundir string) (*switchwatch.Conn, error) {
	logged := false
	for {
		conn, err := switchwatch.DialAny(ctx, rundir)
		if err == nil {
			return conn, nil
		}
		if !logged && errors.Is(err, switchwatch.ErrNoSwitch) {
			e.log.Warn().Err(err).Msg("ovs-vswitchd is not running; waiting for it")
			logged = true
		}
		if !sleepCtx(ctx, watchRetry) {
			return nil, ctx.Err()
		}
	}
}

// sleepCtx sleeps d (nothing when d <= 0); false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
