package bridge

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// AccessLog writes one line per request in nginx's "combined" format or as
// JSON. It sits on the hot path of every request, so a line is built with
// append into a pooled buffer (no fmt, no allocation) and handed to a
// mutex-protected bufio.Writer in one Write; a background ticker flushes the
// buffer at least every second so `tail -f` stays live without a syscall
// per request.
//
// A nil *AccessLog is valid and logs nothing: that is what "off" returns,
// so callers need no branch.
//
// What is logged, and what is not:
//   - The remote address is the TCP peer (or "unix:" for a unix socket),
//     not X-Forwarded-For: a proxy in front is logged as itself.
//   - Times are taken when Log is called, i.e. when the handler returns,
//     like nginx's $time_local, in the process's local time zone.
//   - Bytes are the response body length ($body_bytes_sent). HEAD, 1xx,
//     204 and 304 responses log 0. A streamed body
//     (Response.IsBodyStream) has not been sent yet when Log runs: its
//     Content-Length is logged when the handler set one (the count if the
//     client reads it all), otherwise the size is unknown and logged as
//     "-" in combined and null in JSON.
type AccessLog struct {
	json bool
	now  func() time.Time // time.Now; replaced in tests

	// stamp caches the formatted time of the current second, since
	// formatting a time costs more than the rest of the line.
	stamp atomic.Pointer[timeStamp]

	mu     sync.Mutex
	w      *bufio.Writer
	file   io.Closer // nil for stdout/stderr, which we must not close
	closed bool
	err    error // first write error, reported by Close

	stop chan struct{}
	done chan struct{}
}

// timeStamp is one second's formatted time.
type timeStamp struct {
	sec  int64
	text []byte
}

const (
	accessLogFlushEvery = time.Second
	accessLogBufferSize = 64 << 10
	// maxPooledLine keeps one freak request (a 64 KiB User-Agent) from
	// pinning a large buffer in the pool forever.
	maxPooledLine = 8 << 10
	// combinedTime is nginx's $time_local; RFC 3339 is used for JSON.
	combinedTime = "02/Jan/2006:15:04:05 -0700"
)

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// NewAccessLog opens the access log named by the access-log and
// access-log-format settings. dest is "stdout" (also ""), "stderr", "off"
// (returns nil, nil) or a file path, opened for append and created 0644.
// format is "combined" (also "") or "json".
func NewAccessLog(dest, format string) (*AccessLog, error) {
	var json bool
	switch format {
	case "", "combined":
	case "json":
		json = true
	default:
		return nil, fmt.Errorf("access-log-format: %q is not one of combined, json", format)
	}
	switch dest {
	case "off":
		return nil, nil
	case "", "stdout":
		return newAccessLog(os.Stdout, nil, json), nil
	case "stderr":
		return newAccessLog(os.Stderr, nil, json), nil
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("access-log: %w", err)
	}
	return newAccessLog(f, f, json), nil
}

func newAccessLog(w io.Writer, file io.Closer, json bool) *AccessLog {
	a := &AccessLog{
		json: json,
		now:  time.Now,
		w:    bufio.NewWriterSize(w, accessLogBufferSize),
		file: file,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	go a.flushLoop()
	return a
}

// Log writes the line for the request in ctx, which started at start (the
// zero time means ctx.Time()). Call it when the handler returns; it reads
// ctx only during the call and keeps nothing.
func (a *AccessLog) Log(ctx *fasthttp.RequestCtx, start time.Time) {
	if a == nil {
		return
	}
	now := a.now()
	if start.IsZero() {
		start = ctx.Time()
	}
	bp := linePool.Get().(*[]byte)
	b := (*bp)[:0]
	if a.json {
		b = a.appendJSON(b, ctx, start, now)
	} else {
		b = a.appendCombined(b, ctx, now)
	}
	a.mu.Lock()
	if !a.closed {
		if _, err := a.w.Write(b); err != nil && a.err == nil {
			a.err = err
		}
	}
	a.mu.Unlock()
	if cap(b) <= maxPooledLine {
		*bp = b
		linePool.Put(bp)
	}
}

// Close flushes what is buffered, stops the flusher and closes the file
// (never stdout or stderr). Lines logged after Close are dropped. It
// returns the first write error seen, if any.
func (a *AccessLog) Close() error {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	close(a.stop)
	<-a.done

	a.mu.Lock()
	defer a.mu.Unlock()
	err := a.w.Flush()
	if a.err != nil {
		err = a.err
	}
	if a.file != nil {
		if cerr := a.file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("access-log: %w", err)
	}
	return nil
}

func (a *AccessLog) flushLoop() {
	defer close(a.done)
	t := time.NewTicker(accessLogFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.mu.Lock()
			if a.w.Buffered() > 0 {
				if err := a.w.Flush(); err != nil && a.err == nil {
					a.err = err
				}
			}
			a.mu.Unlock()
		}
	}
}

// appendTime appends now formatted as layout, reformatting once a second.
// One AccessLog uses one layout, so the cache needs no layout key.
func (a *AccessLog) appendTime(b []byte, now time.Time, layout string) []byte {
	sec := now.Unix()
	if s := a.stamp.Load(); s != nil && s.sec == sec {
		return append(b, s.text...)
	}
	s := &timeStamp{sec: sec, text: now.AppendFormat(nil, layout)}
	a.stamp.Store(s)
	return append(b, s.text...)
}

