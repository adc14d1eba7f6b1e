package bridge

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
)

// wsConn is one WebSocket connection. Its goroutines: the reader, always
// (blocked in a read while the connection is idle); a worker that runs the
// connection's events through PHP, only while events are queued; and a
// writer, only while messages wait to be written. So an idle connection
// costs one parked goroutine, its 1 KiB read buffer and the request
// params snapshot.
type wsConn struct {
	hub      *wsHub
	fd       uint64
	params   []byte          // the upgrade request's CGI params, encoded
	lastRead atomic.Int64    // unix seconds of the last frame read (control API info)
	leaving  atomic.Bool     // its close event is queued: no longer counted or sent to
	ws       *websocket.Conn // nil when the client vanished during the handshake
	br       *bufio.Reader   // ws's read buffer
	rc       syscall.RawConn // the socket, to park on it (waitReadable); nil for TLS
	readable func(fd uintptr) bool
	peeked   bool

	// Inbound events, reader → worker (websocket_events.go).
	mu          sync.Mutex
	queue       []*wsEvent
	running     bool          // a worker goroutine is draining queue
	space       chan struct{} // closed when the reader, waiting on a full queue, may go on
	closeQueued bool

	// Outbound messages, anything → the single writer. Also guards the
	// close state.
	wmu        sync.Mutex
	out        []wsOutbound
	writing    bool          // a writer goroutine is draining out
	closing    bool          // a close frame is queued: nothing more is accepted
	dead       bool          // the socket is closed
	cause      *wsCloseCause // why the connection ends, first one wins
	closeTimer *time.Timer   // closes the socket if the close handshake stalls
}

func newWSConn(h *wsHub, fd uint64, params []byte, ws *websocket.Conn) *wsConn {
	c := &wsConn{hub: h, fd: fd, params: params, ws: ws}
	if ws != nil {
		ws.SetReadLimit(h.cfg.WSMaxMessageSize)
		ws.SetPingHandler(c.onPing)
		ws.SetPongHandler(c.onPong)
	}
	return c
}

// Reading.

var (
	errWSInvalidUTF8 = errors.New("websocket: invalid UTF-8 in a text message")
	errWSTooBig      = errors.New("websocket: message too big after inflating")
)

// readLoop reads messages and queues them for PHP until the connection
// ends, then queues the close event. Queueing blocks on a full queue: the
// socket is not read meanwhile, and TCP pushes back on the client.
func (c *wsConn) readLoop() {
	limit := c.hub.cfg.WSMaxMessageSize
	for {
		c.extendDeadline()
		if err := c.waitReadable(); err != nil {
			c.readEnded(err)
			return
		}
		op, buf, err := readWSMessage(c.ws, limit)
		if err != nil {
			c.readEnded(err)
			return
		}
		c.enqueue(&wsEvent{kind: wsMessage, opcode: op, data: buf})
	}
}

// readWSMessage reads one complete message (fragments reassembled) of at
// most limit bytes, and checks that text is valid UTF-8: the library leaves
// that to the application. ws must have SetReadLimit(limit), which refuses
// frames whose declared length is too big before reading them; the limit
// here also bounds what permessage-deflate inflates to.
func readWSMessage(ws *websocket.Conn, limit int64) (int, *bytes.Buffer, error) {
	op, r, err := ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	buf := getPayloadBuffer()
	_, err = buf.ReadFrom(io.LimitReader(r, limit+1))
	switch {
	case err != nil:
	case int64(buf.Len()) > limit:
		err = errWSTooBig
	case op == websocket.TextMessage && !utf8.Valid(buf.Bytes()):
		err = errWSInvalidUTF8
	}
	if err != nil {
		putPayloadBuffer(buf)
		return 0, nil, err
	}
	return op, buf, nil
}

// extendDeadline pushes the idle timeout back; any frame counts, pongs
// included.
func (c *wsConn) extendDeadline() {
	now := time.Now()
	c.lastRead.Store(now.Unix()) // getClientInfo's last_activity
	if d := c.hub.cfg.WSIdleTimeout; d > 0 {
		_ = c.ws.SetReadDeadline(now.Add(d))
	}
}

func (c *wsConn) onPing(data string) error {
	c.extendDeadline()
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.hub.cfg.WSWriteTimeout))
	if err == websocket.ErrCloseSent {
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil
	}
	return err
}

func (c *wsConn) onPong(string) error {
	c.extendDeadline()
	return nil
}

// readEnded turns the reader's final error into the close event.
func (c *wsConn) readEnded(err error) {
	code, reason, mustSend := classifyReadError(err)
	c.wmu.Lock()
	first := c.cause == nil
	if first {
		c.cause = &wsCloseCause{code: code, reason: reason}
	}
	cause := *c.cause
	c.wmu.Unlock()
	if first && mustSend {
		// Best effort: the client may be gone already.
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	}
	c.closeSocket()
	c.enqueue(&wsEvent{kind: wsClose, code: cause.code, reason: cause.reason})
}

