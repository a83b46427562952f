package report

// EngineChanges says what changed in the engine since the baseline
// revision; the before/after section prints it above its numbers.
var EngineChanges = []string{
	"**One OVSDB round trip to the commit.** A fresh start no longer reads the rows under each tap name before it commits: " +
		"a lookup by name scans the Port and Interface tables in ovsdb-server (about 2 ms for 4 NICs at 2,000 ports, growing with both). " +
		"It reads only its bridges, then commits; the unique name indexes of Port and Interface refuse an insert under a taken name, " +
		"and only then the careful path runs (stale rows replaced, foreign rows refused). New ports go onto their bridge in one mutation per bridge, not one per NIC.",
	"**No OpenFlow for NICs without source checks.** Every plug used to run an `ovs-ofctl` flow bundle, at least to delete the MAC's old flows. " +
		"With thousands of ports each exchange with ovs-vswitchd costs tens of milliseconds, and right after it applies new ports a few hundred. " +
		"Now an unplug that cannot remove a NIC's flows records the MAC on the bridge (`external_ids:hostnet-flows-left-MAC`) in the transaction that removes the ports, " +
		"and a fresh plug clears flows only for such MACs (or when it replaced stale rows). NICs with source checks still get their flows, after the commit.",
	"**`ovs-ofctl --no-names`.** Flows name ports by number; without the option `ovs-ofctl` first fetched every port's description to resolve names (about 200 ms at 2,000 ports).",
	"**No regexp compiled at start.** The vpc-port name check was a regexp with `{0,127}`: 0.5 ms of every hook process.",
}

// WaitArgument is the reasoning behind the hook's choice to wait for
// ovs-vswitchd, printed under the numbers that weigh it.
const WaitArgument = `**The shipped hook waits**, and the numbers above are what it costs. The reasons:

- NICs with source checks (the default, ` + "`src-check mac`" + ` without listed IPs) need their OpenFlow port number for their flows, and ovs-vswitchd assigns it only when it applies the port. A hook that returned at the commit would let the VM start with no source check at all until someone installed the flows; hostnet has no daemon to do that later, and the start hook is the last moment before qemu runs.
- ovs-vswitchd's own verdict arrives only then: a tap it cannot open (gone again, or in another network namespace) is today a refused start with the device's error in ` + "`virsh start`" + `'s message, instead of a running VM with a dead NIC.
- The tag is committed with the port, so an unapplied port leaks nothing; waiting only guarantees that the VM's first frames find the port already switching in its VLAN. That alone would not justify the wait, the two reasons above do.
- The cost is paid once per VM start, on top of a ` + "`virsh start`" + ` that takes hundreds of milliseconds anyway (section 2), and it is what libvirt's own plug pays too, once per NIC instead of once per VM. It grows with the ports on the bridge because ovs-vswitchd revisits every port when it reconfigures and, on the userspace datapath used here, polls them all in its main thread, which the kernel datapath of production hosts does not.

Not waiting stays possible for one case, a VM whose NICs all have ` + "`src-check off`" + `; it would save the difference above, but would also lose the error report, so it is not done.`
