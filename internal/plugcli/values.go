package plugcli

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseDomainUUID checks --vm-uuid: a domain UUID as libvirt writes it
// (lower case, 8-4-4-4-12 hex digits). The plug engine compares it with
// the UUIDs the hook records, so any other spelling would never match.
// Left out, it is "" (no domain); given, it must name a domain: an empty
// value (a shell variable that was not set) or the nil UUID is refused.
// without says what leaving the flag out means to the command.
func parseDomainUUID(flag *once, without string) (string, error) {
	const example = "give it as virsh domuuid prints it, e.g. 8c6f6a5e-3b1d-4c2a-9e7f-0a1b2c3d4e5f"
	u := strings.ToLower(flag.value)
	switch {
	case !flag.set:
		return "", nil
	case u == "":
		return "", usagef("--vm-uuid is empty; give the domain's UUID, or leave the flag out %s", without)
	case u == nilUUID:
		return "", usagef("--vm-uuid %s is the nil UUID, which is no domain's; %s", u, example)
	case !validUUID(u):
		return "", usagef("--vm-uuid %q is not a domain UUID; %s", flag.value, example)
	}
	return u, nil
}

const nilUUID = "00000000-0000-0000-0000-000000000000"

func validUUID(u string) bool {
	if len(u) != 36 {
		return false
	}
	for i, c := range u {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// maxDomainName bounds --vm-name: it is stored on the port and printed by
// show and the logs.
const maxDomainName = 256

// checkDomainName refuses a --vm-name that show and the logs could not
// print as one cell of one line: control characters (a newline, an escape
// sequence for the operator's terminal), bytes that are not UTF-8.
func checkDomainName(name string) error {
	switch {
	case len(name) > maxDomainName:
		return usagef("--vm-name is %d bytes long; give the domain's name, at most %d bytes", len(name), maxDomainName)
	case !utf8.ValidString(name):
		return usagef("--vm-name %q is not UTF-8 text; give the domain's name as virsh list prints it", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return usagef("--vm-name %q holds control characters (newline, tab, escape); give the domain's name as virsh list prints it", name)
	}
	return nil
}

// printable quotes s when it holds anything a terminal would not print as
// it is: names stored by others than hostnet-plug add are not checked.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) < 0 {
		return s
	}
	return strconv.Quote(s)
}

// parseWithStateDir parses the flags of a command with --libvirt-state and
// checks the directory. The default may be missing (no libvirtd has run
// since boot: no domain is running); a directory the operator names must
// exist, or sync would quietly miss every running domain's ports.
func parseWithStateDir(fls *flag.FlagSet, args []string) error {
	if err := parse(fls, args); err != nil {
		return err
	}
	dir := fls.Lookup("libvirt-state").Value.String()
	explicit := false
	fls.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "libvirt-state" })
	if explicit && dir == "" {
		return usagef("--libvirt-state is empty; give the directory where libvirtd keeps the running domains' status files, or leave the flag out for %s", DefaultLibvirtState)
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return nil
	case err != nil:
		return usagef("--libvirt-state %q: %v; give the directory where libvirtd keeps the running domains' status files (default %s)", dir, errors.Unwrap(err), DefaultLibvirtState)
	case !st.IsDir():
		return usagef("--libvirt-state %q is not a directory; give the directory where libvirtd keeps the running domains' status files (default %s)", dir, DefaultLibvirtState)
	}
	return nil
}
