package fastcgi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// maxHeaderBytes bounds the whole CGI header block PHP may send. Single
// lines have no limit of their own (a 4 KiB Content-Security-Policy or
// cookie is fine); the bound only stops a script that never ends its headers.
const maxHeaderBytes = 1 << 20

// Response is PHP's answer: the status and headers, parsed when Do returns,
// and the body, read with Read, ReadAll or ReadBuffered. Close it
// exactly once; it must not be used afterwards (it is pooled).
type Response struct {
	// StatusCode comes from PHP's "Status:" header; 200 when absent, 302
	// when only "Location:" is set (CGI/1.1 rule).
	StatusCode int
	// Header holds every other header PHP sent, repeated ones and cookies
	// included. Hop-by-hop headers are dropped.
	Header fasthttp.ResponseHeader

	client  *Client
	cn      *conn
	ctx     context.Context
	stopCtx func() bool

	remaining int    // unread content bytes of the current FCGI_STDOUT record
	padding   int    // padding bytes after the current record
	pending   []byte // body bytes that arrived with the headers
	done      bool   // FCGI_END_REQUEST consumed
	received  bool   // PHP-FPM sent at least one byte
	err       error  // sticky read error
	bodyDone  chan error
	stderr    []byte // partial stderr line
	hdr       []byte // header block being assembled
}

var responsePool = sync.Pool{New: func() any { return new(Response) }}

func newResponse(c *Client, cn *conn, ctx context.Context) *Response {
	r := responsePool.Get().(*Response)
	r.client, r.cn, r.ctx = c, cn, ctx
	return r
}

// aLongTimeAgo is a deadline in the past, used to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// start writes the request and reads the CGI headers.
func (r *Response) start(req *Request) error {
	if r.ctx.Done() != nil {
		nc := r.cn.nc
		r.stopCtx = context.AfterFunc(r.ctx, func() { _ = nc.SetDeadline(aLongTimeAgo) })
	}
	if err := r.writeRequest(req); err != nil {
		return err
	}
	return r.readHeaders()
}

// InlineBodyMax is the largest in-memory body (a Request.Body with a Len
// method) written in the same syscall as the params, before Do returns.
// Larger or streamed bodies are written by a goroutine while the response
// is read, so a script that answers before reading all of its input cannot
// deadlock the two sides; such a body must stay valid until Close.
const InlineBodyMax = maxContent

func (r *Response) writeRequest(req *Request) error {
	cn := r.cn
	b := appendBeginRequest(cn.wbuf[:0])
	if req.Params != nil {
		b = appendRecords(b, typeParams, requestID, req.Params.encoded())
	}
	b = appendHeader(b, typeParams, requestID, 0)
	inline := req.Body == nil
	if lr, ok := req.Body.(interface{ Len() int }); ok && lr.Len() <= InlineBodyMax {
		inline = true
		if n := lr.Len(); n > 0 {
			b = appendHeader(b, typeStdin, requestID, n)
			b = slices.Grow(b, n)
			if _, err := io.ReadFull(req.Body, b[len(b):len(b)+n]); err != nil {
				return fmt.Errorf("fastcgi: reading the request body: %w", err)
			}
			b = b[:len(b)+n]
		}
	}
	if inline {
		b = appendHeader(b, typeStdin, requestID, 0)
	}
	cn.wbuf = b
	if err := r.write(b); err != nil {
		return err
	}
	if !inline {
		r.bodyDone = make(chan error, 1)
		go writeBody(cn, req.Body, r.client.cfg.ReadTimeout, r.bodyDone)
	}
	return nil
}

func (r *Response) write(b []byte) error {
	_ = r.cn.nc.SetWriteDeadline(time.Now().Add(r.client.cfg.ReadTimeout))
	if _, err := r.cn.nc.Write(b); err != nil {
		return r.ioError(err, "writing the request")
	}
	return nil
}

var stdinBufPool = sync.Pool{New: func() any { b := make([]byte, headerLen+maxContent); return &b }}

