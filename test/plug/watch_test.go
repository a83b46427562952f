package plug_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// syncBuffer collects a process's output for a test that reads it while
// the process runs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatch: `hostnet-plug watch` puts flows back, source checks included,
// within 5 s of ovs-vswitchd coming back, whether it was restarted or
// crashed (SIGKILL, no cleanup) and with no systemd to tell anyone; it
// does not spin while nothing happens, and stops cleanly on SIGTERM.
func TestWatch(t *testing.T) {
	h := newHost(t)
	peer := h.ovs.AddPeer(t, "br0", 100, "10.49.0.2/24")
	vm := h.vm(t, "vnet0", "52:54:00:00:49:01", "10.49.0.1/24")
	h.mustHook(t, "w", "start", "begin", domainXML("w", uuidA,
		nic{mac: "52:54:00:00:49:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.49.0.1"}}))
	const cookie = "0x484e525400004901"
	flowsBefore := flowTexts(h.flows(t, "br0", cookie))
	peerMAC := macOf(t, peer, "eth0")
	c := harness.StartCapture(t, peer, "eth0", "")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := h.ns.Command(ctx, harness.Binary(t, "./plug"), "watch", "--libvirt-state", t.TempDir())
	cmd.Env = append(os.Environ(), "HOSTNET_CONFIG="+h.conf)
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("hostnet-plug watch output:\n%s", logs.String())
		}
	})
	waitLog := func(what string, n int, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for strings.Count(logs.String(), what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("watch did not log %q %d times within %v:\n%s", what, n, timeout, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitLog("watching ovs-vswitchd", 1, 20*time.Second)

	for i, ev := range []struct {
		name string
		do   func()
	}{
		{"restart", func() { h.ovs.RestartVswitchd(t) }},
		{"crash", func() { h.ovs.KillVswitchd(t); h.ovs.StartVswitchd(t) }},
	} {
		start := time.Now()
		ev.do()
		for flowTexts(h.flows(t, "br0", cookie)) != flowsBefore {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("%s: flows not back 5 s after ovs-vswitchd went down:\n%s", ev.name, flowTexts(h.flows(t, "br0", cookie)))
			}
			time.Sleep(50 * time.Millisecond)
		}
		back := time.Since(start)
		expectPing(t, vm, "", "10.49.0.2")
		id := "49" + string(rune('1'+i))
		expectBlocked(t, c,
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.49.0.99", "-dst", "10.49.0.2", "-dst-mac", peerMAC, "-id", id+"1")
			}, []string{"id " + id + "1"},
			func() {
				rawframe(t, vm, "eth0", "-kind", "icmp4", "-src", "10.49.0.1", "-dst", "10.49.0.2", "-dst-mac", peerMAC, "-id", id+"2")
			}, []string{"id " + id + "2"})
		working := time.Since(start)
		t.Logf("%s: flows back %v after ovs-vswitchd went down, traffic and source checks verified after %v",
			ev.name, back.Round(time.Millisecond), working.Round(time.Millisecond))
		if working > 5*time.Second {
			t.Errorf("%s: traffic and source checks back only after %v; want within 5 s", ev.name, working)
		}
		waitLog("ovs-vswitchd restarted", i+1, 5*time.Second)
		waitLog("watching ovs-vswitchd", i+2, 5*time.Second)
	}

	// Nothing happens: no sync.
	syncs := strings.Count(logs.String(), "sync done")
	time.Sleep(3 * time.Second)
	if now := strings.Count(logs.String(), "sync done"); now != syncs {
		t.Errorf("watch synced %d times while ovs-vswitchd kept running", now-syncs)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		if err != nil {
			t.Errorf("watch exited %v on SIGTERM, want 0", err)
		}
		exited <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Errorf("watch still runs 5 s after SIGTERM")
	}
}

// startWatch runs `hostnet-plug watch` in the host namespace until the
// test ends, and waits until it watches.
func (h *host) startWatch(t *testing.T, stateDir string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := h.ns.Command(ctx, harness.Binary(t, "./plug"), "watch", "--libvirt-state", stateDir)
	cmd.Env = append(os.Environ(), "HOSTNET_CONFIG="+h.conf)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("hostnet-plug watch output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "watching ovs-vswitchd ") {
		if time.Now().After(deadline) {
			t.Fatalf("watch did not start watching:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return logs
}

// TestWatchRetriesFailedSync: a running domain that cannot be plugged (its
// bridge is missing) does not keep the others from getting their flows
// back after a restart, and watch tries it again, less and less often,
// until it works: here once the bridge exists, with no restart of OVS.
func TestWatchRetriesFailedSync(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:4a:01", "10.50.0.1/24")
	h.mustHook(t, "good", "start", "begin", domainXML("good", uuidA,
		nic{mac: "52:54:00:00:4a:01", tap: "vnet0", attrs: `bridge="br0" vlan="100"`, ips: []string{"10.50.0.1"}}))
	h.vm(t, "vbad", "52:54:00:00:4a:02", "")
	state := t.TempDir()
	writeFile(t, state+"/bad.xml", "<domstatus state='running'>\n"+domainXML("bad", uuidB,
		nic{mac: "52:54:00:00:4a:02", tap: "vbad", attrs: `bridge="brlate" vlan="7"`})+"</domstatus>\n")
	const cookie = "0x484e525400004a01"
	flows := flowTexts(h.flows(t, "br0", cookie))

	logs := h.startWatch(t, state)
	if !strings.Contains(logs.String(), "sync failed") || !strings.Contains(logs.String(), "brlate") {
		t.Fatalf("watch did not report the domain it cannot plug:\n%s", logs.String())
	}
	start := time.Now()
	h.ovs.RestartVswitchd(t)
	for flowTexts(h.flows(t, "br0", cookie)) != flows {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the good domain's flows are not back 5 s after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}

	h.ovs.AddBridge(t, "brlate")
	deadline := time.Now().Add(45 * time.Second) // the retry interval has grown to a few seconds
	for {
		out, err := h.ovs.VsctlErr("port-to-br", "vbad")
		if err == nil && strings.TrimSpace(out) == "brlate" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch did not plug vbad once brlate existed:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := h.get(t, "port", "vbad", "tag"); got != "7" {
		t.Errorf("vbad tag = %s, want 7", got)
	}
	// Once that sync has been logged as a success, watch only watches.
	for {
		text := strings.TrimSpace(logs.String())
		last := text[strings.LastIndex(text, "\n")+1:]
		if strings.Contains(last, "watching ovs-vswitchd ") && !strings.Contains(text[strings.LastIndex(text, "sync done"):], "sync failed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch did not log a successful sync:\n%s", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
	syncs := strings.Count(logs.String(), "sync done")
	time.Sleep(3 * time.Second)
	if now := strings.Count(logs.String(), "sync done"); now != syncs {
		t.Errorf("watch kept syncing after a sync succeeded (%d more)", now-syncs)
	}
}
