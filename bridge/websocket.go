package bridge

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/valyala/fasthttp"
)

// Buffer sizes of a WebSocket connection. An idle connection keeps only
// its read buffer: write buffers come from wsWriteBufferPool for the time
// of one message.
const (
	wsReadBufferSize  = 1 << 10
	wsWriteBufferSize = 4 << 10
	// wsCloseGrace is how long the bridge waits for the client to answer
	// its close frame before it closes the socket anyway.
	wsCloseGrace = 2 * time.Second
	// wsAdoptTimeout bounds the wait between a successful open event and
	// fasthttp handing over the socket; past it the client is gone.
	wsAdoptTimeout = 10 * time.Second
)

var wsWriteBufferPool sync.Pool

// wsHub owns the WebSocket endpoint: the handshake with its open event, the
// live connections, pings and the graceful shutdown.
type wsHub struct {
	s        *Server
	cfg      *Config
	log      *slog.Logger
	script   script
	ids      *fdGenerator
	origins  wsOrigins
	upgrader websocket.Upgrader

	// ctx is cancelled when shutdown runs out of time: it stops close
	// retries. FastCGI requests get context.Background(): a cancellable
	// context costs a context.AfterFunc registration per request, and
	// fastcgi-read-timeout bounds them anyway.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	conns   map[uint64]*wsConn
	pending int // handshakes past their open event, not registered yet
	closing bool
	pinging bool
	stop    chan struct{} // closed at shutdown: ends pings and the memory signal

	workers *wsWorkers // run the connections' event queues
	stats   wsStats
}

// wsStats are counters tests and diagnostics read.
type wsStats struct {
	maxQueued  atomic.Int64 // most messages one connection had waiting for PHP
	pauses     atomic.Int64 // times a reader stopped reading on a full queue
	lostCloses atomic.Int64 // close events given up
}

