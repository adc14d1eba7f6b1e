package bridge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/valyala/fasthttp"
)

// memoryBodyMax is the part of a request body kept in memory; fasthttp
// streams anything larger to the handler, and chunked bodies beyond it are
// spooled to a temp file (like nginx's client_body_temp) because PHP needs
// CONTENT_LENGTH before the body.
const memoryBodyMax = 64 << 10

// servePHP runs the script of route through PHP-FPM and relays its answer.
func (s *Server) servePHP(ctx *fasthttp.RequestCtx, route Route) {
	body, length, cleanup, err := s.requestBody(ctx)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		if errors.Is(err, errBodyTooLarge) {
			s.drainBody(ctx)
			ctx.Error(fmt.Sprintf("413 Request Entity Too Large: the body exceeds %d bytes (max-body-size)\n", s.cfg.MaxBodySize), fasthttp.StatusRequestEntityTooLarge)
			ctx.SetConnectionClose()
			return
		}
		s.log.Warn("reading request body", "uri", string(ctx.RequestURI()), "err", err)
		ctx.Error("400 Bad Request: could not read the request body\n", fasthttp.StatusBadRequest)
		ctx.SetConnectionClose()
		return
	}
	p := fastcgi.AcquireParams()
	defer fastcgi.ReleaseParams(p)
	s.addCGIParams(p, ctx, script{Name: route.ScriptName, PathInfo: route.PathInfo, Filename: s.phpPath(route.ScriptName)}, length)

	resp, err := s.fcgi.Do(context.Background(), &fastcgi.Request{Params: p, Body: body, Idempotent: idempotent(ctx.Method())})
	if err != nil {
		s.fastcgiError(ctx, err)
		return
	}
	resp.Header.CopyTo(&ctx.Response.Header)
	ctx.Response.SetStatusCode(resp.StatusCode)
	// nginx consumes its X-Accel-* controls instead of passing them on;
	// phpbridge always streams, so they only would leak.
	for _, h := range accelHeaders {
		ctx.Response.Header.Del(h)
	}
	// Internal redirects to a file are not supported: say so, and do not
	// hand the internal path to the client.
	for _, h := range sendfileHeaders {
		if v := ctx.Response.Header.Peek(h); len(v) > 0 {
			s.log.Warn("php asked the web server to send a file, which phpbridge does not do; the client gets PHP's own body",
				"header", h, "value", string(v), "uri", string(ctx.RequestURI()),
				"hint", "stream the file from PHP, or serve it from public/ or a --static-alias")
			ctx.Response.Header.Del(h)
		}
	}

	buf := bodyBufPool.Get().(*bytes.Buffer)
	b, complete, err := resp.ReadBuffered(buf.Bytes()[:0])
	if err != nil {
		resp.Close()
		bodyBufPool.Put(buf)
		s.fastcgiError(ctx, err)
		return
	}
	if complete {
		// The whole answer is in: one write with a Content-Length.
		ctx.Response.SetBody(b)
		resp.Close()
		*buf = *bytes.NewBuffer(b[:0])
		bodyBufPool.Put(buf)
		return
	}
	// PHP is still producing output (flush(), SSE, a big page): stream it,
	// chunked unless PHP declared a Content-Length. fasthttp calls Close on
	// the stream when it is done or the client went away, which releases
	// (or aborts) the FastCGI request.
	st := &phpStream{resp: resp, head: b, buf: buf, log: s.log}
	size := -1
	if len(resp.Header.Peek(fasthttp.HeaderContentLength)) > 0 {
		size = resp.Header.ContentLength()
	}
	ctx.Response.SetBodyStream(st, size)
}

var (
	accelHeaders    = []string{"X-Accel-Buffering", "X-Accel-Charset", "X-Accel-Expires", "X-Accel-Limit-Rate"}
	sendfileHeaders = []string{"X-Accel-Redirect", "X-Sendfile", "X-Lighttpd-Send-File", "X-LiteSpeed-Location"}
)

var bodyBufPool = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 16<<10)) }}

// phpStream is a response body still being produced by PHP.
type phpStream struct {
	resp   *fastcgi.Response
	head   []byte // body bytes that had already arrived
	buf    *bytes.Buffer
	log    *slog.Logger
	closed bool
}

func (st *phpStream) Read(p []byte) (int, error) {
	if len(st.head) > 0 {
		n := copy(p, st.head)
		st.head = st.head[n:]
		return n, nil
	}
	n, err := st.resp.Read(p)
	if err != nil && err != io.EOF {
		st.log.Warn("php-fpm response cut short", "err", err)
	}
	return n, err
}

func (st *phpStream) Close() error {
	if st.closed {
		return nil
	}
	st.closed = true
	st.resp.Close()
	st.buf.Reset()
	bodyBufPool.Put(st.buf)
	return nil
}

// fastcgiError answers a failed FastCGI exchange the way nginx does: 502 when
// PHP-FPM is unreachable or talks nonsense, 504 when it is too slow, 503 when
// every connection stayed busy.
func (s *Server) fastcgiError(ctx *fasthttp.RequestCtx, err error) {
	status := fasthttp.StatusBadGateway
	switch {
	case errors.Is(err, fastcgi.ErrTimeout):
		status = fasthttp.StatusGatewayTimeout
	case errors.Is(err, fastcgi.ErrBusy):
		status = fasthttp.StatusServiceUnavailable
	}
	s.log.Error("php-fpm request failed", "status", status, "fastcgi", s.cfg.FastCGI,
		"method", string(ctx.Method()), "uri", string(ctx.RequestURI()), "err", err)
	ctx.Response.Reset()
	ctx.Error(fmt.Sprintf("%d %s\n", status, fasthttp.StatusMessage(status)), status)
}

