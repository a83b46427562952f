package tapdev

import (
	"errors"
	"net"
	"testing"
)

// The loopback device exists in every network namespace.
func TestIfindex(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Ifindex("lo")
	if err != nil || got != lo.Index {
		t.Fatalf("Ifindex(lo) = %d, %v; want %d", got, err, lo.Index)
	}
	if _, err := Ifindex("hn-no-such0"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("Ifindex of a missing device: %v, want ErrNoDevice", err)
	}
	if _, err := Ifindex("name-too-long-for-a-device"); err == nil {
		t.Error("accepted a name over 15 bytes")
	}
}

// The loopback device is not Ethernet; a missing device is ErrNoDevice.
// (Taps, veths and TUN devices need root: test/plug's TestIsEthernet.)
func TestIsEthernet(t *testing.T) {
	if eth, err := IsEthernet("lo"); err != nil || eth {
		t.Errorf("IsEthernet(lo) = %v, %v; want false", eth, err)
	}
	if _, err := IsEthernet("hn-no-such0"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("IsEthernet of a missing device: %v, want ErrNoDevice", err)
	}
}