func newWSHub(s *Server) *wsHub {
	h := &wsHub{
		s:       s,
		cfg:     &s.cfg,
		log:     s.log,
		script:  wsHandlerScript(&s.cfg),
		ids:     newFDGenerator(s.cfg.WSNodeID, nil),
		origins: newWSOrigins(s.cfg.WSAllowedOrigins),
		conns:   map[uint64]*wsConn{},
		stop:    make(chan struct{}),
		workers: newWSWorkers(),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.watchMemorySignal(h.stop)
	h.upgrader = websocket.Upgrader{
		HandshakeTimeout:  s.cfg.WSWriteTimeout,
		WriteBufferSize:   wsWriteBufferSize,
		WriteBufferPool:   &wsWriteBufferPool,
		EnableCompression: s.cfg.WSCompression,
		// Origin, version and key are checked before the open event, in
		// checkHandshake; this upgrader only writes the 101.
		CheckOrigin: func(*http.Request) bool { return true },
		Error:       func(http.ResponseWriter, *http.Request, int, error) {},
	}
	return h
}

// match reports whether ctx is for the WebSocket endpoint.
func (h *wsHub) match(ctx *fasthttp.RequestCtx) bool {
	return string(ctx.Path()) == h.cfg.WSPath
}

// wsHandshake carries what the hijacked connection needs from the request,
// copied out of the RequestCtx, which fasthttp recycles.
type wsHandshake struct {
	fd         uint64
	params     []byte
	key        string
	extensions string
	reply      wsReply
	adopted    atomic.Bool
	timer      *time.Timer
}

// serve answers a request on ws-path: the handshake checks, the open event
// (before the 101, so PHP can refuse), then the upgrade.
func (h *wsHub) serve(ctx *fasthttp.RequestCtx) {
	if !h.checkHandshake(ctx) {
		return
	}
	if !h.beginHandshake() {
		ctx.Error("503 Service Unavailable: the server is shutting down\n", fasthttp.StatusServiceUnavailable)
		ctx.Response.Header.Set("Retry-After", "5")
		return
	}
	hs := &wsHandshake{
		fd:         h.ids.next(),
		params:     h.s.wsSnapshotParams(ctx, h.script),
		key:        string(ctx.Request.Header.Peek("Sec-WebSocket-Key")),
		extensions: string(ctx.Request.Header.Peek("Sec-WebSocket-Extensions")),
	}
	if !h.open(ctx, hs) {
		h.endHandshake()
		return
	}
	// PHP accepted: from here on it expects exactly one close event.
	ctx.Response.SetStatusCode(fasthttp.StatusSwitchingProtocols) // for the access log
	ctx.HijackSetNoResponse(true)                                 // the upgrader writes the 101
	hs.timer = time.AfterFunc(wsAdoptTimeout, func() {
		if hs.adopted.CompareAndSwap(false, true) {
			h.lostHandshake(hs, "fasthttp never handed over the connection")
		}
	})
	ctx.Hijack(func(nc net.Conn) { h.adopt(nc, hs) })
}

// checkHandshake validates the upgrade request before PHP sees it and
// answers the client itself when it is not a usable handshake.
func (h *wsHub) checkHandshake(ctx *fasthttp.RequestCtx) bool {
	fail := func(status int, msg string, headers ...string) bool {
		ctx.Error(fmt.Sprintf("%d %s: %s\n", status, fasthttp.StatusMessage(status), msg), status)
		for i := 0; i+1 < len(headers); i += 2 {
			ctx.Response.Header.Set(headers[i], headers[i+1])
		}
		return false
	}
	if !ctx.IsGet() {
		return fail(fasthttp.StatusMethodNotAllowed, "a WebSocket handshake is a GET request", "Allow", "GET")
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		return fail(fasthttp.StatusUpgradeRequired, h.cfg.WSPath+" is a WebSocket endpoint",
			"Upgrade", "websocket", "Connection", "Upgrade")
	}
	if !headerHasToken(ctx.Request.Header.Peek("Sec-WebSocket-Version"), "13") {
		return fail(fasthttp.StatusUpgradeRequired, "only WebSocket version 13 (RFC 6455) is supported",
			"Sec-WebSocket-Version", "13")
	}
	if key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(ctx.Request.Header.Peek("Sec-WebSocket-Key")))); err != nil || len(key) != 16 {
		return fail(fasthttp.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes in base64")
	}
	origin := string(ctx.Request.Header.Peek("Origin"))
	if !h.origins.allowed(origin, string(ctx.Host())) {
		h.log.Warn("websocket origin refused", "origin", origin, "host", string(ctx.Host()),
			"remote", ctx.RemoteIP().String(), "hint", "add it to ws-allowed-origins if it is yours")
		return fail(fasthttp.StatusForbidden, "origin not allowed (ws-allowed-origins)")
	}
	return true
}

