package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The bench measures the OVS work of both plugs inside real VM starts, in
// a libvirtd used only for that: a copy of the bench binary stands in for
// ovs-vsctl in its PATH (libvirt's plug) and for the hostnet hook (through
// a one-line script in its hook directory); each runs the real program and
// records the call. The libvirtds whose `virsh start` is timed have no
// tracer.

// Names under which the bench binary acts as a tracer, and what it runs.
const (
	vsctlTracer = "ovs-vsctl"           // runs the next ovs-vsctl in PATH
	hookTracer  = "hostnet-hook-tracer" // runs hookReal next to it
	hookReal    = "hostnet-real"
)

// traceFile is the log next to the tracer executables.
const traceFile = "trace.jsonl"

// tracedCall is one traced call.
type tracedCall struct {
	Tool  string   `json:"tool"`  // vsctlTracer or hookTracer
	Start int64    `json:"start"` // unix ns
	MS    float64  `json:"ms"`    // wall time of the real process
	Code  int      `json:"code"`
	Args  []string `json:"args"`
}

// isTracer reports whether the binary was started as a tracer.
func isTracer() bool {
	base := filepath.Base(os.Args[0])
	return base == vsctlTracer || base == hookTracer
}

// installTracers fills dir with both tracers (copies of the running bench
// binary, not symlinks: a tracer finds its log through its own path, and
// libvirt runs ovs-vsctl by plain name) and the hook they run. It returns
// the hook script for libvirtd's hook directory.
func installTracers(dir, hook string) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	for _, c := range [][2]string{{self, vsctlTracer}, {self, hookTracer}, {hook, hookReal}} {
		if err := copyFile(c[0], filepath.Join(dir, c[1])); err != nil {
			return "", err
		}
	}
	script := filepath.Join(dir, "hook.sh")
	body := "#!/bin/sh\n# make bench: the hostnet hook, timed\nexec " + filepath.Join(dir, hookTracer) + " \"$@\"\n"
	return script, os.WriteFile(script, []byte(body), 0o755)
}

// copyFile copies an executable.
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// trace is main when the binary runs as a tracer: it runs the real program
// with the same arguments, environment and streams, appends the call to the
// log and exits with its status.
func trace() int {
	tool := filepath.Base(os.Args[0])
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, tool+" tracer:", err)
		return 1
	}
	dir := filepath.Dir(self)
	real := filepath.Join(dir, hookReal)
	if tool == vsctlTracer {
		if real, err = realVsctl(dir); err != nil {
			fmt.Fprintln(os.Stderr, "ovs-vsctl tracer:", err)
			return 1
		}
	}
	cmd := exec.Command(real, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	call := tracedCall{Tool: tool, Start: start.UnixNano(), MS: float64(wall) / float64(time.Millisecond), Args: os.Args[1:]}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		call.Code = exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, tool+" tracer:", err)
		call.Code = 127
	}
	line, _ := json.Marshal(call)
	// One write of one line with O_APPEND: concurrent calls do not interleave.
	if f, err := os.OpenFile(filepath.Join(dir, traceFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		_, _ = f.Write(append(line, '\n'))
		f.Close()
	}
	return call.Code
}

// realVsctl finds ovs-vsctl in PATH, skipping the tracer's own directory.
func realVsctl(self string) (string, error) {
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if d == "" || filepath.Clean(d) == filepath.Clean(self) {
			continue
		}
		p := filepath.Join(d, vsctlTracer)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if _, err := os.Stat("/usr/bin/ovs-vsctl"); err == nil {
		return "/usr/bin/ovs-vsctl", nil
	}
	return "", errors.New("no ovs-vsctl in PATH besides the tracer; install openvswitch-common")
}

// readCalls reads the trace log from byte offset off; it returns the calls
// and the new offset.
func readCalls(path string, off int64) ([]tracedCall, int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, off, nil
	}
	if err != nil {
		return nil, off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, off, err
	}
	var calls []tracedCall
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil { // a partial last line is read next time
			break
		}
		off += int64(len(line))
		var c tracedCall
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return calls, off, fmt.Errorf("trace line %q: %w", strings.TrimSpace(line), err)
		}
		calls = append(calls, c)
	}
	return calls, off, nil
}
