package sourcedial

import "syscall"

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT
// (include/uapi/linux/in.h), which the syscall package does not name.
const ipBindAddressNoPort = 24

// portControl defers the choice of the source port to connect(2), which
// only needs the whole 4-tuple to be unique.
func portControl(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	}); err != nil {
		return err
	}
	return serr
}