// headerHasToken reports whether a comma-separated header value holds
// token (case-insensitive).
func headerHasToken(v []byte, token string) bool {
	for part := range strings.SplitSeq(string(v), ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// open runs the open event. It answers the client and returns false when
// PHP refused or could not be asked; true means upgrade.
func (h *wsHub) open(ctx *fasthttp.RequestCtx, hs *wsHandshake) bool {
	p := fastcgi.AcquireParams()
	appendWSEventParams(p, hs.params, wsEventParams{event: wsEventOpen, fd: hs.fd})
	resp, err := h.s.fcgi.Do(context.Background(), &fastcgi.Request{Params: p})
	fastcgi.ReleaseParams(p)
	if err != nil {
		h.s.fastcgiError(ctx, fmt.Errorf("websocket open event: %w", err))
		return false
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Refused: the client gets PHP's answer as is, and no close event
		// follows since the connection never opened.
		resp.Header.CopyTo(&ctx.Response.Header)
		ctx.Response.SetStatusCode(resp.StatusCode)
		body, err := resp.ReadAll()
		resp.Close()
		if err != nil {
			h.s.fastcgiError(ctx, fmt.Errorf("websocket open event: %w", err))
			return false
		}
		ctx.Response.SetBody(body)
		return false
	}
	reply, err := h.readReply(resp, websocket.TextMessage, hs.fd, true)
	resp.Close()
	if err != nil {
		h.s.fastcgiError(ctx, fmt.Errorf("websocket open event: %w", err))
		return false
	}
	if reply.subprotocol != "" && !headerHasToken(ctx.Request.Header.Peek("Sec-WebSocket-Protocol"), reply.subprotocol) {
		h.log.Warn("php chose a WebSocket subprotocol the client did not offer; not sending it",
			"fd", hs.fd, "subprotocol", reply.subprotocol,
			"offered", string(ctx.Request.Header.Peek("Sec-WebSocket-Protocol")))
		reply.subprotocol = ""
	}
	hs.reply = reply
	return true
}

// adopt runs in fasthttp's hijack goroutine: it completes the upgrade,
// registers the connection and starts its reader, then returns so that
// fasthttp can recycle the RequestCtx.
func (h *wsHub) adopt(nc net.Conn, hs *wsHandshake) {
	if !hs.adopted.CompareAndSwap(false, true) {
		_ = nc.Close()
		return
	}
	hs.timer.Stop()
	raw := unwrapHijacked(nc)
	ws, br, err := h.upgrade(raw, hs)
	if err != nil {
		_ = raw.Close()
		h.lostHandshake(hs, err.Error())
		return
	}
	c := newWSConn(h, hs.fd, hs.params, ws)
	c.br = br
	c.setRawConn(rawConnOf(raw))
	h.register(c)
	h.endHandshake()
	c.apply(hs.reply)
	go c.readLoop()
}

// lostHandshake delivers the close event (1006) of a connection PHP
// accepted but whose 101 never reached the client. The actions of PHP's
// open answer still run first (a join announced to a group is followed by
// the leave the close handler announces); only the greeting is dropped.
func (h *wsHub) lostHandshake(hs *wsHandshake, why string) {
	h.log.Debug("websocket client gone during the handshake", "fd", hs.fd, "reason", why)
	actions := hs.reply.actions
	hs.reply.release()
	c := newWSConn(h, hs.fd, hs.params, nil)
	h.register(c)
	h.endHandshake()
	if len(actions) > 0 {
		h.runActions(hs.fd, actions)
	}
	c.enqueue(&wsEvent{kind: wsClose, code: closeAbnormal})
}

// upgrade writes the 101 on the raw socket and wraps it. It uses the
// net/http flavour of the upgrader through a minimal hijacker, because
// FastHTTPUpgrader would read through fasthttp's request buffer for the
// connection's whole life.
//
// It also returns the connection's read buffer, which the reader checks
// before parking (waitReadable).
func (h *wsHub) upgrade(raw net.Conn, hs *wsHandshake) (*websocket.Conn, *bufio.Reader, error) {
	req := &http.Request{Method: http.MethodGet, Header: http.Header{
		"Connection":            {"Upgrade"},
		"Upgrade":               {"websocket"},
		"Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key":     {hs.key},
	}}
	if hs.extensions != "" {
		req.Header["Sec-Websocket-Extensions"] = []string{hs.extensions}
	}
	rh := http.Header{}
	if hs.reply.subprotocol != "" {
		rh.Set("Sec-Websocket-Protocol", hs.reply.subprotocol)
	}
	for _, c := range hs.reply.cookies {
		rh.Add("Set-Cookie", c)
	}
	br := bufio.NewReaderSize(raw, wsReadBufferSize) // becomes the connection's read buffer
	w := &wsHijacker{conn: raw, rw: bufio.NewReadWriter(br,
		bufio.NewWriterSize(raw, 512), // scratch space for the 101 only
	)}
	ws, err := h.upgrader.Upgrade(w, req, rh)
	if err != nil {
		return nil, nil, fmt.Errorf("websocket upgrade: %w", err)
	}
	return ws, br, nil
}

// wsHijacker is the http.ResponseWriter + http.Hijacker the upgrader needs.
type wsHijacker struct {
	conn   net.Conn
	rw     *bufio.ReadWriter
	header http.Header
}

func (w *wsHijacker) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}
func (w *wsHijacker) Write(b []byte) (int, error) { return len(b), nil }
func (w *wsHijacker) WriteHeader(int)             {}
func (w *wsHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.conn, w.rw, nil
}

// wsPast is a deadline in the past: reads fail at once.
var wsPast = time.Unix(1, 0)

// unwrapHijacked returns the socket under fasthttp's hijacked connection,
// which otherwise reads through fasthttp's request buffer (ReadBufferSize,
// 16 KiB here) for as long as the connection lives. Bytes already in that
// buffer (a client that did not wait for the 101) are kept in front.
func unwrapHijacked(nc net.Conn) net.Conn {
	u, ok := nc.(interface{ UnsafeConn() net.Conn })
	if !ok {
		return nc
	}
	raw := u.UnsafeConn()
	if err := raw.SetReadDeadline(wsPast); err != nil {
		return nc
	}
	var rest []byte
	var b [512]byte
	for {
		n, err := nc.Read(b[:]) // buffered bytes, then the deadline error
		rest = append(rest, b[:n]...)
		if err != nil || n == 0 {
			break
		}
	}
	_ = raw.SetReadDeadline(time.Time{})
	if len(rest) > 0 {
		return &prefixConn{Conn: raw, rest: rest}
	}
	return raw
}

// prefixConn reads rest before the connection.
type prefixConn struct {
	net.Conn
	rest []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (h *wsHub) beginHandshake() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.pending++
	return true
}

func (h *wsHub) endHandshake() {
	h.mu.Lock()
	h.pending--
	h.mu.Unlock()
}

// register adds c to the live connections; one arriving during shutdown is
// closed at once (1001), which still delivers its close event.
func (h *wsHub) register(c *wsConn) {
	remote := ""
	if c.ws != nil {
		remote = c.ws.RemoteAddr().String()
	}
	h.s.reg.add(c.fd, remote)
	h.mu.Lock()
	h.conns[c.fd] = c
	closing := h.closing
	startPing := !h.pinging && !closing
	h.pinging = h.pinging || startPing
	h.mu.Unlock()
	if startPing {
		go h.pingLoop()
	}
	if closing {
		c.closeWith(closeGoingAway, "server shutting down")
	}
}

// remove forgets c once its close event reached PHP (so onClose still saw
// its groups, uid and session).
func (h *wsHub) remove(c *wsConn) {
	h.mu.Lock()
	delete(h.conns, c.fd)
	h.mu.Unlock()
	h.s.reg.remove(c.fd)
}

// snapshot lists the live connections.
func (h *wsHub) snapshot() []*wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*wsConn, 0, len(h.conns))
	for _, c := range h.conns {
		out = append(out, c)
	}
	return out
}

