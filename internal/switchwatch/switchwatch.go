// Package switchwatch tells when ovs-vswitchd exits and when it runs again.
//
// OVSDB cannot tell: the database outlives the daemon, and a restarted
// ovs-vswitchd writes back the values its predecessor wrote, so a monitor
// sees nothing. An OpenFlow connection to a bridge's management socket
// (BRIDGE.mgmt in the OVS run directory) can: ovs-vswitchd accepts it while
// it runs and closes it when it exits, however it exits (stop, crash,
// kill -9), and the socket refuses connections until a new one listens.
package switchwatch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrNoSwitch means no management socket accepted a connection:
// ovs-vswitchd is not running, or has no bridge.
var ErrNoSwitch = errors.New("no ovs-vswitchd bridge accepts OpenFlow connections")

// OpenFlow message types used here.
const (
	ofptHello       = 0
	ofptEchoRequest = 2
	ofptEchoReply   = 3
	// ofVersion is the newest OpenFlow version OVS speaks (1.5). A hello
	// without a version bitmap settles on the lower of both sides' newest,
	// which is always one the bridge allows, whatever its protocols column.
	ofVersion  = 0x06
	headerSize = 8
)

// Conn is an OpenFlow connection held open to see ovs-vswitchd exit.
type Conn struct {
	conn   net.Conn
	Socket string // the management socket it is connected to
}

// DialAny connects to the first management socket in rundir that accepts,
// trying them in name order.
func DialAny(ctx context.Context, rundir string) (*Conn, error) {
	socks, err := filepath.Glob(filepath.Join(rundir, "*.mgmt"))
	if err != nil {
		return nil, fmt.Errorf("find bridge management sockets in %s: %w", rundir, err)
	}
	sort.Strings(socks)
	errs := []error{fmt.Errorf("%w (run directory %s)", ErrNoSwitch, rundir)}
	for _, s := range socks {
		c, err := Dial(ctx, s)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// Dial connects to one management socket and says hello.
func Dial(ctx context.Context, socket string) (*Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", socket, err)
	}
	if err := writeMsg(conn, ofptHello, 0, nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("hello to %s: %w", socket, err)
	}
	return &Conn{conn: conn, Socket: socket}, nil
}

// Wait answers ovs-vswitchd's echo requests until it closes the connection
// (nil: it exited, or dropped the bridge) or ctx ends (ctx's error).
func (c *Conn) Wait(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	hdr := make([]byte, headerSize)
	for {
		if _, err := io.ReadFull(c.conn, hdr); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		n := int(binary.BigEndian.Uint16(hdr[2:]))
		if n < headerSize {
			return nil // not OpenFlow: treat as gone, the caller re-checks
		}
		body := make([]byte, n-headerSize)
		if _, err := io.ReadFull(c.conn, body); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		if hdr[1] == ofptEchoRequest {
			_ = writeMsg(c.conn, ofptEchoReply, binary.BigEndian.Uint32(hdr[4:]), body)
		}
	}
}

// Close ends the connection.
func (c *Conn) Close() error { return c.conn.Close() }

func writeMsg(w io.Writer, typ byte, xid uint32, body []byte) error {
	msg := make([]byte, headerSize, headerSize+len(body))
	msg[0], msg[1] = ofVersion, typ
	binary.BigEndian.PutUint16(msg[2:], uint16(headerSize+len(body)))
	binary.BigEndian.PutUint32(msg[4:], xid)
	_, err := w.Write(append(msg, body...))
	return err
}

// Identity names the running ovs-vswitchd process: its pid and start time,
// from the pidfile in rundir and /proc. "" when it cannot tell (no pidfile,
// a dead pid). A connection can close while the same process runs on (it
// closes its management connections when a bridge's allowed OpenFlow
// versions change, as happens once after it starts): the same identity
// then means nothing was lost.
func Identity(rundir string) string {
	b, err := os.ReadFile(filepath.Join(rundir, "ovs-vswitchd.pid"))
	if err != nil {
		return ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The start time is field 22; fields after the parenthesised command
	// name, which may contain spaces, start at field 3.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" {
		return ""
	}
	return strconv.Itoa(pid) + "@" + f[19]
}
