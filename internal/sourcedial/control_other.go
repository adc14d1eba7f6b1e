//go:build !linux

package sourcedial

import "syscall"

// portControl does nothing where IP_BIND_ADDRESS_NO_PORT does not exist.
func portControl(_, _ string, _ syscall.RawConn) error { return nil }
