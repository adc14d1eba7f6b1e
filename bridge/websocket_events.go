package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
	"github.com/phpbridge/phpbridge/fastcgi"
)

// Events of one connection reach PHP strictly in order, one at a time: the
// reader queues them, and a worker goroutine, started when the queue
// becomes non-empty and gone when it is drained, runs them. Parallelism
// across connections is capped by the FastCGI client (fastcgi-max-conns,
// matched to the FPM pool), whose waiters are served first come, first
// served, so one slow connection cannot starve another beyond the pool.

type wsEventKind uint8

const (
	wsMessage wsEventKind = iota
	wsClose
)

// wsEvent is one queued event.
type wsEvent struct {
	kind   wsEventKind
	opcode int           // message: websocket.TextMessage or BinaryMessage
	data   *bytes.Buffer // message payload
	body   bytes.Reader  // reads data as the FastCGI request body
	code   int           // close
	reason string
}

// enqueue adds ev for the worker. A message waits while ws-queue-size
// messages are queued (the caller is the reader, so the socket is not read
// meanwhile); the close event never waits and is the last one accepted.
func (c *wsConn) enqueue(ev *wsEvent) {
	limit := c.hub.cfg.WSQueueSize
	c.mu.Lock()
	if c.closeQueued {
		c.mu.Unlock()
		if ev.data != nil {
			putPayloadBuffer(ev.data)
		}
		return
	}
	for ev.kind == wsMessage && len(c.queue) >= limit {
		ch := make(chan struct{})
		c.space = ch
		c.mu.Unlock()
		c.hub.stats.pauses.Add(1)
		<-ch
		c.mu.Lock()
	}
	if ev.kind == wsClose {
		c.closeQueued = true
		c.leaving.Store(true)
	}
	c.queue = append(c.queue, ev)
	if n := int64(len(c.queue)); ev.kind == wsMessage && n > c.hub.stats.maxQueued.Load() {
		c.hub.stats.maxQueued.Store(n) // approximate under races; a diagnostic
	}
	start := !c.running
	c.running = true
	c.mu.Unlock()
	if ev.kind == wsClose {
		c.hub.s.reg.leaving(c.fd) // out of its groups and uid before onClose runs
	}
	if start {
		c.hub.workers.run(c)
	}
}

// drain runs queued events until none is left (on a worker, see
// websocket_workers.go); after the close event the connection is forgotten.
func (c *wsConn) drain() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.running = false
			if cap(c.queue) > 4 {
				c.queue = nil // a burst's queue goes; a small one is reused
			}
			c.mu.Unlock()
			return
		}
		ev := c.queue[0]
		n := copy(c.queue, c.queue[1:]) // at most ws-queue-size + 1
		c.queue[n] = nil
		c.queue = c.queue[:n]
		if c.space != nil {
			close(c.space)
			c.space = nil
		}
		c.mu.Unlock()

		if ev.kind == wsClose {
			c.deliverClose(ev)
			c.hub.remove(c)
			c.mu.Lock()
			c.running = false
			c.queue = nil
			c.mu.Unlock()
			c.params = nil
			return
		}
		c.message(ev)
	}
}

// message runs one message event and acts on PHP's answer.
func (c *wsConn) message(ev *wsEvent) {
	h := c.hub
	defer putPayloadBuffer(ev.data)
	p := fastcgi.AcquireParams()
	uid, session := h.s.reg.eventState(c.fd)
	appendWSEventParams(p, c.params, wsEventParams{event: wsEventMessage, fd: c.fd, opcode: ev.opcode, length: ev.data.Len(), uid: uid, session: session})
	ev.body.Reset(ev.data.Bytes())
	resp, err := h.s.fcgi.Do(context.Background(), &fastcgi.Request{Params: p, Body: &ev.body})
	fastcgi.ReleaseParams(p)
	if err != nil {
		c.phpFailed(wsEventMessage, err)
		return
	}
	reply, err := h.readReply(resp, ev.opcode, c.fd, false)
	resp.Close()
	if err != nil {
		c.phpFailed(wsEventMessage, err)
		return
	}
	c.apply(reply)
}