// writeBody streams body as FCGI_STDIN records, so an upload never sits
// whole in memory: at most one 64 KiB record is buffered.
func writeBody(cn *conn, body io.Reader, timeout time.Duration, done chan<- error) {
	bp := stdinBufPool.Get().(*[]byte)
	defer stdinBufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := io.ReadFull(body, buf[headerLen:])
		if n > 0 {
			appendHeader(buf[:0], typeStdin, requestID, n)
			_ = cn.nc.SetWriteDeadline(time.Now().Add(timeout))
			if _, err := cn.nc.Write(buf[:headerLen+n]); err != nil {
				done <- err
				return
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			done <- rerr
			return
		}
	}
	_, err := cn.nc.Write(appendHeader(buf[:0], typeStdin, requestID, 0))
	done <- err
}

// readHeaders collects FCGI_STDOUT until the blank line that ends the CGI
// headers and parses them.
func (r *Response) readHeaders() error {
	r.hdr = r.hdr[:0]
	for {
		chunk, err := r.next()
		if err == io.EOF {
			// The script ended without a blank line: all of it is header
			// (e.g. only "Status: 204"), or PHP printed nothing at all.
			return r.parseHeaders(r.hdr)
		}
		if err != nil {
			return err
		}
		searchFrom := max(0, len(r.hdr)-3)
		r.hdr = append(r.hdr, chunk...)
		if end, bodyStart := headerEnd(r.hdr, searchFrom); end >= 0 {
			r.pending = r.hdr[bodyStart:]
			return r.parseHeaders(r.hdr[:end])
		}
		if len(r.hdr) > maxHeaderBytes {
			return protocolErrorf("PHP sent more than %d bytes of headers without a blank line", maxHeaderBytes)
		}
	}
}

// headerEnd finds the blank line ("\r\n\r\n" or "\n\n") ending the header
// block; it returns the header length and where the body starts, or -1.
func headerEnd(b []byte, from int) (end, bodyStart int) {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 1, i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 1, i + 3
		}
	}
	return -1, -1
}

func (r *Response) parseHeaders(block []byte) error {
	r.StatusCode = 0
	hasLocation := false
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return protocolErrorf("malformed header line %q", truncate(line))
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case asciiEqualFold(name, "Status"):
			code, err := strconv.Atoi(string(bytes.TrimSpace(firstField(value))))
			if err != nil || code < 100 || code > 999 {
				return protocolErrorf("invalid Status header %q", truncate(value))
			}
			r.StatusCode = code
		case isHopByHop(name):
			// Connection management is the bridge's business, not PHP's.
		default:
			if asciiEqualFold(name, "Location") {
				hasLocation = true
			}
			r.Header.AddBytesKV(name, value)
		}
	}
	if r.StatusCode == 0 {
		r.StatusCode = fasthttp.StatusOK
		if hasLocation {
			r.StatusCode = fasthttp.StatusFound
		}
	}
	r.Header.SetStatusCode(r.StatusCode)
	return nil
}

func firstField(b []byte) []byte {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i]
	}
	return b
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func isHopByHop(name []byte) bool {
	for _, h := range [...]string{"Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Trailer", "TE"} {
		if asciiEqualFold(name, h) {
			return true
		}
	}
	return false
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 {
			return false
		}
	}
	return true
}

