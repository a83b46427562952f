package harness

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"
)

// Ping sends single pings (1 s timeout each) from ns to ip, up to three attempts (the first
// may be spent on ARP/ND), and returns nil on the first reply.
func Ping(ns *Netns, ip string) error {
	var err error
	for range 3 {
		if _, err = ns.Run("ping", "-c", "1", "-W", "1", ip); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s cannot reach %s: %w", ns, ip, err)
}

// ExpectReach fails the test unless from reaches ip within 10 s (userspace OVS may need a moment
// to learn MACs or apply a port).
func ExpectReach(t testing.TB, from *Netns, ip string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := Ping(from, ip)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expected %s to reach %s: %v", from, ip, err)
		}
	}
}

// ExpectNoReach fails the test if from reaches ip: it sends 4 pings over 2 s, each allowed
// 1 s for its reply, and fails on any reply, so a pass means "isolated", not "too quick to tell".
func ExpectNoReach(t testing.TB, from *Netns, ip string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The exit status cannot tell "some replies" from "none"; the summary line can.
	out, _ := run(from.Command(ctx, "ping", "-c", "4", "-i", "0.5", "-W", "1", ip))
	m := receivedRE.FindStringSubmatch(out)
	if m == nil && ctx.Err() != nil {
		t.Fatalf("ExpectNoReach %s -> %s: ping timed out:\n%s", from, ip, out)
	}
	if m != nil && m[1] != "0" {
		t.Fatalf("expected %s NOT to reach %s, but it answered:\n%s", from, ip, out)
	}
}

var receivedRE = regexp.MustCompile(`(\d+) (?:packets )?received`)
