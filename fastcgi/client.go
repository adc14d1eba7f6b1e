package fastcgi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Config says where PHP-FPM is and how much of it to use. The zero value of
// every field but Address works.
type Config struct {
	// Network is "tcp" or "unix". Default "tcp".
	Network string
	// Address is host:port or a socket path.
	Address string
	// MaxConns caps connections to PHP-FPM, busy or idle: PHP-FPM pins a
	// child to each open connection, so more connections than
	// pm.max_children would queue invisibly inside FPM. Default 16.
	MaxConns int
	// ConnectTimeout bounds a dial. Default 5s.
	ConnectTimeout time.Duration
	// ReadTimeout bounds each wait for PHP's output (nginx's
	// fastcgi_read_timeout) and each write of the request. Default 60s.
	ReadTimeout time.Duration
	// QueueTimeout bounds the wait for a free connection when MaxConns are
	// busy. Waiters are served first come, first served. Default 30s.
	QueueTimeout time.Duration
	// IdleTimeout closes connections idle this long, releasing the FPM
	// children they pin. Default 60s.
	IdleTimeout time.Duration
	// Stderr receives PHP's FCGI_STDERR output one line at a time (without
	// the newline; the slice is only valid during the call). Default: dropped.
	Stderr func(line []byte)
}

func (c Config) withDefaults() Config {
	if c.Network == "" {
		c.Network = "tcp"
	}
	if c.MaxConns <= 0 {
		c.MaxConns = 16
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.QueueTimeout <= 0 {
		c.QueueTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 60 * time.Second
	}
	return c
}

// Client sends requests to one PHP-FPM pool. It is safe for concurrent use.
type Client struct {
	cfg    Config
	slots  chan struct{} // one token per in-flight request; FIFO for waiters
	dialer net.Dialer

	mu     sync.Mutex
	idle   []*conn // LIFO: the most recently used connection is the warmest
	closed bool
	stop   chan struct{}
}

// Request is one FastCGI request.
type Request struct {
	// Params are the CGI variables. The caller sets CONTENT_LENGTH.
	Params *Params
	// Body is sent as FCGI_STDIN; nil sends none. A body that is an
	// io.Seeker (bytes.Reader) can be replayed, which lets a request that
	// met a stale pooled connection be retried once.
	Body io.Reader
	// Idempotent says the request may run twice (GET, HEAD, PUT, DELETE,
	// …): it is then always retried when PHP-FPM closed a reused connection
	// before answering. Any other request (POST, PATCH, every WebSocket
	// event) is retried only when PHP-FPM certainly did not read it, or
	// closed within staleWindow — see Do.
	Idempotent bool
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	cfg = cfg.withDefaults()
	c := &Client{
		cfg:    cfg,
		slots:  make(chan struct{}, cfg.MaxConns),
		dialer: net.Dialer{Timeout: cfg.ConnectTimeout},
		stop:   make(chan struct{}),
	}
	go c.reapIdle()
	return c
}

// MaxConns is the effective connection cap.
func (c *Client) MaxConns() int { return c.cfg.MaxConns }

// Close closes idle connections; in-flight requests finish and their
// connections are closed on release.
func (c *Client) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	idle := c.idle
	c.idle = nil
	c.mu.Unlock()
	for _, cn := range idle {
		cn.close()
	}
	return nil
}

// Do sends req and returns once PHP's response headers have arrived. The
// caller must Close the Response. Cancelling ctx at any point, while the
// body is being read too, aborts the FastCGI request.
//
// Errors wrap ErrUnavailable, ErrTimeout, ErrBusy, ErrProtocol, or are
// ctx.Err().
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	if err := c.acquireSlot(ctx); err != nil {
		return nil, err
	}
	// A request that may be retried after the fact saves the liveness probe
	// (a syscall) of a pooled connection: its body must be replayable, and
	// a stale connection must show as such. Over a unix socket it does
	// (writing to a closed peer fails with EPIPE); over TCP the write
	// succeeds and the read sees the FIN like a script that died before
	// answering, which only an idempotent request may be retried after.
	probe := !isReplayable(req.Body) || !req.Idempotent && c.cfg.Network != "unix"
	for attempt := 0; ; attempt++ {
		cn, reused, err := c.getConn(ctx, probe || attempt > 0)
		if err != nil {
			c.releaseSlot()
			return nil, err
		}
		resp := newResponse(c, cn, ctx)
		started := time.Now()
		err = resp.start(req)
		if err == nil {
			return resp, nil
		}
		received := resp.received // before abandon, which recycles resp
		// abandon waits for the body writer, so the rewind below is safe.
		bodyErr := resp.abandon()
		unread := notRead(err) || bodyErr != nil && notRead(bodyErr)
		// A child recycled by pm.max_requests sends its last answer, then
		// shuts the connection down and reads away whatever arrives: a
		// request that lands in between gets EOF, unanswered and unrun. A
		// script that ran and died looks the same on the wire, but is not
		// that quick; only an idempotent request is retried after longer.
		dropped := errors.Is(err, errClosedUnanswered) && (req.Idempotent || time.Since(started) < staleWindow)
		retry := reused && attempt == 0 && !received && ctx.Err() == nil &&
			(unread || dropped) && rewind(req.Body)
		if !retry {
			c.releaseSlot()
			if unread && ctx.Err() == nil {
				err = fmt.Errorf("%w: php-fpm closed the connection without reading the request (%w)", ErrUnavailable, err)
			}
			return nil, err
		}
	}
}

