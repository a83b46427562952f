// Package vswitch is hostnet's typed access to the Open_vSwitch database:
// where the socket is, bridges and ports by name, and committing a change
// that ovs-vswitchd has applied before the call returns.
//
// Lookups select by name with the columns hostnet needs, never whole
// tables: the hook runs on bridges with thousands of ports.
package vswitch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hostnet/hostnet/internal/ovsdb"
)

// Database is the OVSDB database ovs-vswitchd reads.
const Database = "Open_vSwitch"

// DefaultRundir is where Debian and RHEL packages put the OVS sockets.
const DefaultRundir = "/var/run/openvswitch"

// ErrNotApplied means ovs-vswitchd did not apply a committed change before
// the deadline: it is down or overloaded. The change is in the database and
// will take effect when it catches up.
var ErrNotApplied = errors.New("ovs-vswitchd did not apply the change in time")

// Rundir returns the OVS run directory: the configured one, else
// $OVS_RUNDIR (what the OVS tools honour), else DefaultRundir.
func Rundir(configured string) string {
	if configured != "" {
		return configured
	}
	if env := os.Getenv("OVS_RUNDIR"); env != "" {
		return env
	}
	return DefaultRundir
}

// SocketPath is the ovsdb-server socket in rundir.
func SocketPath(rundir string) string { return filepath.Join(rundir, "db.sock") }

// DB is a connection to the Open_vSwitch database.
type DB struct {
	client *ovsdb.Client
}

// Open connects to the ovsdb-server of rundir.
func Open(ctx context.Context, rundir string) (*DB, error) {
	c, err := ovsdb.Dial(ctx, "unix:"+SocketPath(rundir))
	if err != nil {
		return nil, fmt.Errorf("open vswitch database (is ovsdb-server running? OVS run directory %s): %w", rundir, err)
	}
	return &DB{client: c}, nil
}

// Close ends the connection.
func (db *DB) Close() error { return db.client.Close() }

// Transact runs ops as one transaction.
func (db *DB) Transact(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.Result, error) {
	return db.client.Transact(ctx, Database, ops...)
}

// TransactApplied runs ops as one transaction that also asks ovs-vswitchd to
// acknowledge it (the next_cfg/cur_cfg handshake ovs-vsctl uses), and waits
// until it has applied it or ctx ends (ErrNotApplied). It returns the
// results of ops.
func (db *DB) TransactApplied(ctx context.Context, ops ...ovsdb.Operation) ([]ovsdb.Result, error) {
	all := append(ops[:len(ops):len(ops)],
		ovsdb.Mutate("Open_vSwitch", nil, ovsdb.MutateAdd("next_cfg", 1)),
		ovsdb.Select("Open_vSwitch", nil, "next_cfg"),
	)
	results, err := db.Transact(ctx, all...)
	if err != nil {
		return nil, err
	}
	sel := results[len(results)-1]
	if len(sel.Rows) != 1 {
		return nil, fmt.Errorf("open vswitch database has %d Open_vSwitch rows, want 1 (run ovs-vsctl init)", len(sel.Rows))
	}
	target, _, err := sel.Rows[0].Int("next_cfg")
	if err != nil {
		return nil, err
	}
	if err := db.WaitApplied(ctx, target); err != nil {
		return nil, err
	}
	return results[:len(ops)], nil
}

// WaitApplied waits until ovs-vswitchd reports cur_cfg >= target.
func (db *DB) WaitApplied(ctx context.Context, target int64) error {
	reached := make(chan struct{})
	var once sync.Once
	// check runs on the reader goroutine for updates and on this one for
	// the initial contents.
	check := func(updates ovsdb.TableUpdates) {
		for _, u := range updates["Open_vSwitch"] {
			if cur, ok, err := u.New.Int("cur_cfg"); err == nil && ok && cur >= target {
				once.Do(func() { close(reached) })
			}
		}
	}
	id := fmt.Sprintf("cur_cfg-%d-%d", target, time.Now().UnixNano())
	initial, err := db.client.Monitor(ctx, Database, id,
		map[string]ovsdb.MonitorRequest{"Open_vSwitch": {Columns: []string{"cur_cfg"}}},
		check)
	if err != nil {
		return fmt.Errorf("watch ovs-vswitchd progress: %w", err)
	}
	// The initial contents arrive as the call's result, before any update
	// notification of this monitor can be dispatched.
	check(initial)
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = db.client.MonitorCancel(cctx, id)
	}()
	select {
	case <-reached:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w (waited for configuration %d): %v", ErrNotApplied, target, ctx.Err())
	}
}
