package flows

import (
	"reflect"
	"testing"
)

// Flows are counted per MAC and OpenFlow port; flows without hostnet's
// tag are not counted.
func TestCountByOwner(t *testing.T) {
	dump := `NXST_FLOW reply (xid=0x4):
 cookie=0x484e525400000001, duration=1.2s, table=0, n_packets=0, n_bytes=0, priority=30100,in_port=3,dl_src=52:54:00:00:00:01 actions=NORMAL
 cookie=0x484e525400000001, duration=1.2s, table=0, n_packets=5, n_bytes=300, priority=30000,in_port=3 actions=drop
 cookie=0x484e525400000001, duration=9.1s, table=0, n_packets=0, n_bytes=0, priority=30000,in_port=12 actions=drop
 cookie=0x484e525400000002, duration=1.2s, table=0, n_packets=0, n_bytes=0, priority=30000,in_port=4 actions=drop
 cookie=0x1234525400000003, duration=1.2s, table=0, n_packets=0, n_bytes=0, priority=30000,in_port=5 actions=drop
 cookie=0x484e525400000002, duration=1.2s, table=0, n_packets=0, n_bytes=0, priority=5,in_port=LOCAL actions=drop
 cookie=0x484e525400000002, duration=1.2s, table=0, n_packets=0, n_bytes=0, priority=5,in_port=40,dl_src=52:54:00:00:00:02 actions=drop
 cookie=0x0, duration=99s, table=0, n_packets=9, n_bytes=900, priority=0 actions=NORMAL
`
	want := map[FlowOwner]int{
		{MAC: "52:54:00:00:00:01", OFPort: 3}:  2,
		{MAC: "52:54:00:00:00:01", OFPort: 12}: 1,
		{MAC: "52:54:00:00:00:02", OFPort: 4}:  1,
		{MAC: "52:54:00:00:00:02", OFPort: -1}: 1, // in_port=LOCAL
		{MAC: "52:54:00:00:00:02", OFPort: 40}: 1,
	}
	if got := countByOwner(dump); !reflect.DeepEqual(got, want) {
		t.Errorf("countByOwner = %v, want %v", got, want)
	}
}
