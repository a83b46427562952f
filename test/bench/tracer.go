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

// The bench measures libvirt's own OVS work by standing in for ovs-vsctl
// in the PATH of a libvirtd used only for that: a copy of the bench binary
// named ovs-vsctl runs the real one and records each call. The libvirtd
// whose `virsh start` is timed has no tracer.

// tracerName is the name under which the bench binary acts as the tracer.
const tracerName = "ovs-vsctl"

// traceFile is the log next to the tracer executable.
const traceFile = "trace.jsonl"

// vsctlCall is one traced ovs-vsctl call.
type vsctlCall struct {
	Start int64    `json:"start"` // unix ns
	MS    float64  `json:"ms"`    // wall time of the real ovs-vsctl process
	Code  int      `json:"code"`
	Args  []string `json:"args"`
}

// installTracer copies the running bench binary to dir/ovs-vsctl (a copy,
// not a symlink: the tracer finds its log through its own path, and libvirt
// runs it as plain "ovs-vsctl").
func installTracer(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, tracerName), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// traceVsctl is main when the binary runs as the tracer: it runs the real
// ovs-vsctl with the same arguments, environment and streams, appends the
// call to the log and exits with its status.
func traceVsctl() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ovs-vsctl tracer:", err)
		return 1
	}
	dir := filepath.Dir(self)
	real, err := realVsctl(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ovs-vsctl tracer:", err)
		return 1
	}
	cmd := exec.Command(real, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	call := vsctlCall{Start: start.UnixNano(), MS: float64(wall) / float64(time.Millisecond), Args: os.Args[1:]}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		call.Code = exit.ExitCode()
	default:
		fmt.Fprintln(os.Stderr, "ovs-vsctl tracer:", err)
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
		p := filepath.Join(d, tracerName)
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
func readCalls(path string, off int64) ([]vsctlCall, int64, error) {
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
	var calls []vsctlCall
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil { // a partial last line is read next time
			break
		}
		off += int64(len(line))
		var c vsctlCall
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return calls, off, fmt.Errorf("trace line %q: %w", strings.TrimSpace(line), err)
		}
		calls = append(calls, c)
	}
	return calls, off, nil
}
