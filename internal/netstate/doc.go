// Package netstate reads the kernel's view of links, addresses and routes
// through netlink and moves a link's IP configuration to another link.
//
// It is the part of hostprep that touches netlink; what should move and in
// which order is decided by pure functions on the types of types.go, so the
// rules are unit-tested without root. Devices are named, not indexed, in
// every type: a snapshot is written to disk before a move and must still
// mean the same thing after the target device has been created.
//
// Everything works in the network namespace of the calling process (the
// hostprep binary runs inside the namespace it manages); no function here
// switches namespaces.
package netstate
