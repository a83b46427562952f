package ovsdb

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
)

// ErrClosed is returned by calls on a client whose connection has ended.
var ErrClosed = errors.New("ovsdb: connection closed")

// OpError is a transaction that ovsdb-server refused. Index is the failing
// operation (len(ops) for a failure at commit, such as a constraint
// violation).
type OpError struct {
	Index   int
	Op      string
	Table   string
	Err     string
	Details string
}

// ConstraintViolation reports whether the commit broke a constraint of the
// schema, such as a unique index ("constraint violation" in RFC 7047).
func (e *OpError) ConstraintViolation() bool { return e.Err == "constraint violation" }

func (e *OpError) Error() string {
	where := "commit"
	if e.Op != "" {
		where = fmt.Sprintf("operation %d (%s %s)", e.Index, e.Op, e.Table)
	}
	msg := fmt.Sprintf("ovsdb: %s failed: %s", where, e.Err)
	if e.Details != "" {
		msg += ": " + e.Details
	}
	return msg
}

// Client is one connection to ovsdb-server. It is safe for concurrent use.
type Client struct {
	endpoint string
	conn     net.Conn

	writeMu sync.Mutex
	enc     *json.Encoder

	mu       sync.Mutex
	nextID   uint64
	pending  map[uint64]chan response
	monitors map[string]func(TableUpdates)
	err      error // why the connection ended, once it has
	done     chan struct{}
}

type request struct {
	Method string `json:"method"`
	Params []any  `json:"params"`
	ID     any    `json:"id"`
}

type response struct {
	Result json.RawMessage
	Err    error
}

// message is any JSON-RPC 1.0 message: a reply (result/error) or a request
// or notification from the server (method/params).
type message struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	Result json.RawMessage   `json:"result"`
	Error  json.RawMessage   `json:"error"`
}

// Dial connects to an OVSDB endpoint: "unix:PATH", "tcp:HOST:PORT" or a
// bare socket path.
func Dial(ctx context.Context, endpoint string) (*Client, error) {
	network, addr := "unix", endpoint
	switch {
	case strings.HasPrefix(endpoint, "unix:"):
		addr = strings.TrimPrefix(endpoint, "unix:")
	case strings.HasPrefix(endpoint, "tcp:"):
		network, addr = "tcp", strings.TrimPrefix(endpoint, "tcp:")
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("ovsdb: connect to %s: %w", endpoint, err)
	}
	c := &Client{
		endpoint: endpoint,
		conn:     conn,
		enc:      json.NewEncoder(conn),
		pending:  map[uint64]chan response{},
		monitors: map[string]func(TableUpdates){},
		done:     make(chan struct{}),
	}
	go c.readLoop()
	return c, nil
}

// Endpoint returns the address the client was dialled with.
func (c *Client) Endpoint() string { return c.endpoint }

// Close ends the connection; calls in flight return ErrClosed.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}

// Transact runs ops as one atomic transaction on database db. A refusal by
// the server is an *OpError; the results are returned only when every
// operation succeeded.
func (c *Client) Transact(ctx context.Context, db string, ops ...Operation) ([]Result, error) {
	params := make([]any, 0, len(ops)+1)
	params = append(params, db)
	for _, op := range ops {
		params = append(params, op)
	}
	raw, err := c.call(ctx, "transact", params)
	if err != nil {
		return nil, err
	}
	var results []Result
	if err := json.Unmarshal(raw, &results); err != nil {
		return nil, fmt.Errorf("ovsdb: decode transact reply: %w", err)
	}
	for i, r := range results {
		if r.Error == "" {
			continue
		}
		e := &OpError{Index: i, Err: r.Error, Details: r.Details}
		if i < len(ops) {
			e.Op, e.Table = ops[i].op, ops[i].table
		}
		return nil, e
	}
	if len(results) < len(ops) {
		return nil, fmt.Errorf("ovsdb: transact reply has %d results for %d operations", len(results), len(ops))
	}
	return results[:len(ops)], nil
}

// Echo checks that the server answers.
func (c *Client) Echo(ctx context.Context) error {
	_, err := c.call(ctx, "echo", []any{"hostnet"})
	return err
}

// call sends one request and waits for its reply or ctx.
func (c *Client) call(ctx context.Context, method string, params []any) (json.RawMessage, error) {
	ch := make(chan response, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	if err := c.send(ctx, request{Method: method, Params: params, ID: id}); err != nil {
		return nil, err
	}
	select {
	case resp := <-ch:
		return resp.Result, resp.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("ovsdb: %s on %s: %w", method, c.endpoint, ctx.Err())
	}
}

func (c *Client) send(ctx context.Context, v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.conn.SetWriteDeadline(deadline)
	}
	if err := c.enc.Encode(v); err != nil {
		return fmt.Errorf("ovsdb: write to %s: %w", c.endpoint, err)
	}
	return nil
}

// readLoop decodes every message from the server: replies go to their
// caller, echo requests are answered (the server drops a silent client),
// update notifications go to their monitor's callback.
func (c *Client) readLoop() {
	defer close(c.done)
	dec := json.NewDecoder(bufio.NewReaderSize(c.conn, 64<<10))
	var err error
	for {
		var m message
		if err = dec.Decode(&m); err != nil {
			break
		}
		switch {
		case m.Method == "echo":
			_ = c.send(context.Background(), map[string]any{"id": m.ID, "result": m.Params, "error": nil})
		case m.Method == "update":
			c.dispatchUpdate(m.Params)
		case m.Method != "":
			// Other notifications (locks, update2) are not used by hostnet.
		default:
			c.deliver(m)
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("%w: %s: %v", ErrClosed, c.endpoint, err)
	for id, ch := range c.pending {
		ch <- response{Err: c.err}
		delete(c.pending, id)
	}
	c.mu.Unlock()
}

func (c *Client) deliver(m message) {
	var id uint64
	if err := json.Unmarshal(m.ID, &id); err != nil {
		return
	}
	c.mu.Lock()
	ch, ok := c.pending[id]
	c.mu.Unlock()
	if !ok {
		return
	}
	resp := response{Result: m.Result}
	if len(m.Error) > 0 && string(m.Error) != "null" {
		resp.Err = fmt.Errorf("ovsdb: %s: server error %s", c.endpoint, m.Error)
	}
	ch <- resp
}
