// Package pinglog reads the output of `ping -D` (a timestamp on every
// reply) and finds the longest silence between two replies: the
// connectivity gap a peer saw while the host's IP moved.
package pinglog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Gap is what the pinger saw.
type Gap struct {
	Replies int           // distinct replies
	Lost    int           // requests between the first and last reply without a reply
	Longest time.Duration // longest time between two consecutive replies
}

// Parse reads `ping -D -n` output. Duplicate replies (the userspace
// datapath may deliver a frame twice while a port is being added) count
// once. It needs at least two replies.
func Parse(out string) (Gap, error) {
	seen := map[int]bool{}
	var times []float64
	minSeq, maxSeq := -1, -1
	for _, line := range strings.Split(out, "\n") {
		ts, seq, ok := parseReply(line)
		if !ok || seen[seq] {
			continue
		}
		seen[seq] = true
		times = append(times, ts)
		if minSeq < 0 || seq < minSeq {
			minSeq = seq
		}
		maxSeq = max(maxSeq, seq)
	}
	if len(times) < 2 {
		return Gap{}, fmt.Errorf("ping output has %d replies, need 2 to measure a gap:\n%s", len(times), out)
	}
	sort.Float64s(times)
	g := Gap{Replies: len(times), Lost: maxSeq - minSeq + 1 - len(times)}
	for i := 1; i < len(times); i++ {
		if d := time.Duration((times[i] - times[i-1]) * float64(time.Second)); d > g.Longest {
			g.Longest = d
		}
	}
	return g, nil
}

// parseReply reads "[1733300000.123456] 64 bytes from ...: icmp_seq=12 ttl=64 time=0.1 ms".
func parseReply(line string) (ts float64, seq int, ok bool) {
	if !strings.HasPrefix(line, "[") || !strings.Contains(line, " bytes from ") {
		return 0, 0, false
	}
	end := strings.IndexByte(line, ']')
	i := strings.Index(line, "icmp_seq=")
	if end < 0 || i < 0 {
		return 0, 0, false
	}
	ts, err := strconv.ParseFloat(line[1:end], 64)
	if err != nil {
		return 0, 0, false
	}
	f := strings.Fields(line[i+len("icmp_seq="):])
	if len(f) == 0 {
		return 0, 0, false
	}
	if seq, err = strconv.Atoi(f[0]); err != nil {
		return 0, 0, false
	}
	return ts, seq, true
}
