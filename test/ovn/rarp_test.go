package ovn_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hostnet/hostnet/test/harness"
)

// sendAnnounce sends what QEMU sends from a NIC when a migrated VM resumes
// (qemu_announce_self): RARP "reverse request" broadcasts from the NIC's
// MAC, here three of them 50 ms apart. OVN's activation-strategy=rarp
// waits for exactly this frame.
func sendAnnounce(t *testing.T, ns *harness.Netns, dev, mac string) {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	frame := rarpFrame(hw)
	err = ns.Do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0) // protocol 0: send only
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6}
		copy(to.Addr[:], frame[0:6])
		for i := range 3 {
			if i > 0 {
				time.Sleep(50 * time.Millisecond)
			}
			if err := unix.Sendto(fd, frame, 0, to); err != nil {
				return fmt.Errorf("send RARP on %s: %w", dev, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("announce %s from %s in %s: %v", mac, dev, ns, err)
	}
}

// rarpFrame builds a RARP reverse request (RFC 903) from hw, padded to the
// Ethernet minimum, as QEMU builds it.
func rarpFrame(hw net.HardwareAddr) []byte {
	f := make([]byte, 60)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], hw)
	binary.BigEndian.PutUint16(f[12:], 0x8035) // ETH_P_RARP
	p := f[14:]
	binary.BigEndian.PutUint16(p[0:], 1)      // hardware: Ethernet
	binary.BigEndian.PutUint16(p[2:], 0x0800) // protocol: IPv4
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], 3) // reverse request
	copy(p[8:14], hw)                    // sender hardware address; sender IP 0
	copy(p[18:24], hw)                   // target hardware address; target IP 0
	return f
}
