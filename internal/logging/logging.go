// Package logging builds the zerolog loggers of hostnet's programs.
//
// The hook's stderr is what libvirt shows the user when a start is refused,
// so the hook never logs there: it logs to the systemd journal when one is
// running, else to a file. The command-line tools log to stderr, which
// systemd already forwards to the journal for the units.
package logging

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
)

// Environment variables that move the destinations, for tests and for hosts
// that keep logs elsewhere.
const (
	EnvJournalSocket = "HOSTNET_JOURNAL_SOCKET"
	EnvLogFile       = "HOSTNET_LOG_FILE"
)

// Defaults for the destinations above.
const (
	DefaultJournalSocket = "/run/systemd/journal/socket"
	DefaultLogFile       = "/var/log/hostnet/hostnet.log"
)

func init() {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	zerolog.DurationFieldUnit = time.Millisecond
	zerolog.DurationFieldInteger = false
}

// ForDaemonless returns the logger of a program whose stderr belongs to
// someone else (the hook): the journal when its socket exists, else JSON
// lines appended to the log file. Logging never fails the caller: when
// neither destination can be opened, it logs nowhere. Close the returned
// io.Closer before exiting.
func ForDaemonless(program string) (zerolog.Logger, io.Closer) {
	if w, err := OpenJournal(envOr(EnvJournalSocket, DefaultJournalSocket), program); err == nil {
		return zerolog.New(w).With().Timestamp().Str("program", program).Logger(), w
	}
	path := envOr(EnvLogFile, DefaultLogFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err == nil {
		if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640); err == nil {
			return zerolog.New(f).With().Timestamp().Str("program", program).Logger(), f
		}
	}
	return zerolog.Nop(), io.NopCloser(nil)
}

// ForCLI returns the logger of a command-line tool: short human lines on
// stderr, debug lines too when verbose.
func ForCLI(program string, verbose bool) zerolog.Logger {
	level := zerolog.InfoLevel
	if verbose {
		level = zerolog.DebugLevel
	}
	w := zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true, TimeFormat: "15:04:05.000"}
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
