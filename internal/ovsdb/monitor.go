package ovsdb

import (
	"context"
	"encoding/json"
	"fmt"
)

// RowUpdate is the old and new state of one row; Old is nil for an insert,
// New is nil for a delete.
type RowUpdate struct {
	Old Row `json:"old"`
	New Row `json:"new"`
}

// TableUpdates maps table name to row UUID to update.
type TableUpdates map[string]map[string]RowUpdate

// MonitorRequest names the columns to watch in one table.
type MonitorRequest struct {
	Columns []string `json:"columns,omitempty"`
}

// Monitor starts watching tables of db. It returns the current contents,
// and calls onUpdate from the client's reader goroutine for every later
// change, so onUpdate must not block or call back into the client.
func (c *Client) Monitor(ctx context.Context, db, id string, tables map[string]MonitorRequest, onUpdate func(TableUpdates)) (TableUpdates, error) {
	c.mu.Lock()
	c.monitors[id] = onUpdate
	c.mu.Unlock()
	raw, err := c.call(ctx, "monitor", []any{db, id, tables})
	if err != nil {
		c.forgetMonitor(id)
		return nil, err
	}
	var initial TableUpdates
	if err := json.Unmarshal(raw, &initial); err != nil {
		c.forgetMonitor(id)
		return nil, fmt.Errorf("ovsdb: decode monitor %s reply: %w", id, err)
	}
	return initial, nil
}

// MonitorCancel stops a monitor started with Monitor.
func (c *Client) MonitorCancel(ctx context.Context, id string) error {
	defer c.forgetMonitor(id)
	_, err := c.call(ctx, "monitor_cancel", []any{id})
	return err
}

func (c *Client) forgetMonitor(id string) {
	c.mu.Lock()
	delete(c.monitors, id)
	c.mu.Unlock()
}

func (c *Client) dispatchUpdate(params []json.RawMessage) {
	if len(params) != 2 {
		return
	}
	var id string
	if err := json.Unmarshal(params[0], &id); err != nil {
		return
	}
	c.mu.Lock()
	fn := c.monitors[id]
	c.mu.Unlock()
	if fn == nil {
		return
	}
	var updates TableUpdates
	if err := json.Unmarshal(params[1], &updates); err != nil {
		return
	}
	fn(updates)
}
