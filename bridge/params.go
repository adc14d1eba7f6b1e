package bridge

import (
	"bytes"
	"encoding/base64"
	"net"
	"net/netip"
	"strconv"

	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/valyala/fasthttp"
)

// Version is the phpbridge version reported in SERVER_SOFTWARE; cmd/phpbridge
// sets it from its build flags.
var Version = "dev"

// script names the PHP script one request runs, split like nginx's
// fastcgi_split_path_info.
type script struct {
	Name     string // SCRIPT_NAME, a URI path ("/index.php")
	PathInfo string // PATH_INFO ("/foo/bar" of "/index.php/foo/bar"), may be ""
	// Filename is SCRIPT_FILENAME as PHP-FPM sees it (under --php-root).
	Filename string
}

// addCGIParams adds the CGI variables of nginx's fastcgi_params (plus
// SCRIPT_FILENAME and PATH_INFO) for the request in ctx. contentLength is
// the body size sent as FCGI_STDIN (known even for chunked uploads, which
// the bridge spools first). Every HTTP header becomes HTTP_*, except Proxy
// (httpoxy) and names with underscores, which nginx also drops so that
// "X_Forwarded_For" cannot pose as "X-Forwarded-For".
func (s *Server) addCGIParams(p *fastcgi.Params, ctx *fasthttp.RequestCtx, sc script, contentLength int64) {
	req := &ctx.Request
	uri := originForm(req.Header.RequestURI())
	var query []byte
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		query = uri[i+1:]
	}
	p.Add("GATEWAY_INTERFACE", "CGI/1.1")
	p.Add("SERVER_SOFTWARE", "phpbridge/"+Version)
	p.AddBytes("REQUEST_METHOD", req.Header.Method())
	p.AddBytes("REQUEST_URI", uri)
	p.AddBytes("QUERY_STRING", query)
	p.Add("SCRIPT_NAME", sc.Name)
	p.Add("SCRIPT_FILENAME", sc.Filename)
	p.Add("DOCUMENT_ROOT", s.cfg.PHPRoot)
	p.Add("DOCUMENT_URI", sc.Name+sc.PathInfo)
	if sc.PathInfo != "" {
		p.Add("PATH_INFO", sc.PathInfo)
		p.Add("PATH_TRANSLATED", s.cfg.PHPRoot+sc.PathInfo)
	}
	p.AddBytes("SERVER_PROTOCOL", req.Header.Protocol())
	p.AddBytes("CONTENT_TYPE", req.Header.ContentType())
	if contentLength > 0 || req.Header.ContentLength() >= 0 {
		var b [20]byte
		p.AddBytes("CONTENT_LENGTH", strconv.AppendInt(b[:0], contentLength, 10))
	} else {
		p.Add("CONTENT_LENGTH", "")
	}
	p.Add("REDIRECT_STATUS", "200")

	var abuf [64]byte
	remote := addrPort(ctx.RemoteAddr())
	https := ctx.IsTLS()
	remoteIP := remote.Addr().AppendTo(abuf[:0])
	if s.trustedProxy(remote.Addr()) {
		if proto := lastListItem(lastHeader(&req.Header, "X-Forwarded-Proto")); len(proto) > 0 {
			https = bytes.EqualFold(proto, []byte("https"))
		}
		if ip := lastForwardedFor(lastHeader(&req.Header, "X-Forwarded-For")); ip != "" {
			remoteIP = append(abuf[:0], ip...)
		}
	}
	p.AddBytes("REMOTE_ADDR", remoteIP)
	p.Add("REMOTE_USER", basicAuthUser(req.Header.Peek(fasthttp.HeaderAuthorization))) // nginx's $remote_user, "" when none
	p.AddBytes("REMOTE_PORT", strconv.AppendUint(abuf[:0], uint64(remote.Port()), 10))
	local := addrPort(ctx.LocalAddr())
	p.AddBytes("SERVER_ADDR", local.Addr().AppendTo(abuf[:0]))
	p.AddBytes("SERVER_PORT", strconv.AppendUint(abuf[:0], uint64(local.Port()), 10))
	p.AddBytes("SERVER_NAME", hostWithoutPort(req.Header.Host()))
	if https {
		p.Add("HTTPS", "on")
		p.Add("REQUEST_SCHEME", "https")
	} else {
		p.Add("REQUEST_SCHEME", "http")
	}
	p.Add("PHPBRIDGE_CONTROL", s.cfg.Control)
	p.Add("PHPBRIDGE_TOKEN", s.cfg.ControlToken)

	var name [128]byte
	for k, v := range req.Header.AllInOrder() { // raw values: cookies exactly as sent
		if !headerPassable(k) {
			continue
		}
		p.AddBytes(string(cgiHeaderName(name[:0], k)), v)
	}
}

