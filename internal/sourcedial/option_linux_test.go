package sourcedial

import (
	"net"
	"syscall"
	"testing"
)

func checkNoPortOption(t *testing.T, c *net.TCPConn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil || v != 1 {
		t.Fatalf("IP_BIND_ADDRESS_NO_PORT = %d (%v), want 1", v, gerr)
	}
}
