package logging

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestJournalProtocol reads what the writer sends on a real unixgram socket,
// as journald would.
func TestJournalProtocol(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "journal.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	j, err := OpenJournal(sock, "hostnet")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	log := zerolog.New(j)
	log.Warn().Str("domain", "vm1").Str("tap", "vnet0").Int("vlan", 100).Str("detail", "a\nb").Msg("plugged")

	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	got := string(buf[:n])
	for _, want := range []string{"SYSLOG_IDENTIFIER=hostnet\n", "PRIORITY=4\n", "MESSAGE=plugged\n", "DOMAIN=vm1\n", "TAP=vnet0\n", "VLAN=100\n", "DETAIL\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("journal entry lacks %q:\n%q", want, got)
		}
	}
	if strings.Contains(got, "DETAIL=a") {
		t.Errorf("multi-line value sent in the plain form: %q", got)
	}
}

func TestJournalKey(t *testing.T) {
	for in, want := range map[string]string{"domain": "DOMAIN", "duration_ms": "DURATION_MS", "iface-id": "IFACE_ID", "_x": "F_X", "9a": "F9A"} {
		if got := journalKey(in); got != want {
			t.Errorf("journalKey(%q) = %q, want %q", in, got, want)
		}
	}
}
