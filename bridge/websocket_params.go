package bridge

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fasthttp/websocket"
	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/valyala/fasthttp"
)

// wsHandlerScript is the WebSocket handler as PHP-FPM sees it: a handler
// under the document root is mapped through php-root like any script;
// one outside it (the recommended place, so it cannot be requested over
// HTTP) is passed as is, with the endpoint path as SCRIPT_NAME, as nginx
// does for a location that sets SCRIPT_FILENAME itself.
func wsHandlerScript(cfg *Config) script {
	rel, err := filepath.Rel(cfg.Root, cfg.WSHandler)
	if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		name := "/" + filepath.ToSlash(rel)
		return script{Name: name, Filename: cfg.PHPRoot + name}
	}
	return script{Name: cfg.WSPath, Filename: cfg.WSHandler}
}

// wsReplacedParam reports the upgrade request's params that every event
// sets itself, so the snapshot leaves them out rather than sending two.
func wsReplacedParam(name string) bool {
	switch name {
	case "REQUEST_METHOD", "CONTENT_LENGTH", "CONTENT_TYPE":
		return true
	}
	return strings.HasPrefix(name, "WS_")
}

// wsSnapshotParams encodes the upgrade request's CGI params once, in the
// fasthttp handler: the RequestCtx is recycled when the handler returns,
// while every later event of the connection needs the same URI, query,
// cookies, headers and remote address.
func (s *Server) wsSnapshotParams(ctx *fasthttp.RequestCtx, sc script) []byte {
	all := fastcgi.AcquireParams()
	defer fastcgi.ReleaseParams(all)
	s.addCGIParams(all, ctx, sc, 0)
	snap := fastcgi.AcquireParams()
	defer fastcgi.ReleaseParams(snap)
	all.Each(func(name, value string) {
		if !wsReplacedParam(name) {
			snap.Add(name, value)
		}
	})
	return bytes.Clone(snap.Encoded())
}

// Event names (WS_EVENT).
const (
	wsEventOpen    = "open"
	wsEventMessage = "message"
	wsEventClose   = "close"
)

// wsEventParams are the params that differ between events.
type wsEventParams struct {
	event       string
	fd          uint64
	opcode      int // websocket.TextMessage or BinaryMessage; message only
	closeCode   int // close only
	closeReason string
	length      int    // payload bytes (CONTENT_LENGTH)
	uid         string // WS_UID: the bound uid, "" when none
	session     []byte // WS_SESSION: the session object (JSON), nil when none
}

// appendWSEventParams builds one event's params: the snapshot of the
// upgrade request, then what this event adds (the contract in
// docs/websocket-protocol.md).
func appendWSEventParams(p *fastcgi.Params, snapshot []byte, e wsEventParams) {
	var num [20]byte
	p.AppendEncoded(snapshot)
	p.Add("REQUEST_METHOD", "POST")
	p.AddBytes("CONTENT_LENGTH", strconv.AppendInt(num[:0], int64(e.length), 10))
	p.Add("CONTENT_TYPE", "application/octet-stream")
	p.Add("WS_EVENT", e.event)
	p.AddBytes("WS_FD", strconv.AppendUint(num[:0], e.fd, 10))
	switch e.opcode {
	case websocket.TextMessage:
		p.Add("WS_OPCODE", "text")
	case websocket.BinaryMessage:
		p.Add("WS_OPCODE", "binary")
	}
	if e.event == wsEventClose {
		p.AddBytes("WS_CLOSE_CODE", strconv.AppendInt(num[:0], int64(e.closeCode), 10))
		p.Add("WS_CLOSE_REASON", e.closeReason)
	}
	if e.uid != "" {
		p.Add("WS_UID", e.uid)
	}
	if len(e.session) > 0 {
		p.AddBytes("WS_SESSION", e.session)
	}
}