// phpFailed handles a message event PHP-FPM did not answer (or answered
// with 5xx): logged; the connection stays unless ws-on-php-error is close.
func (c *wsConn) phpFailed(event string, err error) {
	h := c.hub
	h.log.Error("websocket event failed in php-fpm", "event", event, "fd", c.fd, "fastcgi", h.cfg.FastCGI, "err", err)
	if h.cfg.WSOnPHPError == "close" {
		c.closeWith(closeInternalError, "internal error")
	}
}

// deliverClose runs the close event. When PHP-FPM cannot be reached it
// retries, with backoff, for ws-close-retry: PHP's idea of who is online
// must not drift because FPM restarted.
func (c *wsConn) deliverClose(ev *wsEvent) {
	h := c.hub
	deadline := time.Now().Add(h.cfg.WSCloseRetry)
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := c.closeEvent(ev)
		if err == nil {
			if attempt > 1 {
				h.log.Info("websocket close event delivered after retries", "fd", c.fd, "attempts", attempt)
			}
			return
		}
		// Only failures that prove PHP did not run the event are retried: a
		// close handler that ran and broke (an invalid status, a crash)
		// would run again with its side effects ("X left" pushed twice).
		retry := errors.Is(err, fastcgi.ErrUnavailable) || errors.Is(err, fastcgi.ErrBusy)
		if !retry {
			h.stats.lostCloses.Add(1)
			h.log.Error("websocket close event failed in php-fpm and is not retried: the handler may have run in part",
				"fd", c.fd, "code", ev.code, "attempts", attempt, "err", err)
			return
		}
		if time.Now().Add(backoff).After(deadline) || h.ctx.Err() != nil {
			h.stats.lostCloses.Add(1)
			h.log.Error("websocket close event lost: PHP was not told that this connection closed",
				"fd", c.fd, "code", ev.code, "attempts", attempt, "err", err)
			return
		}
		if attempt == 1 {
			h.log.Warn("websocket close event failed; retrying", "fd", c.fd, "err", err,
				"retry_for", h.cfg.WSCloseRetry.String())
		}
		select {
		case <-time.After(backoff):
		case <-h.ctx.Done():
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (c *wsConn) closeEvent(ev *wsEvent) error {
	h := c.hub
	p := fastcgi.AcquireParams()
	uid, session := h.s.reg.eventState(c.fd)
	appendWSEventParams(p, c.params, wsEventParams{event: wsEventClose, fd: c.fd, closeCode: ev.code, closeReason: ev.reason, uid: uid, session: session})
	resp, err := h.s.fcgi.Do(context.Background(), &fastcgi.Request{Params: p})
	fastcgi.ReleaseParams(p)
	if err != nil {
		return err
	}
	// The socket is gone: a reply cannot be sent, but an envelope's actions
	// (tell the others who left) still run.
	buf := getPayloadBuffer()
	_, err = buf.ReadFrom(resp)
	status := resp.StatusCode
	var actions []action
	if err == nil && isEnvelope(resp) && status >= 200 && status <= 299 {
		_, _, actions, _ = decodeEnvelope(buf.Bytes())
	}
	putPayloadBuffer(buf)
	resp.Close()
	if err != nil {
		return err
	}
	h.runActions(c.fd, actions)
	if status >= 500 {
		h.log.Error("php failed the websocket close event", "fd", c.fd, "status", status)
	}
	return nil
}

// wsReply is what PHP's answer to an event asks for.
type wsReply struct {
	status int
	body   *bytes.Buffer // nil when empty
	opcode int           // of body
	close  *wsCloseCause // X-Phpbridge-Close
	// open only
	subprotocol string
	cookies     []string
	// actions of an envelope answer (envelope.go), run after the body
	actions []action
}

func (r *wsReply) release() {
	if r.body != nil {
		putPayloadBuffer(r.body)
		r.body = nil
	}
}

// readReply reads PHP's answer: the body and the X-Phpbridge-* headers
// (docs/websocket-protocol.md). op is the opcode the body gets unless PHP
// chooses; open also takes the subprotocol and cookies for the 101.
func (h *wsHub) readReply(resp *fastcgi.Response, op int, fd uint64, open bool) (wsReply, error) {
	r := wsReply{status: resp.StatusCode, opcode: op}
	if v := resp.Header.Peek("X-Phpbridge-Opcode"); len(v) > 0 {
		switch strings.ToLower(strings.TrimSpace(string(v))) {
		case "text":
			r.opcode = websocket.TextMessage
		case "binary":
			r.opcode = websocket.BinaryMessage
		default:
			h.log.Warn("php sent an unknown X-Phpbridge-Opcode; use text or binary", "fd", fd, "value", string(v))
		}
	}
	if v := resp.Header.Peek("X-Phpbridge-Close"); len(v) > 0 {
		code, reason, ok := parseCloseHeader(string(v))
		if !ok {
			h.log.Warn("php sent X-Phpbridge-Close without a valid close code; closing with 1000",
				"fd", fd, "value", string(v), "hint", "use 1000, 1001, 1008 or 3000-4999")
		}
		r.close = &wsCloseCause{code: code, reason: reason}
	}
	if open {
		r.subprotocol = strings.TrimSpace(string(resp.Header.Peek("Sec-WebSocket-Protocol")))
		for _, v := range resp.Header.Cookies() {
			r.cookies = append(r.cookies, string(v))
		}
	}
	buf := getPayloadBuffer()
	if _, err := buf.ReadFrom(resp); err != nil {
		putPayloadBuffer(buf)
		return r, fmt.Errorf("reading php's answer: %w", err)
	}
	if isEnvelope(resp) && r.status >= 200 && r.status <= 299 {
		reply, opcode, actions, err := decodeEnvelope(buf.Bytes())
		if err != nil {
			h.log.Warn("php sent an invalid envelope; nothing sent", "fd", fd, "err", err)
		}
		r.actions = actions
		if opcode != 0 {
			r.opcode = opcode
		}
		buf.Reset()
		buf.Write(reply)
	}
	if buf.Len() == 0 {
		putPayloadBuffer(buf)
	} else {
		r.body = buf
	}
	if r.status >= 500 {
		// PHP's stderr (the fatal error) is logged by the FastCGI client.
		h.log.Error("php failed a websocket event", "fd", fd, "status", r.status)
	} else if r.status < 200 || r.status > 299 {
		h.log.Warn("php answered a websocket event with a non-2xx status; its body is not sent", "fd", fd, "status", r.status)
	}
	return r, nil
}

// apply sends the body of a 2xx answer and honours X-Phpbridge-Close
// (after the body).
func (c *wsConn) apply(r wsReply) {
	if r.status >= 500 && c.hub.cfg.WSOnPHPError == "close" && r.close == nil {
		r.close = &wsCloseCause{code: closeInternalError, reason: "internal error"}
	}
	if r.body != nil {
		if r.status < 200 || r.status > 299 {
			r.release()
		} else {
			if r.opcode == websocket.TextMessage && !utf8.Valid(r.body.Bytes()) {
				c.hub.log.Warn("php sent invalid UTF-8 as a text message; invalid bytes replaced by U+FFFD",
					"fd", c.fd, "hint", "send binary data with header X-Phpbridge-Opcode: binary")
				fixed := bytes.ToValidUTF8(r.body.Bytes(), []byte("\uFFFD"))
				r.body.Reset()
				r.body.Write(fixed)
			}
			c.sendNow(r.opcode, r.body)
		}
	}
	if len(r.actions) > 0 {
		c.hub.runActions(c.fd, r.actions)
	}
	if r.close != nil {
		c.closeWith(r.close.code, r.close.reason)
	}
}