// originForm turns an absolute-form request target ("GET
// http://host/path?q HTTP/1.1", which proxies send and browsers do not)
// into the path and query, as nginx's $request_uri does: a script that
// redirects to REQUEST_URI must not be sent off-site.
func originForm(uri []byte) []byte {
	if len(uri) == 0 || uri[0] == '/' {
		return uri
	}
	i := bytes.Index(uri, []byte("://"))
	if i < 0 {
		return uri // "*" (OPTIONS) and the like
	}
	rest := uri[i+3:]
	if j := bytes.IndexAny(rest, "/?"); j >= 0 {
		if rest[j] == '?' {
			return append([]byte{'/'}, rest[j:]...)
		}
		return rest[j:]
	}
	return []byte{'/'}
}

// basicAuthUser is the user name of a Basic Authorization header, or "".
func basicAuthUser(auth []byte) string {
	enc, ok := bytes.CutPrefix(auth, []byte("Basic "))
	if !ok {
		return ""
	}
	dec, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(enc)))
	if err != nil {
		return ""
	}
	user, _, _ := bytes.Cut(dec, []byte(":"))
	return string(user)
}

// headerPassable filters headers that must not become HTTP_* params.
func headerPassable(k []byte) bool {
	if bytes.IndexByte(k, '_') >= 0 {
		return false
	}
	return !(len(k) == 5 && bytes.EqualFold(k, []byte("Proxy")))
}

// cgiHeaderName appends "HTTP_" + name upper-cased with '-' as '_'.
func cgiHeaderName(dst, name []byte) []byte {
	dst = append(dst, "HTTP_"...)
	for _, c := range name {
		switch {
		case c == '-':
			c = '_'
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// addrPort converts a connection address without allocating (TCP is the
// only kind the public listener has; anything else reads as 0.0.0.0:0).
func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
}

func hostWithoutPort(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		if i := bytes.IndexByte(host, ']'); i > 0 {
			return host[1:i]
		}
	}
	if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

// lastForwardedFor returns the right-most address of X-Forwarded-For: the
// one the trusted proxy itself saw (earlier entries are client-supplied).
func lastForwardedFor(v []byte) string {
	v = lastListItem(v)
	if len(v) == 0 {
		return ""
	}
	ip := net.ParseIP(string(v))
	if ip == nil {
		return ""
	}
	return ip.String()
}

// lastHeader is the value of the last line of a header sent several times.
// A proxy appends its own X-Forwarded-* line after any the client sent
// (HAProxy's option forwardfor does), so the last one is the proxy's:
// Peek, which returns the first, would believe the client.
func lastHeader(h *fasthttp.RequestHeader, name string) []byte {
	all := h.PeekAll(name)
	if len(all) == 0 {
		return nil
	}
	return all[len(all)-1]
}

// lastListItem is the right-most item of a comma-separated header value,
// trimmed: the one the nearest proxy added.
func lastListItem(v []byte) []byte {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.TrimSpace(v)
}

func (s *Server) trustedProxy(ip netip.Addr) bool {
	for _, n := range s.trusted {
		if n.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}
