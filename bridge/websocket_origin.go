package bridge

import (
	"net/url"
	"strings"
)

// wsOrigins decides which browser origins may open a WebSocket. Browsers
// send cookies with a cross-site WebSocket handshake, so without this check
// any page could act as the logged-in user (cross-site WebSocket
// hijacking). The request's own host is always allowed; ws-allowed-origins
// adds more.
type wsOrigins struct {
	any      bool
	origins  map[string]bool // "https://app.example.com[:port]"
	hosts    map[string]bool // "app.example.com" or "app.example.com:8443"
	suffixes []string        // ".example.com" from "*.example.com"
}

func newWSOrigins(list []string) wsOrigins {
	o := wsOrigins{origins: map[string]bool{}, hosts: map[string]bool{}}
	for _, e := range list {
		e = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(e), "/"))
		switch {
		case e == "*":
			o.any = true
		case strings.HasPrefix(e, "*."):
			o.suffixes = append(o.suffixes, e[1:])
		case strings.Contains(e, "://"):
			o.origins[e] = true
		case e != "":
			o.hosts[e] = true
		}
	}
	return o
}

// allowed reports whether a handshake with this Origin header, sent to
// host (the Host header), may proceed. No Origin means no browser: allowed.
func (o wsOrigins) allowed(origin, host string) bool {
	if origin == "" || o.any {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // "null" (sandboxed frames, file://) and garbage
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	h := strings.ToLower(u.Host)
	name := strings.ToLower(u.Hostname())
	if o.origins[strings.ToLower(u.Scheme)+"://"+h] || o.hosts[h] || o.hosts[name] {
		return true
	}
	for _, s := range o.suffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
