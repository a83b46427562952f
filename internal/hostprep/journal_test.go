package hostprep

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/hostnet/hostnet/internal/netstate"
)

func TestJournalRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	mp := route("10.0.0.0/8", "", "")
	mp.Hops = []netstate.Hop{{Dev: "eth0", Gw: addr("192.0.2.1"), Weight: 1}, {Dev: "eth1", Gw: addr("198.51.100.1"), Weight: 3, OnLink: true}}
	j := &Journal{Version: journalVersion, BootID: "b", Started: time.Date(2026, 12, 3, 1, 2, 3, 0, time.UTC),
		Entry: "eth0/br0/192.0.2.10", NIC: "eth0", NICIndex: 2, Bridge: "br0", Target: "br0", MAC: mac0, MTU: 1400,
		Addrs:  []netstate.Addr{primary, secondary, {Prefix: pfx("2001:db8::10/64"), PreferredLft: 100, ValidLft: 200}},
		Routes: []netstate.Route{defRoute, mp}, CreatedBridge: true, EnslavedNIC: true, Answered: []netip.Addr{addr("192.0.2.1")}}
	if err := SaveJournal(dir, j); err != nil {
		t.Fatal(err)
	}
	got, err := LoadJournals(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["eth0"], j) {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", got["eth0"], j)
	}
	if err := RemoveJournal(dir, "eth0"); err != nil {
		t.Fatal(err)
	}
	if got, _ := LoadJournals(dir); len(got) != 0 {
		t.Fatalf("journal still there after remove")
	}
	if err := RemoveJournal(dir, "eth0"); err != nil {
		t.Fatalf("removing a removed journal: %v", err)
	}
	if got, err := LoadJournals(filepath.Join(dir, "nope")); err != nil || len(got) != 0 {
		t.Fatalf("missing state dir: %v %v", got, err)
	}
	// A damaged journal is an error that says what to do, never ignored.
	if err := os.WriteFile(JournalPath(dir, "eth9"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadJournals(dir); !errors.Is(err, ErrBadJournal) {
		t.Fatalf("damaged journal: err = %v", err)
	}
}

func TestWriteNMDropIn(t *testing.T) {
	n := NM{RunDir: t.TempDir(), Present: true}
	if reloaded, err := WriteNMDropIn(n, "x\n"); err != nil || reloaded {
		t.Fatalf("write: %v %v", reloaded, err)
	}
	if b, _ := os.ReadFile(n.DropInPath()); string(b) != "x\n" {
		t.Fatalf("content %q", b)
	}
	obs, err := ObserveNM(n.RunDir)
	if err != nil || !obs.Present || obs.DropIn != "x\n" || obs.PID != 0 {
		t.Fatalf("observe: %+v %v", obs, err)
	}
	if _, err := WriteNMDropIn(n, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(n.DropInPath()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty content must remove the drop-in: %v", err)
	}
	// A pid file of a process that is not NetworkManager is not signalled.
	if err := os.WriteFile(filepath.Join(n.RunDir, "NetworkManager.pid"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if obs, _ := ObserveNM(n.RunDir); obs.PID != 0 {
		t.Fatalf("pid 1 taken for NetworkManager")
	}
}
