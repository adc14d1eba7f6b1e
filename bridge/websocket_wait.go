package bridge

import "syscall"

// An idle connection's reader goroutine parks until the client sends
// something. Parked inside the frame reader (bufio, the library's frame
// parser, net.Conn.Read) its stack needs 4 KiB, doubling what the rest of
// the connection costs; parked here, a few frames deep, it fits the
// runtime's 2 KiB minimum, which the garbage collector shrinks it back to
// after a message made it grow. With 10,000s of idle connections that is
// the largest single lever on memory (docs/benchmarks.md).

// waitReadable returns once the socket has data (or an error, a deadline,
// EOF) without consuming anything; the frame reader then reads it.
func (c *wsConn) waitReadable() error {
	if c.rc == nil || (c.br != nil && c.br.Buffered() > 0) {
		return nil // no raw socket (TLS, replayed bytes) or data already buffered
	}
	c.peeked = false
	return c.rc.Read(c.readable)
}

// setRawConn lets the reader park on rc (nil: never).
func (c *wsConn) setRawConn(rc syscall.RawConn) {
	c.rc = rc
	if rc == nil {
		return
	}
	// RawConn.Read calls readable, parks while it says false, then calls it
	// again. The first call peeks (data may already be in the socket, with
	// no new readiness event to wake a waiter); after a wake-up the socket
	// is readable and the frame reader's read comes next, so no second
	// syscall.
	c.readable = func(fd uintptr) bool {
		if c.peeked {
			return true
		}
		c.peeked = true
		return peekReadable(fd)
	}
}

// rawConnOf returns the socket's syscall.RawConn, or nil when c is not a
// plain socket.
func rawConnOf(c any) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
