package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hostnet/hostnet/test/harness"
)

// job is one program run the bench times as a whole process: from fork to
// the parent's wait, as libvirtd or systemd would see it.
type job struct {
	ns      *harness.Netns // the process starts inside it; nil: the bench's own
	argv    []string
	env     []string
	stdin   string // a file; "" for /dev/null
	timeout time.Duration
}

// outcome is one timed run.
type outcome struct {
	wall   time.Duration
	maxRSS int64 // peak resident set, KiB (wait4's ru_maxrss)
	code   int
	stderr string
}

// timed runs j and measures it. The child is forked from a thread switched
// into the namespace (Netns.Do), so no `ip netns exec` process is timed
// along with it. A non-zero exit is an outcome, not an error.
func timed(j job) (outcome, error) {
	var o outcome
	cmd := exec.Command(j.argv[0], j.argv[1:]...)
	cmd.Env = j.env
	if j.stdin != "" {
		f, err := os.Open(j.stdin)
		if err != nil {
			return o, err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var start time.Time
	startIt := func() error {
		start = time.Now()
		return cmd.Start()
	}
	var err error
	if j.ns != nil {
		err = j.ns.Do(startIt)
	} else {
		err = startIt()
	}
	if err != nil {
		return o, fmt.Errorf("start %s in %v: %w", j.argv[0], j.ns, err)
	}
	timeout := j.timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	err = cmd.Wait()
	o.wall = time.Since(start)
	timer.Stop()
	o.stderr = strings.TrimSpace(stderr.String())
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		o.code = exit.ExitCode()
	default:
		return o, fmt.Errorf("%s: %w (timeout %v)\n%s", strings.Join(j.argv, " "), err, timeout, o.stderr)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		o.maxRSS = ru.Maxrss
	}
	return o, nil
}

// timedOK is timed, with a non-zero exit an error naming the command.
func timedOK(j job) (outcome, error) {
	o, err := timed(j)
	if err != nil {
		return o, err
	}
	if o.code != 0 {
		return o, fmt.Errorf("%s exited %d: %s", strings.Join(j.argv, " "), o.code, o.stderr)
	}
	return o, nil
}
