package pinglog

import (
	"strings"
	"testing"
	"time"
)

const sample = `PING 192.168.222.10 (192.168.222.10) 56(84) bytes of data.
[1000.000000] 64 bytes from 192.168.222.10: icmp_seq=1 ttl=64 time=0.1 ms
[1000.010000] 64 bytes from 192.168.222.10: icmp_seq=2 ttl=64 time=0.1 ms
[1000.010100] 64 bytes from 192.168.222.10: icmp_seq=2 ttl=64 time=0.1 ms (DUP!)
[1000.020000] 64 bytes from 192.168.222.10: icmp_seq=3 ttl=64 time=0.1 ms
[1000.065000] 64 bytes from 192.168.222.10: icmp_seq=7 ttl=64 time=0.1 ms
[1000.075000] 64 bytes from 192.168.222.10: icmp_seq=8 ttl=64 time=0.1 ms

--- 192.168.222.10 ping statistics ---
8 packets transmitted, 5 received, +1 duplicates, 37.5% packet loss, time 75ms
`

func TestParse(t *testing.T) {
	g, err := Parse(sample)
	if err != nil {
		t.Fatal(err)
	}
	if g.Replies != 5 || g.Lost != 3 {
		t.Errorf("replies %d lost %d, want 5 and 3", g.Replies, g.Lost)
	}
	if d := g.Longest - 45*time.Millisecond; d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("longest gap %v, want 45ms", g.Longest)
	}
}

func TestParseNeedsTwoReplies(t *testing.T) {
	one := strings.Join(strings.Split(sample, "\n")[:2], "\n")
	if _, err := Parse(one); err == nil || !strings.Contains(err.Error(), "1 replies") {
		t.Errorf("Parse of one reply: %v", err)
	}
}

func TestParseIgnoresNoise(t *testing.T) {
	for _, line := range []string{
		"[1000.0] From 192.168.222.1 icmp_seq=4 Destination Host Unreachable",
		"[x] 64 bytes from a: icmp_seq=1",
		"[1000.0] 64 bytes from a: icmp_seq=",
		"64 bytes from a: icmp_seq=1 ttl=64",
	} {
		if _, _, ok := parseReply(line); ok {
			t.Errorf("parseReply(%q) accepted it", line)
		}
	}
}
