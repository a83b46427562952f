package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cmdTimeout bounds every command the harness runs, so a hung tool fails the test instead of
// hanging it until go test's global timeout.
const cmdTimeout = 60 * time.Second

// run executes cmd and returns its combined output; the error names the command and output.
func run(cmd *exec.Cmd) (string, error) {
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	s := out.String()
	if err != nil {
		return s, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(s))
	}
	return s, nil
}

// runArgs runs name args... with the default timeout.
func runArgs(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return run(exec.CommandContext(ctx, name, args...))
}

// mustRun runs name args... with the default timeout and fails the test on error.
func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := runArgs(name, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// readPidfile returns the pid written in path, or 0 when there is none.
func readPidfile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// procStat reads state, parent and start time (clock ticks since boot, to tell a reused pid
// apart) from /proc/PID/stat.
func procStat(pid int) (state byte, ppid int, start string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, "", false
	}
	// Fields follow the parenthesised command name, which may itself contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, "", false
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return 0, 0, "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0][0], ppid, f[19], true
}

// alive reports whether pid runs; a zombie counts as dead.
func alive(pid int) bool {
	state, _, _, ok := procStat(pid)
	return ok && state != 'Z'
}

// waitDead polls until pid is gone or d has passed, and reaps it if it is our zombie.
func waitDead(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	reap(pid, time.Until(deadline)+time.Second)
	return true
}

// stopPid sends SIGTERM, waits up to grace, then SIGKILLs. It returns an error only when the
// process survives SIGKILL.
func stopPid(pid int, grace time.Duration) error {
	if pid <= 0 || !alive(pid) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	if waitDead(pid, grace) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if waitDead(pid, 5*time.Second) {
		return nil
	}
	return fmt.Errorf("pid %d survived SIGKILL", pid)
}

// tail returns the last n lines of a file, or a note that it cannot be read.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(" + path + " does not exist)"
		}
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
