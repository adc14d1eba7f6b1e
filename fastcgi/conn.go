package fastcgi

import (
	"bufio"
	"errors"
	"net"
	"syscall"
	"time"
)

// readBufferSize sizes each connection's read buffer. PHP-FPM writes its
// output in 8 KiB chunks; 32 KiB lets a typical page arrive in one read.
const readBufferSize = 32 << 10

// conn is one keep-alive connection to PHP-FPM. PHP-FPM dedicates a child to
// a connection for as long as it stays open, so the pool never holds more
// conns than Config.MaxConns.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	wbuf     []byte
	lastUsed time.Time
}

func newConn(nc net.Conn) *conn {
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, readBufferSize), wbuf: make([]byte, 0, 4096)}
}

// alive reports whether an idle connection is still usable: PHP-FPM closes
// connections when a child exits (pm.max_requests, restart, idle kill), and a
// write to such a socket often succeeds only to fail on the read. A
// non-blocking MSG_PEEK tells EOF (dead), pending bytes (desynchronised,
// dead) and EAGAIN (alive) apart with one syscall.
func (c *conn) alive() bool {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	_ = c.nc.SetReadDeadline(time.Time{}) // an expired deadline would fail the peek
	var buf [1]byte
	alive := false
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		_ = n
		alive = (errors.Is(rerr, syscall.EAGAIN) || errors.Is(rerr, syscall.EWOULDBLOCK))
		return true
	})
	return err == nil && alive
}

// pendingError returns the socket's pending error (SO_ERROR), if any: a
// reset that arrived after the peer's FIN, which a read does not report.
func (c *conn) pendingError() error {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var soerr int
	if err := rc.Control(func(fd uintptr) {
		soerr, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	}); err != nil || soerr == 0 {
		return nil
	}
	return syscall.Errno(soerr)
}

func (c *conn) close() { _ = c.nc.Close() }

// sendAbort writes FCGI_ABORT_REQUEST, best effort, before the connection is
// closed: PHP-FPM does not read the socket while a script runs, so the close
// is what really stops the script (its next output fails), but a compliant
// server gets the explicit abort.
func (c *conn) sendAbort() {
	var rec [headerLen]byte
	_ = c.nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	_, _ = c.nc.Write(appendHeader(rec[:0], typeAbortRequest, requestID, 0))
}
