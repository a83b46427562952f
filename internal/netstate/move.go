package netstate

import (
	"fmt"
	"slices"
)

// Move is the IP configuration to carry from one link to another: the
// addresses and routes as they were on From.
type Move struct {
	From   string
	To     string
	Addrs  []Addr
	Routes []Route
}

// StepKind is what one step of a move does.
type StepKind int

// The steps of a move, in the order they run.
const (
	AddAddr StepKind = iota + 1
	DelAddr
	DelRoute
	AddRoute
)

// Step is one netlink change of a move.
type Step struct {
	Kind  StepKind
	Dev   string
	Addr  Addr  // AddAddr, DelAddr
	Route Route // AddRoute, DelRoute
}

func (s Step) String() string {
	switch s.Kind {
	case AddAddr:
		return fmt.Sprintf("add address %s to %s", s.Addr, s.Dev)
	case DelAddr:
		return fmt.Sprintf("remove address %s from %s", s.Addr, s.Dev)
	case DelRoute:
		return "remove route " + s.Route.String()
	case AddRoute:
		return "add route " + s.Route.String()
	}
	return fmt.Sprintf("step %d", int(s.Kind))
}

// Steps returns what is left to do of m on a host in state cur, in order:
//
//  1. add the addresses to To (primaries first, so secondaries join them);
//  2. remove them from From (secondaries first: removing a primary would
//     take its secondaries with it);
//  3. remove the routes from From (gateway routes first) -- removing the
//     last IPv4 address already flushed the IPv4 ones, IPv6 routes stay;
//  4. add the routes on To, link-scope routes before the gateway routes
//     that may need them.
//
// A step already done in cur is left out, so running Steps again after an
// interruption finishes the move; an empty result means m is complete.
func (m Move) Steps(cur *Host) []Step {
	var steps []Step
	for _, a := range primariesFirst(m.Addrs) {
		if !cur.HasAddr(m.To, a.Prefix) {
			steps = append(steps, Step{Kind: AddAddr, Dev: m.To, Addr: a.For(m.From, m.To)})
		}
	}
	secFirst := primariesFirst(m.Addrs)
	slices.Reverse(secFirst)
	for _, a := range secFirst {
		if cur.HasAddr(m.From, a.Prefix) {
			steps = append(steps, Step{Kind: DelAddr, Dev: m.From, Addr: a})
		}
	}
	linkFirst := LinkScopeFirst(m.Routes)
	for i := len(linkFirst) - 1; i >= 0; i-- {
		if r := linkFirst[i]; cur.HasRoute(r) {
			steps = append(steps, Step{Kind: DelRoute, Dev: m.From, Route: r})
		}
	}
	for _, r := range linkFirst {
		if t := r.Retarget(m.From, m.To); !cur.HasRoute(t) {
			steps = append(steps, Step{Kind: AddRoute, Dev: m.To, Route: t})
		}
	}
	return steps
}

// Reverse is the move that undoes m: the same addresses and routes, as they
// are on To once m is done, carried back to From.
func (m Move) Reverse() Move {
	r := Move{From: m.To, To: m.From}
	for _, a := range m.Addrs {
		moved := a
		moved.Label = relabel(a.Label, m.From, m.To)
		r.Addrs = append(r.Addrs, moved)
	}
	for _, rt := range m.Routes {
		r.Routes = append(r.Routes, rt.Retarget(m.From, m.To))
	}
	return r
}

// primariesFirst orders addresses primaries before secondaries, otherwise
// keeping the kernel's order.
func primariesFirst(addrs []Addr) []Addr {
	out := slices.Clone(addrs)
	slices.SortStableFunc(out, func(a, b Addr) int {
		return boolCmp(a.Secondary(), b.Secondary())
	})
	return out
}

// LinkScopeFirst orders routes so that routes without a gateway come before
// the gateway routes that may depend on them, otherwise keeping the order.
func LinkScopeFirst(routes []Route) []Route {
	out := slices.Clone(routes)
	slices.SortStableFunc(out, func(a, b Route) int {
		return boolCmp(a.ViaGateway(), b.ViaGateway())
	})
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