// classifyReadError maps how reading ended to the close code PHP gets, and
// says whether the bridge still has to send that close frame (the library
// already sent it for protocol errors and too big frames, and echoed the
// client's close).
func classifyReadError(err error) (code int, reason string, mustSend bool) {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.Is(err, errWSInvalidUTF8):
		return closeInvalidData, "invalid UTF-8 in a text message", true
	case errors.Is(err, errWSTooBig):
		return closeTooBig, "message too big", true
	case errors.Is(err, websocket.ErrReadLimit):
		return closeTooBig, "message too big", false
	case errors.As(err, &ce):
		if ce.Code == closeAbnormal { // the library's "unexpected EOF"
			return closeAbnormal, "", false
		}
		return ce.Code, ce.Text, false
	case errors.As(err, &ne) && ne.Timeout():
		return closeGoingAway, "idle timeout", true
	case errors.Is(err, net.ErrClosed), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return closeAbnormal, "", false
	case strings.HasPrefix(err.Error(), "flate: "):
		return closeInvalidData, "invalid compressed data", true
	case strings.HasPrefix(err.Error(), "websocket: "):
		// The library's protocol errors (bad MASK, RSV bits, bad opcode,
		// control frame too long or fragmented, bad close code, invalid
		// UTF-8 in a close reason): it sent 1002 with this text.
		return closeProtocolError, cleanCloseReason(strings.TrimPrefix(err.Error(), "websocket: ")), false
	}
	return closeAbnormal, "", false
}

// Closing.