// appendCombined appends nginx's combined format:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
func (a *AccessLog) appendCombined(b []byte, ctx *fasthttp.RequestCtx, now time.Time) []byte {
	h := &ctx.Request.Header
	b = appendRemoteAddr(b, ctx)
	b = append(b, " - "...)
	b = appendRemoteUser(b, h.Peek(fasthttp.HeaderAuthorization))
	b = append(b, " ["...)
	b = a.appendTime(b, now, combinedTime)
	b = append(b, "] \""...)
	b = appendNginxEscaped(b, h.Method())
	b = append(b, ' ')
	b = appendNginxEscaped(b, h.RequestURI())
	b = append(b, ' ')
	b = appendNginxEscaped(b, h.Protocol())
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(ctx.Response.StatusCode()), 10)
	b = append(b, ' ')
	if n, ok := bodyBytesSent(ctx); ok {
		b = strconv.AppendInt(b, n, 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, " \""...)
	b = appendNginxField(b, h.Referer())
	b = append(b, "\" \""...)
	b = appendNginxField(b, h.UserAgent())
	return append(b, "\"\n"...)
}

// appendJSON appends one JSON object and a newline.
func (a *AccessLog) appendJSON(b []byte, ctx *fasthttp.RequestCtx, start, now time.Time) []byte {
	h := &ctx.Request.Header
	b = append(b, `{"time":"`...)
	b = a.appendTime(b, now, time.RFC3339)
	b = append(b, `","remote_addr":"`...)
	b = appendRemoteAddr(b, ctx)
	b = append(b, `","method":`...)
	b = appendJSONString(b, h.Method())
	b = append(b, `,"uri":`...)
	b = appendJSONString(b, h.RequestURI())
	b = append(b, `,"proto":`...)
	b = appendJSONString(b, h.Protocol())
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(ctx.Response.StatusCode()), 10)
	b = append(b, `,"bytes":`...)
	if n, ok := bodyBytesSent(ctx); ok {
		b = strconv.AppendInt(b, n, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"referer":`...)
	b = appendJSONString(b, h.Referer())
	b = append(b, `,"user_agent":`...)
	b = appendJSONString(b, h.UserAgent())
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(now.Sub(start))/float64(time.Millisecond), 'f', 3, 64)
	return append(b, "}\n"...)
}

// bodyBytesSent is $body_bytes_sent as far as it is known when the handler
// returns; see AccessLog. It never reads a body stream (that would consume
// it).
func bodyBytesSent(ctx *fasthttp.RequestCtx) (int64, bool) {
	status := ctx.Response.StatusCode()
	if ctx.IsHead() || status < 200 || status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified {
		return 0, true
	}
	if ctx.Response.IsBodyStream() {
		if n := ctx.Response.Header.ContentLength(); n >= 0 {
			return int64(n), true
		}
		return 0, false
	}
	return int64(len(ctx.Response.Body())), true
}

// appendRemoteAddr appends the peer IP without allocating (net.IP.String
// would), or "unix:" for a unix socket peer as nginx does.
func appendRemoteAddr(b []byte, ctx *fasthttp.RequestCtx) []byte {
	switch addr := ctx.RemoteAddr().(type) {
	case *net.TCPAddr:
		if ip, ok := netip.AddrFromSlice(addr.IP); ok {
			return ip.Unmap().AppendTo(b)
		}
	case *net.UnixAddr:
		return append(b, "unix:"...)
	}
	return append(b, '-')
}

// appendRemoteUser appends the user name of HTTP Basic credentials
// ($remote_user), or "-". Only the name is decoded, never the password.
func appendRemoteUser(b, auth []byte) []byte {
	const prefix = "basic "
	if len(auth) <= len(prefix) || !asciiEqualFold(auth[:len(prefix)], prefix) {
		return append(b, '-')
	}
	enc := auth[len(prefix):]
	var buf [192]byte
	if base64.StdEncoding.DecodedLen(len(enc)) > len(buf) {
		return append(b, '-')
	}
	n, err := base64.StdEncoding.Decode(buf[:], enc)
	if err != nil {
		return append(b, '-')
	}
	user := buf[:n]
	for i, c := range user {
		if c == ':' {
			user = user[:i]
			break
		}
	}
	return appendNginxField(b, user)
}

func asciiEqualFold(s []byte, lower string) bool {
	for i := range len(lower) {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// appendNginxField appends s escaped, or "-" when it is empty, which is how
// nginx prints an unset variable.
func appendNginxField(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, '-')
	}
	return appendNginxEscaped(b, s)
}

const upperHex = "0123456789ABCDEF"

// nginxPlain and jsonPlain mark the bytes copied as they are; every other
// byte is escaped. A table lets the escapers copy whole runs of plain bytes
// at once, which is most of an access log line's cost otherwise.
var nginxPlain, jsonPlain = func() (n, j [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		n[c] = c != '"' && c != '\\'
		j[c] = n[c]
	}
	return n, j
}()

// appendNginxEscaped escapes like nginx's default log escaping: '"', '\',
// control bytes and every byte >= 0x7f become \xHH, so a client cannot
// forge log lines or break a log parser with quotes or newlines.
func appendNginxEscaped(b, s []byte) []byte {
	plain := 0
	for i, c := range s {
		if nginxPlain[c] {
			continue
		}
		b = append(b, s[plain:i]...)
		b = append(b, '\\', 'x', upperHex[c>>4], upperHex[c&0xf])
		plain = i + 1
	}
	return append(b, s[plain:]...)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD (as encoding/json does) so every line stays valid JSON whatever
// bytes a client sends.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	plain := 0
	for i := 0; i < len(s); {
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		b = append(b, s[plain:i]...)
		size := 1
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < utf8.RuneSelf:
			b = append(b, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&0xf])
		default:
			var r rune
			r, size = utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
		}
		i += size
		plain = i
	}
	b = append(b, s[plain:]...)
	return append(b, '"')
}
