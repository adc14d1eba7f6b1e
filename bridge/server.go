package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/valyala/fasthttp"
)

// Server is one phpbridge node: the public HTTP/WebSocket listener in front
// of PHP-FPM.
type Server struct {
	cfg     Config
	log     *slog.Logger
	router  *Router
	static  *Static
	aliases *staticAliases // static-alias directories (alias.go); nil if none
	fcgi    *fastcgi.Client
	access  *AccessLog
	trusted []netip.Prefix
	http    *fasthttp.Server
	ln      net.Listener
	ws      *wsHub      // the WebSocket endpoint (websocket.go)
	reg     *registry   // groups, uids, sessions (registry.go)
	act     *actor      // runs control actions (actions.go)
	control *controlAPI // the push API (control.go)
}

// New checks cfg (after WithDefaults) and prepares a Server; nothing listens
// until Run.
func New(cfg Config, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log}
	var err error
	if s.router, err = NewRouter(cfg.Root, cfg.Index); err != nil {
		return nil, err
	}
	s.static = NewStatic(cfg.Root, cfg.CacheControl)
	if s.aliases, err = newStaticAliases(cfg.StaticAliases, cfg.CacheControl); err != nil {
		return nil, err
	}
	s.warnEscapingLinks()
	if s.access, err = NewAccessLog(cfg.AccessLog, cfg.AccessLogFormat); err != nil {
		return nil, fmt.Errorf("access-log: %w", err)
	}
	for _, c := range cfg.TrustedProxies {
		n, _ := netip.ParsePrefix(c)
		s.trusted = append(s.trusted, n.Masked())
	}
	network, address, _ := SplitAddress(cfg.FastCGI)
	maxConns := cfg.FastCGIMaxConns
	if maxConns == 0 {
		maxConns = s.discoverMaxConns(network, address)
	}
	s.fcgi = fastcgi.New(fastcgi.Config{
		Network:        network,
		Address:        address,
		MaxConns:       maxConns,
		ConnectTimeout: cfg.FastCGIConnectTimeout,
		ReadTimeout:    cfg.FastCGIReadTimeout,
		QueueTimeout:   cfg.FastCGIQueueTimeout,
		Stderr: func(line []byte) {
			s.log.Warn("php stderr", "msg", string(line))
		},
	})
	s.http = &fasthttp.Server{
		Handler:                       s.handle,
		Name:                          "phpbridge",
		ReadTimeout:                   cfg.ReadTimeout,
		WriteTimeout:                  cfg.WriteTimeout,
		IdleTimeout:                   cfg.IdleTimeout,
		MaxRequestBodySize:            memoryBodyMax,
		StreamRequestBody:             true,
		DisablePreParseMultipartForm:  true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: false,
		ReadBufferSize:                8 << 10, // a header block up to 8 KiB (nginx: large_client_header_buffers 4 8k)
		// Headers plus a 4 KiB file or page fit one buffer: one write
		// syscall per response instead of two.
		WriteBufferSize:   8 << 10,
		ReduceMemoryUsage: false,
		Logger:            fasthttpLogger{s.log},
		CloseOnShutdown:   true,
		// WebSocket connections outlive their hijack handler, which must
		// return so fasthttp frees the request (websocket.go).
		KeepHijackedConns: true,
		// A client that asks before sending a body (Expect: 100-continue)
		// gets the 413 at once when its Content-Length is over
		// max-body-size, instead of a 100, an upload, then the 413.
		ExpectHandler: func(ctx *fasthttp.RequestCtx) int {
			if int64(ctx.Request.Header.ContentLength()) > cfg.MaxBodySize {
				return fasthttp.StatusRequestEntityTooLarge
			}
			return fasthttp.StatusContinue
		},
	}
	s.ws = newWSHub(s)
	s.reg = newRegistry()
	s.act = &actor{hub: s.ws, reg: s.reg, node: cfg.WSNodeID}
	s.control = newControlAPI(&s.cfg, s.act, log)
	return s, nil
}

