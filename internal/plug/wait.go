//go:build !benchnowait

package plug

// waitForVswitchd makes Plug wait until ovs-vswitchd has applied its
// transaction and read back the OpenFlow ports (DESIGN.md section 4). Only
// `make bench` builds the other value (tag benchnowait), to measure a hook
// that returns at the OVSDB commit.
const waitForVswitchd = true
