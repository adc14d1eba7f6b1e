//go:build !unix

package bridge

// peekReadable cannot wait without reading on this platform: the frame
// reader blocks itself.
func peekReadable(uintptr) bool { return true }