// Count is the number of live connections (their close event not yet
// delivered).
func (h *wsHub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// pingLoop pings every connection each ws-ping-interval from one goroutine
// (not a timer per connection); the pong, like any frame, pushes the
// connection's idle deadline back.
func (h *wsHub) pingLoop() {
	t := time.NewTicker(h.cfg.WSPingInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			for _, c := range h.snapshot() {
				c.ping()
			}
		case <-h.stop:
			return
		}
	}
}

// Shutdown refuses new handshakes, closes every connection with 1001 and
// waits until every close event reached PHP, or ctx ends: then the close
// events still pending are abandoned and logged.
func (h *wsHub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if !h.closing {
		h.closing = true
		close(h.stop)
	}
	h.mu.Unlock()
	conns := h.snapshot()
	if len(conns) > 0 {
		h.log.Info("closing websocket connections", "connections", len(conns))
	}
	for _, c := range conns {
		c.closeWith(closeGoingAway, "server shutting down")
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		h.mu.Lock()
		n, pending := len(h.conns), h.pending
		h.mu.Unlock()
		if n == 0 && pending == 0 {
			h.workers.close()
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			h.cancel()
			h.workers.close()
			h.log.Error("shutdown timeout: websocket close events not delivered to PHP",
				"connections", n, "handshakes", pending)
			return ctx.Err()
		}
	}
}