// next returns the next piece of FCGI_STDOUT content, a view into the read
// buffer valid until the following call, handling FCGI_STDERR on the way.
// It returns io.EOF once FCGI_END_REQUEST is consumed.
func (r *Response) next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	br := r.cn.br
	for {
		if r.remaining > 0 {
			if err := r.fill(1); err != nil {
				return nil, err
			}
			k := min(r.remaining, br.Buffered())
			b, _ := br.Peek(k)
			_, _ = br.Discard(k)
			r.remaining -= k
			return b, nil
		}
		if r.padding > 0 {
			if err := r.skip(r.padding); err != nil {
				return nil, err
			}
			r.padding = 0
		}
		if err := r.fill(headerLen); err != nil {
			return nil, err
		}
		hb, _ := br.Peek(headerLen)
		h := parseHeader(hb)
		_, _ = br.Discard(headerLen)
		if h.Version != fcgiVersion1 {
			return nil, r.fail(protocolErrorf("record version %d, want 1 (is %s really PHP-FPM?)", h.Version, r.client.cfg.Address))
		}
		if h.RequestID != requestID {
			return nil, r.fail(protocolErrorf("record for request id %d, want %d", h.RequestID, requestID))
		}
		clen, plen := int(h.ContentLength), int(h.PaddingLength)
		switch h.Type {
		case typeStdout:
			r.remaining, r.padding = clen, plen
		case typeStderr:
			if err := r.readStderr(clen); err != nil {
				return nil, err
			}
			r.padding = plen
		case typeEndRequest:
			if clen < 8 {
				return nil, r.fail(protocolErrorf("FCGI_END_REQUEST with %d content bytes", clen))
			}
			if err := r.fill(clen + plen); err != nil {
				return nil, err
			}
			body, _ := br.Peek(clen)
			protocolStatus := body[4]
			_, _ = br.Discard(clen + plen)
			r.done = true
			r.flushStderr()
			if protocolStatus != statusRequestComplete {
				return nil, r.fail(protocolErrorf("php-fpm ended the request with protocol status %d (overloaded or cannot multiplex)", protocolStatus))
			}
			return nil, io.EOF
		default:
			return nil, r.fail(protocolErrorf("unexpected record type %d", h.Type))
		}
	}
}

// fill makes n bytes available in the read buffer (n <= buffer size),
// blocking on the socket only when they are not there yet.
func (r *Response) fill(n int) error {
	br := r.cn.br
	if br.Buffered() >= n {
		return nil
	}
	_ = r.cn.nc.SetReadDeadline(time.Now().Add(r.client.cfg.ReadTimeout))
	if _, err := br.Peek(n); err != nil {
		return r.fail(r.ioError(err, "reading the response"))
	}
	r.received = true
	return nil
}

// skip discards n bytes, any number.
func (r *Response) skip(n int) error {
	for n > 0 {
		if err := r.fill(1); err != nil {
			return err
		}
		d, _ := r.cn.br.Discard(min(n, r.cn.br.Buffered()))
		n -= d
	}
	return nil
}

// readStderr passes PHP's stderr to Config.Stderr line by line.
func (r *Response) readStderr(n int) error {
	br := r.cn.br
	for n > 0 {
		if err := r.fill(1); err != nil {
			return err
		}
		k := min(n, br.Buffered())
		b, _ := br.Peek(k)
		if r.client.cfg.Stderr != nil {
			r.stderr = append(r.stderr, b...)
			for {
				i := bytes.IndexByte(r.stderr, '\n')
				if i < 0 {
					break
				}
				r.client.cfg.Stderr(bytes.TrimRight(r.stderr[:i], "\r"))
				r.stderr = r.stderr[:copy(r.stderr, r.stderr[i+1:])]
			}
		}
		_, _ = br.Discard(k)
		n -= k
	}
	return nil
}

func (r *Response) flushStderr() {
	if len(r.stderr) > 0 && r.client.cfg.Stderr != nil {
		r.client.cfg.Stderr(r.stderr)
	}
	r.stderr = r.stderr[:0]
}

func (r *Response) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// ioError classifies a socket error: our own cancellation, a timeout, or
// PHP-FPM going away.
func (r *Response) ioError(err error, doing string) error {
	if cerr := r.ctx.Err(); cerr != nil {
		return cerr
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: no answer within %s while %s", ErrTimeout, r.client.cfg.ReadTimeout, doing)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		if !r.received {
			// The FIN came first, so the read says EOF; if our request then
			// met a socket PHP-FPM had already closed, its RST is pending as
			// the socket error: PHP never read the request.
			if serr := r.cn.pendingError(); serr != nil {
				return &ProtocolError{Reason: "php-fpm had closed the connection before the request arrived", Err: serr}
			}
			return &ProtocolError{Reason: "php-fpm closed the connection while " + doing, Err: errClosedUnanswered}
		}
		return &ProtocolError{Reason: "php-fpm closed the connection while " + doing}
	}
	return &ProtocolError{Reason: doing + ": " + err.Error(), Err: err}
}

