// Package sourcedial dials TCP from a chosen loopback source address, for
// the load tools (cmd/phpbridge-load, bench/idleconns) that spread tens of
// thousands of client connections over 127.0.0.2, .3, ….
package sourcedial

import (
	"net"
	"time"
)

// Dialer dials from src with the source port chosen at connect time, not
// at bind time (portControl). Binding first with port 0 makes the kernel
// pick a port that no other socket on src holds, TIME_WAIT ones included,
// scanning the range on every dial: with the tens of thousands of
// TIME_WAIT sockets an earlier run leaves on the same source address,
// dials slowed to ~170 ms each, and the accept benchmark measured the load
// tool's port search instead of the server.
func Dialer(src net.IP, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: src}, Control: portControl}
}
