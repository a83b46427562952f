package plug_test

import (
	"strings"
	"sync"
	"testing"
)

// TestConcurrentIfaceIDClaims: two domains started at the same moment with
// the same vpc-port. Each round exactly one start succeeds and exactly one
// interface carries the iface-id, whether the loser saw the winner's port
// when it read OVSDB or lost the race at commit (the plug's precondition).
func TestConcurrentIfaceIDClaims(t *testing.T) {
	h := newHost(t)
	h.vm(t, "vnet0", "52:54:00:00:0a:01", "")
	h.vm(t, "vnet1", "52:54:00:00:0a:02", "")
	xmls := [2]string{
		domainXML("one", uuidA, nic{mac: "52:54:00:00:0a:01", tap: "vnet0", attrs: `vpc-port="lsp-race"`}),
		domainXML("two", uuidB, nic{mac: "52:54:00:00:0a:02", tap: "vnet1", attrs: `vpc-port="lsp-race"`}),
	}
	raceStarts(t, h, xmls, "external_ids:iface-id=lsp-race")
}

// raceStarts starts domains "one" and "two" (xmls) at the same moment, ten
// rounds, stopping both after each. Each round exactly one start must
// succeed and exactly one interface match the ovs-vsctl find condition
// holders, whether the loser was refused on what it read ("its VM runs")
// or by the plug's precondition at commit ("a concurrent plug").
func raceStarts(t *testing.T, h *host, xmls [2]string, holders string) {
	t.Helper()
	names := [2]string{"one", "two"}
	seenRead, seenCommit := 0, 0
	for round := range 10 {
		var results [2]hookResult
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = h.runHook(t, names[i], "start", "begin", xmls[i])
			}()
		}
		wg.Wait()

		var won []string
		for i, r := range results {
			switch {
			case r.code == 0:
				won = append(won, names[i])
			case strings.Contains(r.stderr, "its VM runs"):
				seenRead++
			case strings.Contains(r.stderr, "a concurrent plug"):
				seenCommit++
			default:
				t.Errorf("round %d: %s refused for another reason: %s", round, names[i], r.stderr)
			}
		}
		found := strings.Fields(h.ovs.Vsctl(t, "--bare", "--columns=name", "find", "Interface", holders))
		if len(won) != 1 || len(found) != 1 {
			t.Fatalf("round %d: started %q, interfaces with %s: %q; want exactly one of each", round, won, holders, found)
		}
		for i := range 2 {
			h.mustHook(t, names[i], "stopped", "end", xmls[i])
		}
	}
	t.Logf("losers refused: %d on what they read, %d at commit", seenRead, seenCommit)
}