// closeWith closes the connection from the server side: the close frame
// goes out after the messages already queued, then the bridge waits for the
// client's answer for wsCloseGrace. The socket is closed regardless after
// ws-write-timeout plus that grace.
func (c *wsConn) closeWith(code int, reason string) {
	if c.ws == nil {
		return
	}
	c.wmu.Lock()
	if c.cause == nil {
		c.cause = &wsCloseCause{code: code, reason: reason}
	}
	if c.closing || c.dead {
		c.wmu.Unlock()
		return
	}
	c.closeTimer = time.AfterFunc(c.hub.cfg.WSWriteTimeout+wsCloseGrace, c.closeSocket)
	start := c.pushLocked(wsOutbound{kind: websocket.CloseMessage, code: code, reason: reason})
	c.wmu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// abort closes the socket at once, recording why (a client that does not
// read gets no polite close frame: it would not read that either).
func (c *wsConn) abort(code int, reason string) {
	c.wmu.Lock()
	if c.cause == nil {
		c.cause = &wsCloseCause{code: code, reason: reason}
	}
	c.wmu.Unlock()
	c.closeSocket()
}

// closeSocket closes the TCP connection; the reader then ends and queues
// the close event. Safe to call more than once.
func (c *wsConn) closeSocket() {
	c.wmu.Lock()
	if c.dead {
		c.wmu.Unlock()
		return
	}
	c.dead = true
	t := c.closeTimer
	c.closeTimer = nil
	c.wmu.Unlock()
	if t != nil {
		t.Stop()
	}
	_ = c.ws.NetConn().Close()
}

// Writing: one writer at a time, started on demand.

// wsOutbound is one frame waiting for the writer.
type wsOutbound struct {
	kind     int                        // websocket.TextMessage, BinaryMessage, PingMessage, CloseMessage
	data     *bytes.Buffer              // text and binary: this connection's own message (a reply)
	prepared *websocket.PreparedMessage // or one shared by every target of a push or broadcast
	code     int                        // close
	reason   string
}

func (m wsOutbound) release() {
	if m.data != nil {
		putPayloadBuffer(m.data)
	}
}

// sendPrepared queues a pushed message (push, broadcast, sendToGroup…),
// shared by every connection it goes to: its frame is built once and
// written to each, so a 100 KiB broadcast to 10,000 connections holds
// 100 KiB, not 1 GiB. A writer goroutine is started if none runs. A client
// whose send queue is full is disconnected (1008): it is not reading, and
// buffering for it would grow without bound.
func (c *wsConn) sendPrepared(pm *websocket.PreparedMessage) bool {
	return c.queueOut(wsOutbound{kind: websocket.TextMessage, prepared: pm}, false)
}

// sendNow is send for the connection's own event worker: when no writer
// runs, the worker writes the queue itself rather than start a goroutine
// for the reply. It only ever delays this connection's next event.
func (c *wsConn) sendNow(kind int, data *bytes.Buffer) {
	c.queueOut(wsOutbound{kind: kind, data: data}, true)
}

// queueOut queues m for the writer; false when the connection is closing
// or gone (m is dropped). A client over its send queue is disconnected,
// its message counted as handed over.
func (c *wsConn) queueOut(m wsOutbound, inline bool) bool {
	if c.ws == nil {
		m.release()
		return false
	}
	c.wmu.Lock()
	if c.closing || c.dead {
		c.wmu.Unlock()
		m.release()
		return false
	}
	if len(c.out) >= c.hub.cfg.WSSendQueueSize {
		c.wmu.Unlock()
		m.release()
		c.hub.log.Warn("websocket client does not read; disconnecting", "fd", c.fd,
			"queued", c.hub.cfg.WSSendQueueSize, "hint", "raise ws-send-queue-size if bursts are legitimate")
		c.abort(closePolicy, "send queue full")
		return true
	}
	start := c.pushLocked(m)
	c.wmu.Unlock()
	switch {
	case start && inline:
		c.writeInline()
	case start:
		go c.writeLoop()
	}
	return true
}

// writeInline writes the one frame that started the writer, then hands
// anything queued meanwhile to a writer goroutine: a steady stream of
// pushes must not keep the event worker writing instead of running the
// connection's next events.
func (c *wsConn) writeInline() {
	if c.writeFrames(1) {
		go c.writeLoop()
	}
}

// ping queues a ping unless the writer is busy anyway.
func (c *wsConn) ping() {
	if c.ws == nil {
		return
	}
	c.wmu.Lock()
	start := !c.writing && !c.closing && !c.dead && c.pushLocked(wsOutbound{kind: websocket.PingMessage})
	c.wmu.Unlock()
	if start {
		go c.writeLoop()
	}
}

// pushLocked appends m; c.wmu is held. It reports whether the caller must
// run writeLoop (no writer runs yet; it is now marked as running).
func (c *wsConn) pushLocked(m wsOutbound) bool {
	if m.kind == websocket.CloseMessage {
		c.closing = true
	}
	c.out = append(c.out, m)
	if c.writing {
		return false
	}
	c.writing = true
	return true
}

// writeLoop writes queued frames and returns when the queue is empty, so an
// idle connection has no writer goroutine. Exactly one runs at a time
// (c.writing).
func (c *wsConn) writeLoop() { c.writeFrames(-1) }

// writeFrames is the writer: it writes queued frames until the queue is
// empty (then it clears c.writing and returns false) or, when limit >= 0,
// until it wrote limit frames with more waiting (it returns true and the
// caller must keep writing: c.writing stays set).
func (c *wsConn) writeFrames(limit int) (more bool) {
	for written := 0; ; written++ {
		c.wmu.Lock()
		if limit >= 0 && written >= limit && len(c.out) > 0 && !c.dead {
			c.wmu.Unlock()
			return true
		}
		if len(c.out) == 0 || c.dead {
			for i, m := range c.out {
				m.release()
				c.out[i] = wsOutbound{}
			}
			if cap(c.out) > 4 || c.dead {
				c.out = nil // a burst's queue goes; a small one is reused
			} else {
				c.out = c.out[:0]
			}
			c.writing = false
			c.wmu.Unlock()
			return
		}
		m := c.out[0]
		n := copy(c.out, c.out[1:]) // at most ws-send-queue-size: cheap, and keeps the array
		c.out[n] = wsOutbound{}
		c.out = c.out[:n]
		c.wmu.Unlock()

		if err := c.write(m); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.hub.log.Warn("websocket client too slow to take a message; disconnecting", "fd", c.fd,
					"write_timeout", c.hub.cfg.WSWriteTimeout.String())
				c.abort(closePolicy, "write timeout")
			} else {
				c.closeSocket() // the peer is gone; the reader reports 1006
			}
		}
	}
}

func (c *wsConn) write(m wsOutbound) error {
	deadline := time.Now().Add(c.hub.cfg.WSWriteTimeout)
	switch m.kind {
	case websocket.TextMessage, websocket.BinaryMessage:
		_ = c.ws.SetWriteDeadline(deadline)
		if m.prepared != nil {
			return c.ws.WritePreparedMessage(m.prepared)
		}
		defer m.release()
		return c.ws.WriteMessage(m.kind, m.data.Bytes())
	case websocket.PingMessage:
		return c.ws.WriteControl(websocket.PingMessage, nil, deadline)
	case websocket.CloseMessage:
		err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(m.code, m.reason), deadline)
		if err == nil {
			// Now wait for the client's close frame, but not for long.
			c.wmu.Lock()
			if c.closeTimer != nil && !c.dead {
				c.closeTimer.Reset(wsCloseGrace)
			}
			c.wmu.Unlock()
		}
		return err
	}
	return nil
}

// Payload buffers.

// wsPoolMax is the largest buffer kept for reuse; bigger ones, from rare
// large messages, go back to the garbage collector.
const wsPoolMax = 64 << 10

var payloadPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getPayloadBuffer() *bytes.Buffer { return payloadPool.Get().(*bytes.Buffer) }

func putPayloadBuffer(b *bytes.Buffer) {
	if b.Cap() > wsPoolMax {
		return
	}
	b.Reset()
	payloadPool.Put(b)
}
