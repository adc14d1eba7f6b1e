package bridge

import (
	"slices"

	"github.com/fasthttp/websocket"
)

// The control API and handler envelopes reach connections through these
// methods (hubOps); they only look connections up and queue frames, so they
// are safe from any goroutine.

func (h *wsHub) conn(fd uint64) *wsConn {
	h.mu.Lock()
	c := h.conns[fd]
	h.mu.Unlock()
	return c
}

// pushTo queues pm for fd; false when fd is not connected here or already
// closing.
func (h *wsHub) pushTo(fd uint64, pm *websocket.PreparedMessage) bool {
	c := h.conn(fd)
	return c != nil && c.sendPrepared(pm)
}

// disconnectFD closes fd from the server side; its close event reaches PHP
// like any other.
func (h *wsHub) disconnectFD(fd uint64, code int, reason string) bool {
	c := h.conn(fd)
	if c == nil || c.leaving.Load() {
		return false // gone, or already closing: "false if already gone"
	}
	c.closeWith(code, reason)
	return true
}

// established reports whether fd exists (its close event not yet delivered)
// and is still open for messages (Swoole's isEstablished).
func (h *wsHub) established(fd uint64) (exists, open bool) {
	c := h.conn(fd)
	if c == nil {
		return false, false
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return true, c.ws != nil && !c.closing && !c.dead
}

// liveFDs lists connected fds in ascending (connection) order.
func (h *wsHub) liveFDs() []uint64 {
	h.mu.Lock()
	out := make([]uint64, 0, len(h.conns))
	for fd, c := range h.conns {
		if !c.leaving.Load() {
			out = append(out, fd)
		}
	}
	h.mu.Unlock()
	slices.Sort(out)
	return out
}

// lastActivity is the unix time of the last frame read from fd.
func (h *wsHub) lastActivity(fd uint64) int64 {
	c := h.conn(fd)
	if c == nil {
		return 0
	}
	return c.lastRead.Load()
}

// closesFailed counts close events PHP was never told of or whose handler
// failed: each is a connection PHP's own records may still show online.
func (h *wsHub) closesFailed() int64 { return h.stats.lostCloses.Load() }