var (
	errBodyTooLarge   = errors.New("request body too large")
	errBodyIncomplete = errors.New("request body incomplete")
)

// idempotent reports whether a request may run twice (RFC 9110 9.2.2), so
// that it can be retried when PHP-FPM dropped the connection before
// answering. Like nginx (fastcgi_next_upstream without non_idempotent),
// POST, PATCH and LOCK never are.
func idempotent(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// drainLimit bounds how much of a refused body is read and thrown away.
const drainLimit = 256 << 20

// drainBody reads and discards (a bounded amount of) a refused request body
// before the 413 goes out, like nginx's lingering close: a client still
// sending would otherwise meet a connection reset instead of the answer.
func (s *Server) drainBody(ctx *fasthttp.RequestCtx) {
	if stream := ctx.RequestBodyStream(); stream != nil {
		_, _ = io.CopyN(io.Discard, stream, drainLimit)
	}
}

// requestBody returns the body to send as FCGI_STDIN and its length, read
// whole before PHP-FPM is involved, as nginx does by default
// (fastcgi_request_buffering on): a client that uploads slowly holds its
// own connection, never a PHP-FPM child. Bodies below one FastCGI record
// stay in memory (sent with the params in one write, replayable); larger
// ones are spooled to an unlinked temp file, so an upload is never whole in
// memory. A body that ends early — the client stopped before
// Content-Length, a chunked body without its last chunk, a read timeout —
// is an error: PHP never runs with part of a body. The limit
// (max-body-size) applies to all.
func (s *Server) requestBody(ctx *fasthttp.RequestCtx) (io.Reader, int64, func(), error) {
	cl := ctx.Request.Header.ContentLength()
	if cl > 0 && int64(cl) > s.cfg.MaxBodySize {
		return nil, 0, nil, errBodyTooLarge
	}
	stream := ctx.RequestBodyStream()
	if stream == nil {
		b := ctx.Request.Body()
		if int64(len(b)) > s.cfg.MaxBodySize {
			return nil, 0, nil, errBodyTooLarge
		}
		if len(b) == 0 {
			return nil, 0, nil, nil
		}
		return bytes.NewReader(b), int64(len(b)), nil, nil
	}
	switch {
	case cl == 0:
		return nil, 0, nil, nil
	case cl > 0 && cl <= fastcgi.InlineBodyMax:
		// Not ctx.Request.Body(): with a stream it returns what arrived,
		// or a read error's text, as if it were the body. Up to
		// InlineBodyMax the client sends it before Do returns, so a buffer
		// of this handler's is safe; larger bodies are spooled.
		b := make([]byte, cl)
		if n, err := io.ReadFull(stream, b); err != nil {
			return nil, 0, nil, fmt.Errorf("%w: %d of %d bytes: %v", errBodyIncomplete, n, cl, err)
		}
		return bytes.NewReader(b), int64(cl), nil, nil
	}
	return s.spool(stream, int64(cl))
}

// spool copies a body to memory, then to an unlinked temp file once it
// outgrows memoryBodyMax. want is its Content-Length, or -1 when chunked.
func (s *Server) spool(stream io.Reader, want int64) (io.Reader, int64, func(), error) {
	limit := s.cfg.MaxBodySize + 1
	if want >= 0 {
		limit = want
	}
	limited := io.LimitReader(stream, limit)
	head := make([]byte, memoryBodyMax)
	n, err := readUpTo(limited, head)
	if err == io.EOF {
		if want >= 0 && int64(n) != want {
			return nil, 0, nil, fmt.Errorf("%w: %d of %d bytes", errBodyIncomplete, n, want)
		}
		return bytes.NewReader(head[:n]), int64(n), nil, nil
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w after %d bytes: %v", errBodyIncomplete, n, err)
	}
	f, err := os.CreateTemp("", "phpbridge-body-*")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spooling the request body: %w", err)
	}
	_ = os.Remove(f.Name()) // unlinked: the data disappears with the descriptor
	cleanup := func() { _ = f.Close() }
	if _, err := f.Write(head); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	rest, err := io.Copy(f, limited) // io.Copy takes io.EOF as the end; anything else fails
	total := int64(n) + rest
	switch {
	case err != nil:
		cleanup()
		return nil, 0, nil, fmt.Errorf("%w after %d bytes: %v", errBodyIncomplete, total, err)
	case want >= 0 && total != want:
		cleanup()
		return nil, 0, nil, fmt.Errorf("%w: %d of %d bytes", errBodyIncomplete, total, want)
	case total > s.cfg.MaxBodySize:
		cleanup()
		return nil, 0, nil, errBodyTooLarge
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, total, cleanup, nil
}

// readUpTo fills buf from r and returns r's own error: io.EOF is a clean
// end, where io.ReadFull would turn it into io.ErrUnexpectedEOF and hide a
// stream that really broke off.
func readUpTo(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// phpPath maps a script's URI path to the file name PHP-FPM sees.
func (s *Server) phpPath(scriptName string) string {
	return s.cfg.PHPRoot + scriptName
}
