package sourcedial

import (
	"net"
	"testing"
	"time"
)

// TestDialerUsesSourceAddress dials a loopback listener from 127.0.0.2 and
// checks the connection's local address and, on Linux, the socket option.
func TestDialerUsesSourceAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	src := net.IPv4(127, 0, 0, 2)
	c, err := Dialer(src, 5*time.Second).Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.TCPAddr)
	if !local.IP.Equal(src) || local.Port == 0 {
		t.Fatalf("local address %v, want 127.0.0.2 with a port", local)
	}
	checkNoPortOption(t, c.(*net.TCPConn))
}