// staleWindow is how soon after a request is sent an unanswered close
// still counts as a stale connection rather than a script that died.
const staleWindow = time.Second

// notRead reports whether PHP-FPM closed the connection without reading
// the whole request, so the script cannot have run: the request write hit
// a closed socket (EPIPE), or the peer closed with our bytes unread, which
// the kernel reports as a reset (ECONNRESET) on unix and TCP sockets. PHP
// reads all params and a POST body before a script starts.
func notRead(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// isReplayable reports whether a body can be sent again (see rewind).
func isReplayable(body io.Reader) bool {
	if body == nil {
		return true
	}
	_, ok := body.(io.Seeker)
	return ok
}

// rewind seeks a replayable body back to its start.
func rewind(body io.Reader) bool {
	if body == nil {
		return true
	}
	s, ok := body.(io.Seeker)
	if !ok {
		return false
	}
	_, err := s.Seek(0, io.SeekStart)
	return err == nil
}

func (c *Client) acquireSlot(ctx context.Context) error {
	select {
	case c.slots <- struct{}{}:
		return nil
	default:
	}
	// Queueing is the normal case under load (more clients than FPM
	// children), so the timers are pooled rather than allocated per wait.
	t := timerPool.Get().(*time.Timer)
	t.Reset(c.cfg.QueueTimeout)
	defer func() {
		t.Stop() // since Go 1.23 no stale tick can remain in t.C after Stop
		timerPool.Put(t)
	}()
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-t.C:
		return fmt.Errorf("%w: %d connections in use for %s", ErrBusy, c.cfg.MaxConns, c.cfg.QueueTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) releaseSlot() { <-c.slots }

var timerPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// getConn takes the warmest idle connection or dials a new one. With
// probe, an idle connection is first checked for liveness (conn.alive);
// without, a dead one is found by the request failing and is retried.
func (c *Client) getConn(ctx context.Context, probe bool) (cn *conn, reused bool, err error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, false, ErrClosed
		}
		n := len(c.idle)
		if n == 0 {
			c.mu.Unlock()
			break
		}
		cn = c.idle[n-1]
		c.idle[n-1] = nil
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		if time.Since(cn.lastUsed) < c.cfg.IdleTimeout && (!probe || cn.alive()) {
			return cn, true, nil
		}
		cn.close()
	}
	nc, err := c.dialer.DialContext(ctx, c.cfg.Network, c.cfg.Address)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, false, fmt.Errorf("%w: %s %s: %w", ErrUnavailable, c.cfg.Network, c.cfg.Address, errors.Unwrap(err))
	}
	return newConn(nc), false, nil
}

// putConn returns a healthy connection to the idle stack. One with bytes
// left after FCGI_END_REQUEST is closed instead: the next request would
// read them as its own answer.
func (c *Client) putConn(cn *conn) {
	if cn.br.Buffered() > 0 {
		cn.close()
		return
	}
	cn.lastUsed = time.Now()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.close()
		return
	}
	c.idle = append(c.idle, cn)
	c.mu.Unlock()
}

// reapIdle closes connections idle longer than IdleTimeout so that the FPM
// children they pin are free for other clients of the pool.
func (c *Client) reapIdle() {
	t := time.NewTicker(c.cfg.IdleTimeout / 2)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		var old []*conn
		c.mu.Lock()
		keep := c.idle[:0]
		for _, cn := range c.idle {
			if time.Since(cn.lastUsed) >= c.cfg.IdleTimeout {
				old = append(old, cn)
			} else {
				keep = append(keep, cn)
			}
		}
		clear(c.idle[len(keep):])
		c.idle = keep
		c.mu.Unlock()
		for _, cn := range old {
			cn.close()
		}
	}
}

// IdleConns is the number of pooled idle connections (for tests and metrics).
func (c *Client) IdleConns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.idle)
}

// InFlight is the number of requests holding a connection.
func (c *Client) InFlight() int { return len(c.slots) }
