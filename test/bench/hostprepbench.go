package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hostnet/hostnet/test/bench/pinglog"
	"github.com/hostnet/hostnet/test/bench/report"
	"github.com/hostnet/hostnet/test/bench/scope"
	"github.com/hostnet/hostnet/test/bench/stats"
	"github.com/hostnet/hostnet/test/harness"
)

// The host of the hostprep runs: eth0 carries the host IP and the default
// route through the gateway, as a server has it before hostprep.
const (
	hpHostIP = "192.168.222.10"
	hpGWIP   = "192.168.222.1"
)

const hostprepConf = `# host.conf of make bench's hostprep runs
networks:
  - eth0/br0/%s
ovs_datapath_type: netdev
ovs_rundir: %s
state_dir: %s
`

// hostprepBench times `hostprep apply` on fresh hosts while the gateway
// pings the host IP every 10 ms, then on the first host, now configured,
// the no-op apply.
func hostprepBench(s *scope.Scope, bin string, fresh, converged int) *report.Hostprep {
	var applies, gaps, conv []time.Duration
	var lost []float64
	changed := 0
	for i := 0; i < fresh; i++ {
		if err := s.Context().Err(); err != nil {
			s.Fatalf("interrupted: %v", err)
		}
		err := s.Sub(fmt.Sprintf("hostprep%d", i), func(c *scope.Scope) {
			h := newPrepHost(c, bin)
			p := startPinger(c, h.gw.NS, hpHostIP)
			time.Sleep(200 * time.Millisecond)
			o := h.apply(c)
			time.Sleep(300 * time.Millisecond)
			g := p.stop(c)
			applies, gaps = append(applies, o.wall), append(gaps, g.Longest)
			lost = append(lost, float64(g.Lost))
			c.Logf("fresh apply %.0f ms; gateway's pings: longest gap %.0f ms, %d lost", ms(o.wall), ms(g.Longest), g.Lost)
			if i > 0 {
				return
			}
			for k := 0; k < converged; k++ {
				before := h.nextCfg(c)
				o := h.apply(c)
				if !strings.Contains(o.stderr, "no changes") || h.nextCfg(c) != before {
					changed++
					c.Logf("apply on the configured host changed something:\n%s", o.stderr)
				}
				conv = append(conv, o.wall)
			}
			c.Logf("apply on the configured host: %s ms", stats.Millis(conv).Spread("%.1f"))
		})
		if err != nil {
			s.Fatal(err)
		}
	}
	return &report.Hostprep{
		FreshApply: stats.Millis(applies), Gap: stats.Millis(gaps), Lost: stats.Of(lost),
		Converged: stats.Millis(conv), ConvergedChanged: changed,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// prepHost is a host before hostprep: a namespace with a private OVS
// (no bridge yet) and eth0 cabled to a gateway.
type prepHost struct {
	ns   *harness.Netns
	ovs  *harness.OVS
	gw   *harness.Gateway
	bin  string
	conf string
	env  []string
}

func newPrepHost(s *scope.Scope, bin string) *prepHost {
	dir := s.TempDir()
	h := &prepHost{bin: bin, conf: filepath.Join(dir, "host.conf")}
	h.ns = harness.NewNetns(s, "prep")
	h.ovs = harness.StartOVS(s, h.ns)
	h.gw = harness.NewGateway(s, h.ns, "eth0", hpHostIP+"/24", hpGWIP+"/24")
	if err := os.WriteFile(h.conf, []byte(fmt.Sprintf(hostprepConf, hpHostIP, h.ovs.Rundir, filepath.Join(dir, "state"))), 0o644); err != nil {
		s.Fatal(err)
	}
	h.env = append([]string{"PATH=" + os.Getenv("PATH"), "HOSTNET_NM_RUNDIR=" + filepath.Join(dir, "nm")}, h.ovs.Env()...)
	return h
}

func (h *prepHost) apply(s *scope.Scope) outcome {
	j := job{ns: h.ns, argv: []string{h.bin, "--config", h.conf, "apply"}, env: h.env, timeout: time.Minute}
	o, err := timedOK(j)
	if err != nil {
		s.Fatalf("hostprep apply: %v", err)
	}
	return o
}

func (h *prepHost) nextCfg(s *scope.Scope) string {
	return h.ovs.Vsctl(s, "get", "open_vswitch", ".", "next_cfg")
}

// pinger is `ping -D -i 0.01` from a namespace, its output in a buffer.
type pinger struct {
	cancel context.CancelFunc
	done   chan error
	proc   *os.Process
	mu     sync.Mutex
	out    strings.Builder
}

func (p *pinger) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *pinger) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// startPinger pings ip from ns every 10 ms and waits for the first reply
// (ARP done) before it returns.
func startPinger(s *scope.Scope, ns *harness.Netns, ip string) *pinger {
	ctx, cancel := context.WithTimeout(s.Context(), 5*time.Minute)
	p := &pinger{cancel: cancel, done: make(chan error, 1)}
	cmd := ns.Command(ctx, "ping", "-D", "-n", "-i", "0.01", "-W", "1", ip)
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		cancel()
		s.Fatalf("ping %s from %s: %v", ip, ns, err)
	}
	p.proc = cmd.Process
	go func() { p.done <- cmd.Wait() }()
	s.Cleanup(func() { cancel(); <-p.done })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.text(), "icmp_seq=") {
		if time.Now().After(deadline) {
			s.Fatalf("ping %s from %s: no reply in 10 s:\n%s", ip, ns, p.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// stop ends ping (SIGINT, so it prints what it has) and reads the gap.
func (p *pinger) stop(s *scope.Scope) pinglog.Gap {
	_ = p.proc.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		p.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		p.cancel()
	}
	g, err := pinglog.Parse(p.text())
	if err != nil {
		s.Fatal(err)
	}
	return g
}
