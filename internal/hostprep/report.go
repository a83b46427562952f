package hostprep

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/hostnet/hostnet/internal/config"
)

// Status is what `hostprep status --json` prints: per entry, and the
// host's wires (the L2 networks it reaches, what a scheduler reads).
type Status struct {
	Entries     []EntryStatus      `json:"entries"`
	Wires       []WireStatus       `json:"wires"`
	Integration *IntegrationStatus `json:"integration_bridge,omitempty"`
	OVN         *OVNStatus         `json:"ovn,omitempty"` // absent when host.conf gives no OVN settings
	Problems    []string           `json:"problems,omitempty"`
	Warnings    []string           `json:"warnings,omitempty"` // what check and apply warn about; ok regardless
	OK          bool               `json:"ok"`                 // every entry and the integration bridge are ok
}

// EntryStatus is one networks entry.
type EntryStatus struct {
	Index     int            `json:"index"`
	Entry     string         `json:"entry"`
	NIC       string         `json:"nic"`
	Bridge    string         `json:"bridge"`
	Form      config.Form    `json:"form"`
	Wire      string         `json:"wire,omitempty"`
	Device    string         `json:"device"` // where the addresses live: the bridge or its host VLAN port
	VLAN      int            `json:"vlan,omitempty"`
	Addresses []netip.Prefix `json:"addresses"`
	State     State          `json:"state"`
	Reasons   []string       `json:"reasons,omitempty"`
}

// WireStatus is one wire: reachable through bridge when State is ok.
type WireStatus struct {
	Wire    string       `json:"wire"`
	Bridge  string       `json:"bridge"`
	NIC     string       `json:"nic"`
	Address netip.Prefix `json:"address"`
	State   State        `json:"state"`
}

// IntegrationStatus is the OVN integration bridge.
type IntegrationStatus struct {
	Name    string   `json:"name"`
	State   State    `json:"state"`
	Reasons []string `json:"reasons,omitempty"`
}

// OVNStatus is the OVN settings of the Open_vSwitch row: the chassis
// name is what a migration's requested-chassis names.
type OVNStatus struct {
	Chassis string     `json:"chassis"`
	Remote  string     `json:"remote"`
	EncapIP netip.Addr `json:"encap_ip"`
	State   State      `json:"state"`
	Reasons []string   `json:"reasons,omitempty"`
}

// StatusOf summarises a plan.
func StatusOf(p *Plan) Status {
	s := Status{Entries: []EntryStatus{}, Wires: []WireStatus{}, OK: true, Warnings: p.Warnings}
	for _, ep := range p.Entries {
		e := ep.Entry
		es := EntryStatus{
			Index: e.Index, Entry: e.Raw, NIC: e.NIC, Bridge: e.Bridge, Form: e.Form(), Wire: e.Wire,
			Device: ep.Target, VLAN: ep.HostVLAN, Addresses: ep.Addresses, State: ep.State, Reasons: ep.Reasons,
		}
		if es.Addresses == nil {
			es.Addresses = []netip.Prefix{}
		}
		s.Entries = append(s.Entries, es)
		if e.Form() == config.FormWire {
			s.Wires = append(s.Wires, WireStatus{Wire: e.Wire, Bridge: e.Bridge, NIC: e.NIC, Address: ep.Wire, State: ep.State})
		}
		if ep.State != StateOK {
			s.OK = false
		}
	}
	if ip := p.Integration; ip != nil {
		s.Integration = &IntegrationStatus{Name: ip.Name, State: ip.State, Reasons: ip.Changes}
		if ip.State != StateOK {
			s.OK = false
		}
	}
	if o := p.Root.OVN; o != nil {
		s.OVN = &OVNStatus{Chassis: o.Chassis, Remote: o.Remote, EncapIP: o.EncapIP, State: StateOK, Reasons: p.Root.Changes}
		if len(p.Root.Ops) > 0 {
			s.OVN.State = StateDrift
		}
	}
	for _, pr := range p.Problems {
		s.Problems = append(s.Problems, pr.String())
	}
	if len(p.Problems) > 0 || len(p.Root.Ops) > 0 {
		s.OK = false
	}
	return s
}

// WriteText prints s for people.
func (s Status) WriteText(w io.Writer) {
	for _, e := range s.Entries {
		addrs := make([]string, len(e.Addresses))
		for i, a := range e.Addresses {
			addrs[i] = a.String()
		}
		dev := e.Device
		if e.Form == config.FormWire {
			dev += " wire " + e.Wire
		}
		fmt.Fprintf(w, "networks[%d] %-28s %-4s %s on %s: %s  [%s]\n", e.Index, e.Entry, e.Form, e.NIC, dev,
			orNone(strings.Join(addrs, " ")), e.State)
		for _, r := range e.Reasons {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	if s.Integration != nil {
		fmt.Fprintf(w, "integration bridge %s  [%s]\n", s.Integration.Name, s.Integration.State)
		for _, r := range s.Integration.Reasons {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	if o := s.OVN; o != nil {
		fmt.Fprintf(w, "ovn chassis %s: remote %s, encap ip %s  [%s]\n", orNone(o.Chassis), o.Remote, o.EncapIP, o.State)
		for _, r := range o.Reasons {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	var wires []string
	for _, wi := range s.Wires {
		if wi.State == StateOK {
			wires = append(wires, fmt.Sprintf("%s (%s via %s)", wi.Wire, wi.Bridge, wi.NIC))
		}
	}
	fmt.Fprintf(w, "wires: %s\n", orNone(strings.Join(wires, ", ")))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// WritePlan prints what apply would do, for check.
func (p *Plan) WritePlan(w io.Writer) {
	if p.Converged() {
		fmt.Fprintln(w, "no changes: the host is as host.conf says")
		return
	}
	for _, ep := range p.Entries {
		fmt.Fprintf(w, "%s: %s\n", ep.Entry.Label(), ep.State)
		for _, r := range ep.Reasons {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	if ip := p.Integration; ip != nil && ip.State != StateOK {
		fmt.Fprintf(w, "ovn_integration_bridge %s: %s\n", ip.Name, ip.State)
		for _, r := range ip.Changes {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	if len(p.Root.Changes) > 0 {
		fmt.Fprintln(w, "Open_vSwitch OVN settings: drift")
		for _, r := range p.Root.Changes {
			fmt.Fprintf(w, "    %s\n", r)
		}
	}
	if p.NM.Write {
		fmt.Fprintf(w, "NetworkManager: write %s", p.NM.Path)
		if p.NM.Reload {
			fmt.Fprint(w, " and reload NetworkManager")
		}
		fmt.Fprintln(w)
	}
}