// Read reads the body. It returns io.EOF at the end of PHP's output.
func (r *Response) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		b, err := r.next()
		if err != nil {
			return 0, err
		}
		// A view into the read buffer: safe to keep, nothing reads the
		// socket again until pending is drained.
		r.pending = b
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	// Fill p further with whatever has already arrived, so a burst of
	// output becomes one write (one chunk) downstream, not one per record.
	for n < len(p) && len(r.pending) == 0 && !r.done && r.recordBuffered() {
		b, err := r.next()
		if err != nil {
			if err == io.EOF {
				break
			}
			return n, err
		}
		k := copy(p[n:], b)
		n += k
		r.pending = b[k:]
	}
	return n, nil
}

// ReadBuffered appends to dst the body bytes that have already arrived,
// without blocking, and reports whether the whole body is in (complete).
// The bridge uses it to send small responses with a Content-Length in one
// write and to switch to streaming only when PHP is still producing output.
func (r *Response) ReadBuffered(dst []byte) (out []byte, complete bool, err error) {
	dst = append(dst, r.pending...)
	r.pending = r.pending[:0]
	for !r.done {
		if !r.recordBuffered() {
			return dst, false, nil
		}
		b, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return dst, false, err
		}
		dst = append(dst, b...)
	}
	return dst, true, nil
}

// recordBuffered reports whether next can run without touching the socket.
func (r *Response) recordBuffered() bool {
	br := r.cn.br
	if r.remaining > 0 {
		return br.Buffered() > 0
	}
	need := r.padding + headerLen
	if br.Buffered() < need {
		return false
	}
	hb, _ := br.Peek(need)
	h := parseHeader(hb[r.padding:])
	if h.Type == typeStdout {
		// Content may trickle in; next returns whatever part is there.
		return h.ContentLength == 0 || br.Buffered() > need
	}
	return br.Buffered() >= need+int(h.ContentLength)+int(h.PaddingLength)
}

// ReadAll reads the whole body.
func (r *Response) ReadAll() ([]byte, error) {
	out, complete, err := r.ReadBuffered(nil)
	for err == nil && !complete {
		var b []byte
		b, err = r.next()
		if err == io.EOF {
			return out, nil
		}
		out = append(out, b...)
	}
	return out, err
}

// Close releases the response: a fully read, healthy response returns its
// connection to the pool; anything else (body unread, error, cancellation)
// aborts the FastCGI request and closes the connection.
func (r *Response) Close() {
	c := r.client
	reusable := r.done && r.err == nil && r.ctx.Err() == nil
	if r.bodyDone != nil {
		select {
		case err := <-r.bodyDone:
			reusable = reusable && err == nil
			r.bodyDone = nil
		default:
			reusable = false // PHP answered before reading all input
		}
	}
	if r.stopCtx != nil && !r.stopCtx() {
		reusable = false // the cancel hook already fired and poisoned the deadline
	}
	r.stopCtx = nil
	if reusable {
		c.putConn(r.cn)
	} else {
		if !r.done {
			r.cn.sendAbort()
		}
		r.cn.close()
		_ = r.waitBody()
	}
	c.releaseSlot()
	r.release()
}

// abandon drops the connection of a failed attempt without releasing the
// slot. It returns the body writer's error, if one ran: a write that found
// the socket closed (EPIPE) proves PHP-FPM did not read the request.
func (r *Response) abandon() (bodyErr error) {
	if r.stopCtx != nil {
		r.stopCtx()
	}
	r.cn.close()
	bodyErr = r.waitBody()
	r.release()
	return bodyErr
}

// waitBody waits, once the connection is closed, for the goroutine that
// streams the request body: until it returns it may still read the body,
// which the caller reuses, rewinds for a retry or frees as soon as Do or
// Close returns. Its writes fail at once on the closed connection; a read
// of the body (an upload still arriving) ends with that stream's own
// deadline.
func (r *Response) waitBody() error {
	if r.bodyDone == nil {
		return nil
	}
	err := <-r.bodyDone
	r.bodyDone = nil
	return err
}

func (r *Response) release() {
	r.StatusCode = 0
	r.Header.Reset()
	r.client, r.cn, r.ctx, r.stopCtx = nil, nil, nil, nil
	r.remaining, r.padding = 0, 0
	r.pending, r.bodyDone, r.err = nil, nil, nil
	r.done, r.received = false, false
	r.stderr, r.hdr = r.stderr[:0], r.hdr[:0]
	responsePool.Put(r)
}
