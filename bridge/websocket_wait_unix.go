//go:build unix

package bridge

import "syscall"

// peekReadable reports whether fd has data, EOF or an error pending, by
// peeking at one byte without blocking. false (EAGAIN) makes
// RawConn.Read wait for the socket to become readable and ask again.
func peekReadable(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err != syscall.EAGAIN
}
