package hostprep

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hostnet/hostnet/internal/netstate"
)

// journalVersion changes when Journal changes incompatibly; a journal of
// another version is not trusted.
const journalVersion = 1

const journalPrefix = "hostprep-move-"

// Journal is the record of one IP move, written to the state directory
// before the first change of the move. Until Done, a journal found by a
// later run means the move was interrupted: it holds what the NIC carried,
// which the kernel may already have flushed (removing the last IPv4 address
// of a link removes its routes), so the move can be finished or undone from
// it. Once the move is done the journal stays, marked Done, as the record
// of what the target must carry for the rest of this boot: the kernel
// flushes a device's routes whenever it goes down, and ovs-vswitchd takes a
// bridge's internal port down and up to restore its MAC, so a later apply
// puts back from the record what a flap removed. A rolled-back move removes
// its journal.
type Journal struct {
	Version  int       `json:"version"`
	Done     bool      `json:"done,omitempty"` // the move completed: this is its record
	BootID   string    `json:"boot_id"`        // a journal from another boot describes devices that no longer exist
	Started  time.Time `json:"started"`
	Entry    string    `json:"entry"`
	NIC      string    `json:"nic"`
	NICIndex int       `json:"nic_index"`
	Bridge   string    `json:"bridge"`
	Target   string    `json:"target"` // where the addresses go: the bridge or its host VLAN port
	MAC      string    `json:"mac"`
	MTU      int       `json:"mtu"`

	Addrs  []netstate.Addr  `json:"addrs"`
	Routes []netstate.Route `json:"routes"`
	// Static neighbour entries of the NIC: configuration that the kernel
	// flushes with the NIC's last IPv4 address.
	Neighbors []netstate.StaticNeighbor `json:"static_neighbors,omitempty"`

	// What the move creates, so that undoing it removes exactly that.
	CreatedBridge bool `json:"created_bridge"`
	CreatedTarget bool `json:"created_target"`
	EnslavedNIC   bool `json:"enslaved_nic"` // the NIC was not a port of the bridge before

	// Gateways that answered on the NIC before the move: if one of them
	// does not answer on the target after it, the move broke the host.
	Answered []netip.Addr `json:"answered,omitempty"`
}

// Move is the move the journal describes.
func (j *Journal) Move() netstate.Move {
	return netstate.Move{From: j.NIC, To: j.Target, Addrs: j.Addrs, Routes: j.Routes}
}

// JournalPath is where the journal of nic's move lives.
func JournalPath(stateDir, nic string) string {
	return filepath.Join(stateDir, journalPrefix+nic+".json")
}

// ErrBadJournal marks a journal file that cannot be used.
var ErrBadJournal = errors.New("unusable move journal")

// LoadJournals reads every journal in stateDir, by NIC. A missing state
// directory holds no journals.
func LoadJournals(stateDir string) (map[string]*Journal, error) {
	out := map[string]*Journal{}
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state directory %s: %w", stateDir, err)
	}
	for _, de := range entries {
		name := de.Name()
		if !strings.HasPrefix(name, journalPrefix) || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(stateDir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read move journal %s: %w", path, err)
		}
		var j Journal
		if err := json.Unmarshal(data, &j); err != nil {
			return nil, fmt.Errorf("%w %s: %v; move it away after checking the NIC's addresses and routes", ErrBadJournal, path, err)
		}
		if j.Version != journalVersion || j.NIC == "" || j.Target == "" {
			return nil, fmt.Errorf("%w %s: version %d, nic %q, target %q; move it away after checking the NIC's addresses and routes",
				ErrBadJournal, path, j.Version, j.NIC, j.Target)
		}
		out[j.NIC] = &j
	}
	return out, nil
}

// SaveJournal writes j durably: to a temporary file, synced, renamed over
// the journal, and the directory synced, so that a crash leaves either the
// old journal or the new one.
func SaveJournal(stateDir string, j *Journal) error {
	if err := os.MkdirAll(stateDir, 0o750); err != nil {
		return fmt.Errorf("create state directory %s: %w", stateDir, err)
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("encode move journal: %w", err)
	}
	path := JournalPath(stateDir, j.NIC)
	tmp, err := os.CreateTemp(stateDir, ".tmp-"+journalPrefix)
	if err != nil {
		return fmt.Errorf("write move journal: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write move journal %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync move journal %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write move journal %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write move journal %s: %w", path, err)
	}
	return syncDir(stateDir)
}

// RemoveJournal deletes nic's journal; one already gone is fine.
func RemoveJournal(stateDir, nic string) error {
	if err := os.Remove(JournalPath(stateDir, nic)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove move journal: %w", err)
	}
	return syncDir(stateDir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// BootID identifies the running boot (a journal from another boot is
// stale: the kernel state it describes is gone).
func BootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
