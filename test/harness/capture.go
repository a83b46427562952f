package harness

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Capture is tcpdump listening on one interface of a namespace: the independent witness of
// which frames arrived there. It captures inbound frames only (-Q in), prints link-level
// headers (-e) and numbers (-nn), one line per frame, e.g.
//
//	52:54:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 10.0.0.2 tell 10.0.0.1, length 28
type Capture struct {
	NS  *Netns
	Dev string

	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	lines []string
}

// StartCapture starts tcpdump on dev in ns with a pcap filter ("" = everything) and returns
// once tcpdump listens, so no frame sent afterwards is missed. Teardown stops it.
func StartCapture(t testing.TB, ns *Netns, dev, filter string) *Capture {
	t.Helper()
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatalf("tcpdump not found: install tcpdump (%v)", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	args := []string{"tcpdump", "-i", dev, "-Q", "in", "-nn", "-e", "-l", "--immediate-mode"}
	if filter != "" {
		args = append(args, strings.Fields(filter)...)
	}
	c := &Capture{NS: ns, Dev: dev, cancel: cancel, done: make(chan struct{})}
	c.cmd = ns.Command(ctx, args...)
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(syscall.SIGTERM) }
	c.cmd.WaitDelay = 5 * time.Second
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("StartCapture: %v", err)
	}
	var stderr lockedBuffer
	c.cmd.Stderr = &stderr
	if err := c.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start tcpdump in %s: %v", ns, err)
	}
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
		}
		_ = c.cmd.Wait()
	}()
	t.Cleanup(c.stop)

	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(stderr.String(), "listening on") {
		select {
		case <-c.done:
			t.Fatalf("tcpdump on %s in %s exited: %s", dev, ns, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump on %s in %s is not listening after 15 s: %s", dev, ns, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// Lines returns the frames captured so far.
func (c *Capture) Lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// Matching returns the captured lines that contain every one of subs.
func (c *Capture) Matching(subs ...string) []string {
	var out []string
	for _, l := range c.Lines() {
		all := true
		for _, s := range subs {
			if !strings.Contains(l, s) {
				all = false
				break
			}
		}
		if all {
			out = append(out, l)
		}
	}
	return out
}

// WaitFor waits up to timeout for a captured line containing every one of subs and fails
// the test, listing what was captured, if none arrives.
func (c *Capture) WaitFor(t testing.TB, timeout time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if m := c.Matching(subs...); len(m) > 0 {
			return m[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frame with %q reached %s in %s within %s; captured:\n%s", subs, c.Dev, c.NS, timeout, strings.Join(c.Lines(), "\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *Capture) stop() {
	c.cancel()
	<-c.done
}

// lockedBuffer is a bytes.Buffer safe for the writer goroutine of exec and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
