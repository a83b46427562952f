package plug_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// Helpers for the source-check tests: send frames (ordinary tools where
// they can, rawframe where a frame must lie in one field), and read what
// happened with independent witnesses: tcpdump in the peer's namespace,
// ping's and arping's replies, and ovs-ofctl's flow counters.

// rawframe sends hand-built frames from dev in ns (see test/rawframe).
func rawframe(t *testing.T, ns *harness.Netns, dev string, args ...string) {
	t.Helper()
	bin := harness.Binary(t, "./test/rawframe")
	ns.Exec(t, append([]string{bin, "-i", dev}, args...)...)
}

// pingReplies pings dst from ns (from the source address src when set) and
// returns how many of n pings were answered.
func pingReplies(t *testing.T, ns *harness.Netns, src, dst string, n int) int {
	t.Helper()
	args := []string{"ping", "-c", strconv.Itoa(n), "-i", "0.3", "-W", "1"}
	if src != "" {
		args = append(args, "-I", src)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := ns.Command(ctx, append(args, dst)...).CombinedOutput()
	m := receivedRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("ping %s from %s in %s: no summary:\n%s", dst, src, ns, out)
	}
	got, _ := strconv.Atoi(m[1])
	return got
}

var receivedRE = regexp.MustCompile(`(\d+) (?:packets )?received`)

// arpingReplies sends 3 ARP requests for dst from ns's eth0 with sender
// address src and returns how many were answered.
func arpingReplies(t *testing.T, ns *harness.Netns, src, dst string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := ns.Command(ctx, "arping", "-i", "eth0", "-S", src, "-c", "3", "-W", "0.3", "-w", "3", dst).CombinedOutput()
	m := receivedRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("arping %s from %s in %s: no summary:\n%s", dst, src, ns, out)
	}
	got, _ := strconv.Atoi(m[1])
	return got
}

// expectPing fails unless ns reaches dst from src (retrying for a few
// seconds: MAC learning, neighbour resolution).
func expectPing(t *testing.T, ns *harness.Netns, src, dst string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for pingReplies(t, ns, src, dst, 1) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s cannot ping %s from %q", ns, dst, src)
		}
	}
}

// macOf reads a device's MAC with ip.
func macOf(t *testing.T, ns *harness.Netns, dev string) string {
	t.Helper()
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal([]byte(ns.IP(t, "-j", "link", "show", "dev", dev)), &links); err != nil || len(links) != 1 {
		t.Fatalf("ip link show %s in %s: %v", dev, ns, err)
	}
	return links[0].Address
}

// linkLocal waits until dev's IPv6 link-local address has passed duplicate
// address detection and returns it.
func linkLocal(t *testing.T, ns *harness.Netns, dev string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ifs []struct {
			AddrInfo []struct {
				Local     string `json:"local"`
				Tentative bool   `json:"tentative"`
			} `json:"addr_info"`
		}
		_ = json.Unmarshal([]byte(ns.IP(t, "-j", "-6", "addr", "show", "dev", dev, "scope", "link")), &ifs)
		for _, i := range ifs {
			for _, a := range i.AddrInfo {
				if a.Local != "" && !a.Tentative {
					return a.Local
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s has no usable IPv6 link-local address", dev, ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// flow is one line of ovs-ofctl dump-flows.
type flow struct {
	text    string // without the counters
	packets int
}

var (
	countersRE = regexp.MustCompile(`(duration|n_packets|n_bytes|idle_age|hard_age)=[^,\s]+,?\s*`)
	packetsRE  = regexp.MustCompile(`n_packets=(\d+)`)
)

// flows dumps bridge's flows whose cookie is exactly cookie ("" = all), as
// ovs-ofctl shows them.
func (h *host) flows(t *testing.T, bridge, cookie string) []flow {
	t.Helper()
	args := []string{"--no-names", "dump-flows", "unix:" + h.ovs.Rundir + "/" + bridge + ".mgmt"}
	if cookie != "" {
		args = append(args, "cookie="+cookie+"/-1")
	}
	var out []flow
	for _, line := range strings.Split(h.ovs.Ofctl(t, args...), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "NXST_FLOW") || strings.HasPrefix(line, "OFPST_FLOW") {
			continue
		}
		f := flow{text: strings.TrimSpace(countersRE.ReplaceAllString(line, ""))}
		if m := packetsRE.FindStringSubmatch(line); m != nil {
			f.packets, _ = strconv.Atoi(m[1])
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].text < out[j].text })
	return out
}

func flowTexts(fs []flow) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.text)
	}
	return strings.Join(s, "\n")
}

