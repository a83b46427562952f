// Package ovsdb is a small native client for the OVSDB management protocol
// (RFC 7047): transact, monitor and echo over a unix or tcp socket.
//
// It exists because the hook runs on every VM start and must commit a port in
// well under a millisecond on a bridge with thousands of ports: ovs-vsctl reads
// whole tables on every call, and a generated-model client (libovsdb) costs a
// larger binary and a slower start for a process that lives a few
// milliseconds. The client speaks only what hostnet needs: operations are
// built with the constructors in op.go, rows come back as Row, whose getters
// decode the OVSDB JSON forms of atoms, sets and maps.
//
// Every call takes a context; callers give it the deadline (5 s by default in
// hostnet), so a hung ovsdb-server never hangs the hook.
package ovsdb
