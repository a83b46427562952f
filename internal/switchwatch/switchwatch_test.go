package switchwatch

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSwitch plays ovs-vswitchd's side of one connection on a unix socket.
func fakeSwitch(t *testing.T, dir string) (sock string, conns chan net.Conn) {
	t.Helper()
	sock = filepath.Join(dir, "br0.mgmt")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns = make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			conns <- c
		}
	}()
	return sock, conns
}

func readMsg(t *testing.T, c net.Conn) (typ byte, xid uint32, body []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(c, hdr); err != nil {
		t.Fatal(err)
	}
	body = make([]byte, int(binary.BigEndian.Uint16(hdr[2:]))-headerSize)
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	return hdr[1], binary.BigEndian.Uint32(hdr[4:]), body
}

// TestHelloEchoClose: the watcher says hello, answers echo requests with
// the same xid and data, and Wait returns nil when the switch closes.
func TestHelloEchoClose(t *testing.T) {
	sock, conns := fakeSwitch(t, t.TempDir())
	c, err := DialAny(context.Background(), filepath.Dir(sock))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Wait(context.Background()) }()

	sw := <-conns
	if typ, _, _ := readMsg(t, sw); typ != ofptHello {
		t.Fatalf("first message type %d, want hello", typ)
	}
	if err := writeMsg(sw, ofptEchoRequest, 77, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	if typ, xid, body := readMsg(t, sw); typ != ofptEchoReply || xid != 77 || !bytes.Equal(body, []byte("ping")) {
		t.Fatalf("echo reply: type %d xid %d body %q", typ, xid, body)
	}
	select {
	case err := <-done:
		t.Fatalf("Wait returned %v while the switch runs", err)
	case <-time.After(100 * time.Millisecond):
	}
	sw.Close() // ovs-vswitchd exits
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Wait after the switch closed: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return when the switch closed the connection")
	}
}

func TestWaitCancelled(t *testing.T) {
	sock, conns := fakeSwitch(t, t.TempDir())
	c, err := Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sw := <-conns
	defer sw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait ignored the cancel")
	}
}

func TestNoSwitch(t *testing.T) {
	dir := t.TempDir()
	// A socket file nobody listens on: what a killed ovs-vswitchd leaves.
	l, err := net.Listen("unix", filepath.Join(dir, "br0.mgmt"))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := DialAny(context.Background(), dir); !errors.Is(err, ErrNoSwitch) {
		t.Fatalf("DialAny with a dead socket: %v, want ErrNoSwitch", err)
	}
	if _, err := DialAny(context.Background(), t.TempDir()); !errors.Is(err, ErrNoSwitch) {
		t.Fatalf("DialAny with no socket: %v, want ErrNoSwitch", err)
	}
}

// TestIdentity: the pidfile's process with its start time; nothing for a
// missing pidfile or a dead pid.
func TestIdentity(t *testing.T) {
	dir := t.TempDir()
	if id := Identity(dir); id != "" {
		t.Errorf("no pidfile: %q", id)
	}
	if err := os.WriteFile(filepath.Join(dir, "ovs-vswitchd.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := Identity(dir)
	if !strings.HasPrefix(id, strconv.Itoa(os.Getpid())+"@") || id == strconv.Itoa(os.Getpid())+"@" {
		t.Errorf("own pid: %q", id)
	}
	if again := Identity(dir); again != id {
		t.Errorf("identity changed: %q then %q", id, again)
	}
	if err := os.WriteFile(filepath.Join(dir, "ovs-vswitchd.pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if id := Identity(dir); id != "" {
		t.Errorf("dead pid: %q", id)
	}
}
