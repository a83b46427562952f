//go:build benchnowait

package plug

// waitForVswitchd is false in the benchnowait build, which only `make bench`
// uses: Plug returns once the OVSDB transaction is committed, without
// waiting for ovs-vswitchd, reading OpenFlow ports or installing flows. It
// measures what a hook that does not wait would cost; no package ships it.
const waitForVswitchd = false
