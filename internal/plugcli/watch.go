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
	watchRetry    = 100 * time.Millisecond
	watchMinGap   = time.Second
	watchMaxRetry = 30 * time.Second // between syncs that keep failing
)

// cmdWatch syncs at start and again each time ovs-vswitchd comes back
// after it exited, until it is stopped (SIGTERM, SIGINT).
func cmdWatch(ctx context.Context, e *env, args []string) error {
	fs := newFlags("watch")
	stateDir := &once{value: DefaultLibvirtState}
	fs.Var(stateDir, "libvirt-state", "")
	if err := parseWithStateDir(fs, args); err != nil {
		return err
	}
	if err := e.loadConfig(); err != nil {
		return err
	}
	rundir := e.cfg.OVSRundir
	e.log.Info().Str("ovs_rundir", rundir).Msg("watching for ovs-vswitchd restarts")
	var lastSync time.Time
	synced := ""            // the ovs-vswitchd last synced, "" = none or unknown
	attempted := ""         // the ovs-vswitchd of the last sync, whatever its outcome
	var retry time.Duration // after a failed sync: when to try again
	for {
		conn, err := waitForSwitch(ctx, e, rundir)
		if err != nil {
			return nil // stopped
		}
		id := switchwatch.Identity(rundir)
		if id == "" || id != synced {
			if !lastSync.IsZero() && (id != attempted || id == "") {
				e.log.Warn().Str("was", attempted).Str("now", id).Msg("ovs-vswitchd restarted; syncing ports and flows")
			}
			if id == "" {
				// Cannot tell a new process from the old one: sync, but
				// never more than once a watchMinGap.
				sleepCtx(ctx, watchMinGap-time.Since(lastSync))
			}
			lastSync, attempted = time.Now(), id
			e.cfg = nil // host.conf may have changed since the last sync
			_, err := e.sync(ctx, stateDir.value)
			// A fresh database connection for the next sync: ovsdb-server
			// may restart in between too.
			e.closeDB()
			if err != nil {
				// The rest of the host is synced; the failing domains get
				// another try, less and less often, until one succeeds.
				retry = min(max(2*retry, watchMinGap), watchMaxRetry)
				synced = ""
				e.log.Error().Err(err).Dur("retry_in", retry).Msg("sync failed")
			} else {
				retry, synced = 0, id
			}
		}
		e.log.Info().Str("socket", conn.Socket).Str("ovs_vswitchd", id).Msg("watching ovs-vswitchd")
		waitCtx, cancel := ctx, context.CancelFunc(func() {})
		if retry > 0 {
			waitCtx, cancel = context.WithTimeout(ctx, retry)
		}
		_ = conn.Wait(waitCtx)
		cancel()
		conn.Close()
		if ctx.Err() != nil {
			return nil // stopped
		}
		// It exited, closed its connections and runs on (which it does once
		// after it starts), or a retry is due: the identity tells.
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
