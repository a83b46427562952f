package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"time"
)

// Allowed values and defaults.
const (
	DriverOpenVSwitch = "openvswitch"
	DriverLinuxBridge = "linux_bridge"

	DatapathSystem = "system"
	DatapathNetdev = "netdev"

	EncapGeneve = "geneve"
	EncapVXLAN  = "vxlan"

	DefaultOVNIntegrationBridge = "brvpc"
	DefaultOVSRundir            = "/var/run/openvswitch"
	DefaultOVSTimeout           = 5 * time.Second
	MaxOVSTimeout               = 60 * time.Second
	DefaultStateDir             = "/var/lib/hostnet"

	// EnvOVSRundir is the variable OVS tools read to find their run
	// directory; hostnet honours it the same way.
	EnvOVSRundir = "OVS_RUNDIR"

	// MaxFileSize bounds what Load reads: a host.conf is a few KiB.
	MaxFileSize = 1 << 20
)

// Config is the validated host config.
type Config struct {
	Path                 string         // file it was read from (messages only)
	Networks             []Entry        // may be empty: a host with only VPC networking
	BridgeDriver         string         // DriverOpenVSwitch or DriverLinuxBridge
	DatapathType         string         // DatapathSystem or DatapathNetdev (key ovs_datapath_type)
	OVNIntegrationBridge string         // VPC bridge, created at boot
	OVNEncapIP           netip.Addr     // optional; zero when unset
	OVNSouthDatabase     string         // optional: tcp:HOST:PORT, ssl:HOST:PORT or unix:PATH, comma separated
	OVNEncapType         string         // EncapGeneve or EncapVXLAN
	HostVLANs            map[string]int // bridge -> VLAN of the host's internal port (hostnet extension)
	OVSRundir            string         // key ovs_rundir, else $OVS_RUNDIR, else DefaultOVSRundir
	OVSTimeout           time.Duration  // deadline of every OVS call
	StateDir             string         // hostprep's state (its move journal)
}

// Warning is something in the file worth telling the operator that does
// not stop hostnet. Message is one full line, ready to print.
type Warning struct {
	Key     string
	Message string
}

func (w Warning) String() string { return w.Message }

// Defaults returns the config of an empty file.
func Defaults() Config {
	return Config{
		BridgeDriver:         DriverOpenVSwitch,
		DatapathType:         DatapathSystem,
		OVNIntegrationBridge: DefaultOVNIntegrationBridge,
		OVNEncapType:         EncapGeneve,
		OVSRundir:            firstSet(os.Getenv(EnvOVSRundir), DefaultOVSRundir),
		OVSTimeout:           DefaultOVSTimeout,
		StateDir:             DefaultStateDir,
	}
}

func firstSet(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Load reads the file at path and parses it (see Parse). A missing file is
// an error that names the path and the fix, and matches fs.ErrNotExist.
func Load(path string) (*Config, []Warning, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	return Parse(data, path)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &notFoundError{path: path, err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("config file %s is a directory; point --config or $%s at the host config file itself (default %s)", path, EnvConfig, DefaultPath)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config file %s is larger than %d bytes; point --config at the host config file", path, MaxFileSize)
	}
	return data, nil
}

// Parse decodes data (the contents of the file at path; path is only used
// in messages and Config.Path) over Defaults and validates the result.
// On any problem it returns no config and an errors.Join of every problem
// found: *FieldError for values, ErrSyntax-wrapped errors for bad YAML.
func Parse(data []byte, path string) (*Config, []Warning, error) {
	file := firstSet(path, "host.conf")
	root, err := parseDocument(data, file)
	if err != nil {
		return nil, nil, err
	}
	c := Defaults()
	c.Path = path
	warns, errs := c.decode(root, file)
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return nil, warns, errors.Join(errs...)
	}
	warns = append(warns, c.ovnWarnings(file)...)
	return &c, warns, nil
}

// ovnWarnings flags half an OVN setup: without both settings hostnet does
// not touch ovn-controller's settings. Cloudpods derives the encap IP
// itself, so its host.conf often has the database only.
func (c *Config) ovnWarnings(file string) []Warning {
	switch {
	case c.OVNSouthDatabase != "" && !c.OVNEncapIP.IsValid():
		return []Warning{{Key: keyOVNEncapIP, Message: fmt.Sprintf(
			"%s: ovn_south_database is set but ovn_encap_ip is not; OVN settings are not written (set both to enable)", file)}}
	case c.OVNSouthDatabase == "" && c.OVNEncapIP.IsValid():
		return []Warning{{Key: keyOVNSouthDatabase, Message: fmt.Sprintf(
			"%s: ovn_encap_ip is set but ovn_south_database is not; OVN settings are not written (set both to enable)", file)}}
	}
	return nil
}
