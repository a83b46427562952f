package logging

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/rs/zerolog"
)

// Journal is an io.Writer that turns each zerolog JSON event into one
// journal entry over the native protocol: every field becomes a journal
// field (upper-cased: DOMAIN, TAP, BRIDGE, ...), the message becomes
// MESSAGE and the level PRIORITY, so `journalctl -t hostnet DOMAIN=vm1`
// finds a VM's plugs.
type Journal struct {
	conn       *net.UnixConn
	identifier string
}

// OpenJournal connects to the journal's native socket.
func OpenJournal(socket, identifier string) (*Journal, error) {
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("open journal socket %s: %w", socket, err)
	}
	return &Journal{conn: conn, identifier: identifier}, nil
}

// Close closes the socket.
func (j *Journal) Close() error { return j.conn.Close() }

// Write sends one event. An event that is not JSON is sent as its message.
func (j *Journal) Write(p []byte) (int, error) {
	fields := map[string]any{}
	if err := json.Unmarshal(p, &fields); err != nil {
		fields = map[string]any{zerolog.MessageFieldName: string(bytes.TrimSpace(p))}
	}
	var buf bytes.Buffer
	writeField(&buf, "SYSLOG_IDENTIFIER", j.identifier)
	writeField(&buf, "PRIORITY", priority(fields[zerolog.LevelFieldName]))
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case zerolog.LevelFieldName, zerolog.TimestampFieldName:
			continue
		case zerolog.MessageFieldName:
			writeField(&buf, "MESSAGE", fmt.Sprint(fields[k]))
		default:
			writeField(&buf, journalKey(k), fmt.Sprint(fields[k]))
		}
	}
	if _, err := j.conn.Write(buf.Bytes()); err != nil {
		return 0, fmt.Errorf("write journal entry: %w", err)
	}
	return len(p), nil
}

// writeField encodes KEY=value, or the length-prefixed form for values
// with newlines, as the journal's native protocol requires.
func writeField(buf *bytes.Buffer, key, value string) {
	if !strings.Contains(value, "\n") {
		fmt.Fprintf(buf, "%s=%s\n", key, value)
		return
	}
	buf.WriteString(key)
	buf.WriteByte('\n')
	_ = binary.Write(buf, binary.LittleEndian, uint64(len(value)))
	buf.WriteString(value)
	buf.WriteByte('\n')
}

// journalKey maps a zerolog field name to a journal field name: upper case
// letters, digits and underscores, not starting with an underscore or digit.
func journalKey(k string) string {
	b := []byte(strings.ToUpper(k))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 || b[0] == '_' || b[0] >= '0' && b[0] <= '9' {
		return "F" + string(b)
	}
	return string(b)
}

func priority(level any) string {
	s, _ := level.(string)
	switch s {
	case "trace", "debug":
		return "7"
	case "info":
		return "6"
	case "warn":
		return "4"
	case "error":
		return "3"
	case "fatal":
		return "2"
	case "panic":
		return "0"
	}
	return "5"
}
