// Package harness builds the real-system fixtures that hostnet's integration and end-to-end
// tests run against: network namespaces, veth pairs, private Open vSwitch instances, a VLAN
// "physical switch", a routing gateway, a private libvirtd and a tiny guest VM.
//
// Every helper takes a testing.TB, fails the test with t.Fatalf on error (naming the command
// and its output), and registers its teardown with t.Cleanup, so namespaces, daemons and VMs
// are removed even when the test fails. On failure the teardown also logs the tail of the
// daemons' logs (ovs-vswitchd, ovsdb-server, libvirtd, qemu).
//
// Names are unique per call ("hn" + random hex + role), so tests in different packages can
// run in parallel on one machine. Nothing touches the machine's own network, OVS or libvirt:
// each OVS and each libvirtd is private to a temp directory and a namespace.
//
// Commands run inside a namespace as whole processes (ip netns exec, ip -n); the test
// process's own threads are never switched, except inside Netns.Do, which locks its OS
// thread (see README.md).
//
// The tests need root and fail (never skip) without it: call RequireRoot first.
package harness