var cookieRE = regexp.MustCompile(`cookie=(0x[0-9a-f]+)`)

// cookies lists the distinct non-zero cookies of bridge's flows, sorted
// and space separated.
func (h *host) cookies(t *testing.T, bridge string) string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, f := range h.flows(t, bridge, "") {
		if m := cookieRE.FindStringSubmatch(f.text); m != nil && m[1] != "0x0" && !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// drops sums the packets the drop flows of a NIC's cookie have counted.
func (h *host) drops(t *testing.T, bridge, cookie string) int {
	t.Helper()
	n := 0
	for _, f := range h.flows(t, bridge, cookie) {
		if strings.HasSuffix(f.text, "actions=drop") {
			n += f.packets
		}
	}
	return n
}

// cookieOf is the cookie hostnet gives a NIC's flows: "HN" and the MAC
// (DESIGN.md section 4), written out here rather than taken from the code
// under test.
func cookieOf(mac string) string {
	return "0x484e" + strings.ReplaceAll(mac, ":", "")
}

// expectNormalFlow fails unless bridge still has its own NORMAL flow.
func (h *host) expectNormalFlow(t *testing.T, bridge string) {
	t.Helper()
	for _, f := range h.flows(t, bridge, "0x0") {
		if strings.HasSuffix(f.text, " priority=0 actions=NORMAL") {
			return
		}
	}
	t.Fatalf("bridge %s lost its NORMAL flow; its flows:\n%s", bridge, flowTexts(h.flows(t, bridge, "")))
}

// expectBlocked sends the spoofed frames, then the control frames, waits
// until the control has reached the capture and checks that nothing of the
// spoof did. The control goes the same way right after the spoof, so its
// arrival means the spoof would have arrived too.
func expectBlocked(t *testing.T, c *harness.Capture, spoof func(), spoofSeen []string, control func(), controlSeen []string) {
	t.Helper()
	spoof()
	control()
	c.WaitFor(t, 10*time.Second, controlSeen...)
	time.Sleep(300 * time.Millisecond) // generous: frames of one port are forwarded in order
	if got := c.Matching(spoofSeen...); len(got) > 0 {
		t.Fatalf("spoofed frames (%q) got through:\n%s", spoofSeen, strings.Join(got, "\n"))
	}
}

// expectPassed sends frames and waits until the capture shows them.
func expectPassed(t *testing.T, c *harness.Capture, send func(), seen ...string) {
	t.Helper()
	send()
	c.WaitFor(t, 10*time.Second, seen...)
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// udhcpd serves one lease, for mac, from peer's eth0 (which must carry an
// address in the subnet); it runs until the test ends.
func udhcpd(t *testing.T, peer *harness.Netns, dir, mac, ip string) {
	t.Helper()
	conf := fmt.Sprintf("start %s\nend %s\ninterface eth0\nlease_file %s/udhcpd.leases\nstatic_lease %s %s\noption subnet 255.255.255.0\noption lease 600\n",
		ip, ip, dir, mac, ip)
	path := dir + "/udhcpd.conf"
	writeFile(t, path, conf)
	writeFile(t, dir+"/udhcpd.leases", "")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := peer.Command(ctx, "busybox", "udhcpd", "-f", path)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("udhcpd: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("udhcpd output:\n%s", out.String())
		}
	})
}

// udhcpc asks for a lease on eth0 of vm; it returns udhcpc's output and
// whether it got one.
func udhcpc(t *testing.T, vm *harness.Netns) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// -q: exit with the lease, -n: exit 1 without one; -s: no script (the
	// lease is read from the output, the address is set by the test).
	out, err := vm.Command(ctx, "busybox", "udhcpc", "-i", "eth0", "-f", "-q", "-n", "-t", "4", "-T", "1", "-s", "/bin/true").CombinedOutput()
	return string(out), err == nil
}
