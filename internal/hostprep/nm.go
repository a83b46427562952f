package hostprep

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// DefaultNMRunDir is NetworkManager's run directory; it exists while
// NetworkManager is installed and has run since boot.
const DefaultNMRunDir = "/run/NetworkManager"

// EnvNMRunDir moves DefaultNMRunDir (tests).
const EnvNMRunDir = "HOSTNET_NM_RUNDIR"

// nmDropInName sorts late among the runtime drop-ins.
const nmDropInName = "90-hostnet-hostprep.conf"

// NM is NetworkManager as hostprep sees it.
type NM struct {
	RunDir  string // /run/NetworkManager
	Present bool   // RunDir exists: NetworkManager is installed and ran this boot
	PID     int    // > 0 when it is running
	DropIn  string // current content of hostprep's drop-in, "" when absent
}

// DropInPath is hostprep's runtime drop-in: runtime (in /run), so it
// disappears with the state it describes at reboot, and the next boot's
// hostprep writes it again.
func (n NM) DropInPath() string { return filepath.Join(n.RunDir, "conf.d", nmDropInName) }

// ObserveNM reads NetworkManager's state under runDir.
func ObserveNM(runDir string) (NM, error) {
	n := NM{RunDir: runDir}
	if _, err := os.Stat(runDir); errors.Is(err, fs.ErrNotExist) {
		return n, nil
	} else if err != nil {
		return n, fmt.Errorf("look for NetworkManager: %w", err)
	}
	n.Present = true
	b, err := os.ReadFile(n.DropInPath())
	switch {
	case err == nil:
		n.DropIn = string(b)
	case !errors.Is(err, fs.ErrNotExist):
		return n, fmt.Errorf("read %s: %w", n.DropInPath(), err)
	}
	n.PID = runningPID(filepath.Join(runDir, "NetworkManager.pid"), "NetworkManager")
	return n, nil
}

// runningPID returns the pid in pidfile when that process runs and is
// called comm, else 0 (a stale pid file must not make us signal whatever
// process now has that pid).
func runningPID(pidfile, comm string) int {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	c, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(c)) != comm {
		return 0
	}
	return pid
}

// NMDropIn is the drop-in that tells NetworkManager to leave devices
// alone. It says it twice: the [keyfile] list works on every
// NetworkManager ("+=" appends to lists set by earlier files), the
// [device-*] section (NetworkManager 1.22 and later) also wins over a
// later file that sets unmanaged-devices with "=". Empty when there is no
// device.
func NMDropIn(devices []string) string {
	if len(devices) == 0 {
		return ""
	}
	var match []string
	for _, d := range devices {
		match = append(match, "interface-name:"+d)
	}
	list := strings.Join(match, ";")
	var b strings.Builder
	b.WriteString("# Written by hostnet's hostprep at boot; do not edit (it is rewritten on every apply).\n")
	b.WriteString("# hostprep moved the host's IP configuration from these NICs onto Open vSwitch\n")
	b.WriteString("# or Linux bridges: NetworkManager must not configure them.\n")
	b.WriteString("[keyfile]\n")
	b.WriteString("unmanaged-devices+=" + list + "\n")
	b.WriteString("\n[device-hostnet-hostprep]\n")
	b.WriteString("match-device=" + list + "\n")
	b.WriteString("managed=0\n")
	return b.String()
}

// WriteNMDropIn writes content to n's drop-in (removing it when content is
// empty) and asks a running NetworkManager to reload its configuration
// (SIGHUP, what `nmcli general reload conf` triggers). It reports whether
// NetworkManager was signalled.
func WriteNMDropIn(n NM, content string) (reloaded bool, err error) {
	path := n.DropInPath()
	if content == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("remove %s: %w", path, err)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return false, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			return false, fmt.Errorf("write %s: %w", tmp, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			return false, fmt.Errorf("write %s: %w", path, err)
		}
	}
	if n.PID <= 0 {
		return false, nil
	}
	if err := syscall.Kill(n.PID, syscall.SIGHUP); err != nil {
		return false, fmt.Errorf("ask NetworkManager (pid %d) to reload its configuration: %w", n.PID, err)
	}
	return true, nil
}