// discoverMaxConns matches the FastCGI connection cap to the pool when
// PHP-FPM says its size; PHP-FPM 8.x does not, so the fallback is the
// pm.max_children of Debian's and the official Docker image's www.conf.
func (s *Server) discoverMaxConns(network, address string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := fastcgi.DiscoverMaxConns(ctx, network, address)
	if err == nil {
		s.log.Info("fastcgi connection cap from FCGI_MAX_CONNS", "max_conns", n)
		return n
	}
	s.log.Warn("php-fpm did not report its pool size; set fastcgi-max-conns to pm.max_children",
		"max_conns", DefaultFastCGIFallback, "reason", err)
	return DefaultFastCGIFallback
}

// Handler is the public HTTP handler (exposed for tests and embedding).
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// Addr is the bound public address once Run listens.
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	defer s.access.Log(ctx, start)

	if s.ws.match(ctx) {
		s.ws.serve(ctx)
		return
	}

	route, static := s.resolve(ctx.Request.URI().PathOriginal())
	switch route.Kind {
	case RouteStatic:
		static.Serve(ctx, route)
	case RoutePHP:
		s.servePHP(ctx, route)
	case RouteRedirect:
		loc := route.Path
		if q := ctx.URI().QueryString(); len(q) > 0 {
			loc += "?" + string(q)
		}
		ctx.Error("301 Moved Permanently\n", fasthttp.StatusMovedPermanently)
		ctx.Response.Header.Set("Location", loc) // after Error, which resets the response
	case RouteForbidden:
		ctx.Error("403 Forbidden\n", fasthttp.StatusForbidden)
	case RouteBadRequest:
		ctx.Error("400 Bad Request\n", fasthttp.StatusBadRequest)
	default:
		ctx.Error("404 Not Found\n", fasthttp.StatusNotFound)
	}
}

// Listen binds the public address (Run calls it when needed); tests call it
// first to learn the port.
func (s *Server) Listen() error {
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	if err := s.control.listen(&s.cfg); err != nil {
		ln.Close()
		return err
	}
	s.ln = ln
	return nil
}

// Run serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish for up to ShutdownTimeout, and
// returns nil when everything drained.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	if s.cfg.tokenGenerated {
		s.log.Info("control token generated (set control-token to choose one)", "token", s.cfg.ControlToken)
	}
	s.log.Info("phpbridge listening", "listen", s.ln.Addr().String(), "root", s.cfg.Root,
		"fastcgi", s.cfg.FastCGI, "max_conns", s.fcgi.MaxConns(), "version", Version)
	s.log.Info("control API listening", "control", s.cfg.Control)
	if network, addr, _ := SplitAddress(s.cfg.Control); network == "tcp" && !isLoopbackHostPort(addr) {
		s.log.Warn("the control API listens beyond this machine; its token is in every PHP request's $_SERVER (PHPBRIDGE_TOKEN), so a debug page that prints $_SERVER (phpinfo, error pages) hands out push rights",
			"control", s.cfg.Control, "hint", "keep debug pages off in production, or use a unix socket")
	}
	errc := make(chan error, 2)
	go func() {
		if err := s.control.serve(); err != nil {
			errc <- fmt.Errorf("control API: %w", err)
		}
	}()
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- s.http.ServeTLS(s.ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- s.http.Serve(s.ln)
		}
	}()
	select {
	case err := <-errc:
		wctx, wcancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		_ = s.ws.Shutdown(wctx)
		wcancel()
		s.closeAll()
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	// WebSocket clients get their close 1001 while the listener stops, and
	// their close events reach PHP before the FastCGI client closes.
	wsDone := make(chan struct{})
	go func() {
		_ = s.ws.Shutdown(sctx)
		close(wsDone)
	}()
	err := s.http.ShutdownWithContext(sctx)
	<-wsDone
	s.closeAll()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown timeout reached with requests still open", "timeout", s.cfg.ShutdownTimeout.String())
	}
	s.log.Info("stopped")
	return nil
}

// closeAll runs after the WebSocket shutdown, so close handlers could
// still push through the control API until then.
func (s *Server) closeAll() {
	s.control.shutdown()
	_ = s.fcgi.Close()
	_ = s.access.Close()
}

// fasthttpLogger routes fasthttp's own messages to slog.
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, args...)), "source", "fasthttp")
}
