package bridge

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything `phpbridge serve` can be told. Its zero value works:
// WithDefaults fills every unset field, in this one place, and Validate says
// what is wrong in terms a user can act on (the key and what is allowed).
//
// Each field is also a flag (--kebab-case of the yaml key), an environment
// variable (PHPBRIDGE_ + the yaml key upper-cased, dashes as underscores) and
// a key of the YAML file; see cmd/phpbridge.
type Config struct {
	// Listen is the public HTTP/WebSocket address. Default ":8080".
	Listen string `yaml:"listen"`
	// Root is the document root served as static files. Default "./public".
	Root string `yaml:"root"`
	// Index is the front controller, relative to Root. Default "index.php".
	Index string `yaml:"index"`
	// FastCGI is the PHP-FPM address: "host:port" or "unix:/path".
	// Default "127.0.0.1:9000".
	FastCGI string `yaml:"fastcgi"`
	// PHPRoot is Root as PHP-FPM sees it (another path inside a container).
	// Default: the absolute Root.
	PHPRoot string `yaml:"php-root"`

	// WSPath is the WebSocket endpoint path. Default "/ws".
	WSPath string `yaml:"ws-path"`
	// WSHandler is the PHP script that receives WebSocket events; it should
	// live outside Root. Default "./ws.php".
	WSHandler string `yaml:"ws-handler"`

	// Control is the control API address, "host:port" (loopback only unless
	// ControlAllowRemote) or "unix:/path". Default: a unix socket
	// "phpbridge.sock" in the OS temp directory.
	Control string `yaml:"control"`
	// ControlToken is the bearer token of the control API. Default: generated
	// at start and logged once.
	ControlToken string `yaml:"control-token"`
	// ControlAllowRemote permits a non-loopback TCP control address. Default false.
	ControlAllowRemote bool `yaml:"control-allow-remote"`
	// ControlSocketMode is the octal mode of a unix control socket. Default
	// "0600" (only phpbridge's user); "0660" with ControlSocketGroup lets
	// PHP-FPM's user (e.g. www-data) in.
	ControlSocketMode string `yaml:"control-socket-mode"`
	// ControlSocketGroup is the group (name or id) of a unix control socket.
	// Default "" (phpbridge's own group).
	ControlSocketGroup string `yaml:"control-socket-group"`

	// FastCGIMaxConns caps in-flight FastCGI requests (one connection each).
	// PHP-FPM pins a child to each open connection, so this must not exceed
	// the pool's pm.max_children. Default 0: ask the FastCGI server
	// (FCGI_GET_VALUES FCGI_MAX_CONNS; php-cgi answers, PHP-FPM 8.x does not)
	// and fall back to 5, the pm.max_children of Debian's and Docker's
	// stock www.conf.
	FastCGIMaxConns int `yaml:"fastcgi-max-conns"`
	// FastCGIConnectTimeout bounds dialing PHP-FPM. Default 5s.
	FastCGIConnectTimeout time.Duration `yaml:"fastcgi-connect-timeout"`
	// FastCGIReadTimeout bounds the wait for PHP's output, like nginx's
	// fastcgi_read_timeout; past it the request is aborted and the client
	// gets 504. Default 60s.
	FastCGIReadTimeout time.Duration `yaml:"fastcgi-read-timeout"`
	// FastCGIQueueTimeout bounds the wait for a free FastCGI slot when all
	// FastCGIMaxConns are busy; past it the client gets 503. Default 30s.
	FastCGIQueueTimeout time.Duration `yaml:"fastcgi-queue-timeout"`

	// MaxBodySize is the largest request body accepted, like nginx's
	// client_max_body_size; larger bodies get 413. Default 100 MiB. The
	// unit tag lets flags, env and YAML take "512k", "100m", "1g".
	MaxBodySize int64 `yaml:"max-body-size" unit:"bytes"`
	// ReadTimeout bounds reading a request's headers and body from a client.
	// Default 60s.
	ReadTimeout time.Duration `yaml:"read-timeout"`
	// WriteTimeout bounds writing a response to a client; 0 means no limit so
	// Server-Sent Events can last. Default 0.
	WriteTimeout time.Duration `yaml:"write-timeout"`
	// IdleTimeout closes idle keep-alive client connections. Default 75s
	// (nginx's keepalive_timeout).
	IdleTimeout time.Duration `yaml:"idle-timeout"`
	// ShutdownTimeout bounds the graceful drain on SIGTERM/SIGINT. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown-timeout"`

	// CacheControl is sent with static files when set, e.g. "public,
	// max-age=3600". Default "" (no header).
	CacheControl string `yaml:"cache-control"`
	// StaticAliases serves directories outside Root as static files, like
	// nginx's `location /storage/ { alias DIR/; }`: each entry is
	// "URLPREFIX=DIR" (Laravel's storage:link: "/storage=../storage/app/public"),
	// DIR relative to the working directory. Paths under the prefix are
	// confined to DIR as the root's are (no escaping symlinks, dotfiles or PHP
	// source, PHP never runs); a missing file is 404, not the front
	// controller. Default none.
	StaticAliases []string `yaml:"static-alias"`
	// TrustedProxies lists CIDRs whose X-Forwarded-Proto/-For are believed
	// (HTTPS=on, REMOTE_ADDR). Default none.
	TrustedProxies []string `yaml:"trusted-proxies"`
	// TLSCert and TLSKey serve HTTPS on Listen when both are set. Default "".
	TLSCert string `yaml:"tls-cert"`
	TLSKey  string `yaml:"tls-key"`

	// LogFormat is "text" or "json". Default "text".
	LogFormat string `yaml:"log-format"`
	// LogLevel is "debug", "info", "warn" or "error". Default "info".
	LogLevel string `yaml:"log-level"`
	// AccessLog is "stdout", "stderr", "off" or a file path. Default "stdout".
	AccessLog string `yaml:"access-log"`
	// AccessLogFormat is "combined" (nginx) or "json". Default "combined".
	AccessLogFormat string `yaml:"access-log-format"`

	// WebSocket endpoint (see docs/websocket-protocol.md).

	// WSAllowedOrigins lists the browser origins allowed to open a WebSocket,
	// against cross-site WebSocket hijacking: a full origin
	// ("https://app.example.com"), a host ("app.example.com", any scheme),
	// "*.example.com" for its subdomains, or "*" for any. Clients that send
	// no Origin (non-browsers) are always allowed. Default none: only an
	// Origin whose host:port equals the request's Host.
	WSAllowedOrigins []string `yaml:"ws-allowed-origins"`
	// WSMaxMessageSize is the largest message a client may send, after
	// reassembly and inflation; larger ones close the connection with 1009
	// without being buffered. Default 1 MiB.
	WSMaxMessageSize int64 `yaml:"ws-max-message-size" unit:"bytes"`
	// WSPingInterval is how often the bridge pings each client, so that
	// proxies with an idle cut (nginx's 60s) keep the connection and dead
	// peers are found (LaravelS heartbeat_check_interval). Default 25s.
	WSPingInterval time.Duration `yaml:"ws-ping-interval"`
	// WSIdleTimeout closes a connection (1001 "idle timeout") that sent
	// nothing, not even a pong, for this long (LaravelS
	// heartbeat_idle_time). Must exceed ws-ping-interval. Default 60s.
	WSIdleTimeout time.Duration `yaml:"ws-idle-timeout"`
	// WSQueueSize is how many messages of one connection may wait for PHP;
	// when full the bridge stops reading that socket (TCP backpressure)
	// until PHP catches up. Default 16.
	WSQueueSize int `yaml:"ws-queue-size"`
	// WSSendQueueSize is how many messages may wait to be written to one
	// client; a client that lets more pile up is disconnected (1008) rather
	// than growing memory. Default 64.
	WSSendQueueSize int `yaml:"ws-send-queue-size"`
	// WSWriteTimeout bounds writing one message to a client; a client that
	// does not take it in time is disconnected (1008). Default 10s.
	WSWriteTimeout time.Duration `yaml:"ws-write-timeout"`
	// WSCompression negotiates permessage-deflate (no context takeover)
	// with clients that offer it. Default false.
	WSCompression bool `yaml:"ws-compression"`
	// WSOnPHPError is what a message event that PHP-FPM failed (down, timed
	// out, status 5xx) does to its connection: "keep" logs and keeps it
	// open, "close" closes it with 1011. Default "keep".
	WSOnPHPError string `yaml:"ws-on-php-error"`
	// WSCloseRetry bounds how long a close event that cannot reach PHP-FPM
	// is retried before it is logged as lost. Default 30s.
	WSCloseRetry time.Duration `yaml:"ws-close-retry"`
	// WSNodeID is this node's number in connection ids (WS_FD), 0 to 63;
	// nodes running at the same time need different ones. Default 0.
	WSNodeID int `yaml:"ws-node-id"`

	// tokenGenerated records that WithDefaults made the token up, so the
	// server logs it once.
	tokenGenerated bool
}

// Default values, named so docs and messages quote one source.
const (
	DefaultListen            = ":8080"
	DefaultRoot              = "./public"
	DefaultIndex             = "index.php"
	DefaultFastCGI           = "127.0.0.1:9000"
	DefaultWSPath            = "/ws"
	DefaultWSHandler         = "./ws.php"
	DefaultMaxBodySize       = 100 << 20
	DefaultFastCGIFallback   = 5
	DefaultConnectTimeout    = 5 * time.Second
	DefaultReadTimeout       = 60 * time.Second
	DefaultQueueTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 75 * time.Second
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultLogFormat         = "text"
	DefaultLogLevel          = "info"
	DefaultAccessLog         = "stdout"
	DefaultAccessLogFormat   = "combined"
	defaultControlSocketBase = "phpbridge.sock"

	DefaultWSMaxMessageSize = 1 << 20
	DefaultWSPingInterval   = 25 * time.Second
	DefaultWSIdleTimeout    = 60 * time.Second
	DefaultWSQueueSize      = 16
	DefaultWSSendQueueSize  = 64
	DefaultWSWriteTimeout   = 10 * time.Second
	DefaultWSOnPHPError     = "keep"
	DefaultWSCloseRetry     = 30 * time.Second
	maxWSNodeID             = 1<<fdNodeBits - 1
)

// WithDefaults returns a copy of c with every unset field filled in and
// paths made absolute.
func (c Config) WithDefaults() Config {
	setDefault(&c.Listen, DefaultListen)
	setDefault(&c.Root, DefaultRoot)
	setDefault(&c.Index, DefaultIndex)
	setDefault(&c.FastCGI, DefaultFastCGI)
	setDefault(&c.WSPath, DefaultWSPath)
	setDefault(&c.WSHandler, DefaultWSHandler)
	setDefault(&c.Control, "unix:"+filepath.Join(os.TempDir(), defaultControlSocketBase))
	setDefault(&c.ControlSocketMode, "0600")
	setDefault(&c.LogFormat, DefaultLogFormat)
	setDefault(&c.LogLevel, DefaultLogLevel)
	setDefault(&c.AccessLog, DefaultAccessLog)
	setDefault(&c.AccessLogFormat, DefaultAccessLogFormat)
	setDefault(&c.FastCGIConnectTimeout, DefaultConnectTimeout)
	setDefault(&c.FastCGIReadTimeout, DefaultReadTimeout)
	setDefault(&c.FastCGIQueueTimeout, DefaultQueueTimeout)
	setDefault(&c.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.MaxBodySize, DefaultMaxBodySize)
	setDefault(&c.WSMaxMessageSize, DefaultWSMaxMessageSize)
	setDefault(&c.WSPingInterval, DefaultWSPingInterval)
	setDefault(&c.WSIdleTimeout, DefaultWSIdleTimeout)
	setDefault(&c.WSWriteTimeout, DefaultWSWriteTimeout)
	setDefault(&c.WSCloseRetry, DefaultWSCloseRetry)
	setDefault(&c.WSQueueSize, DefaultWSQueueSize)
	setDefault(&c.WSSendQueueSize, DefaultWSSendQueueSize)
	setDefault(&c.WSOnPHPError, DefaultWSOnPHPError)
	if abs, err := filepath.Abs(c.Root); err == nil {
		c.Root = abs
	}
	if abs, err := filepath.Abs(c.WSHandler); err == nil {
		c.WSHandler = abs
	}
	setDefault(&c.PHPRoot, c.Root)
	c.StaticAliases = absStaticAliases(c.StaticAliases)
	if c.ControlToken == "" {
		var b [24]byte
		_, _ = rand.Read(b[:])
		c.ControlToken = hex.EncodeToString(b[:])
		c.tokenGenerated = true
	}
	return c
}

// setDefault sets *p to v when it holds its zero value (unset).
func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Validate reports every problem of a defaulted Config at once, each naming
// the key and what is allowed.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%q is not host:port (e.g. \":8080\" or \"127.0.0.1:8080\")", c.Listen)
	}
	if st, err := os.Stat(c.Root); err != nil || !st.IsDir() {
		bad("root", "%q is not a readable directory", c.Root)
	}
	if c.Index == "" || strings.Contains(c.Index, "..") || strings.HasPrefix(c.Index, "/") {
		bad("index", "%q must be a file name relative to the root, like \"index.php\"", c.Index)
	}
	if _, _, err := SplitAddress(c.FastCGI); err != nil {
		bad("fastcgi", "%v", err)
	}
	if !strings.HasPrefix(c.PHPRoot, "/") {
		bad("php-root", "%q must be an absolute path", c.PHPRoot)
	}
	if !strings.HasPrefix(c.WSPath, "/") {
		bad("ws-path", "%q must start with \"/\"", c.WSPath)
	}
	if network, addr, err := SplitAddress(c.Control); err != nil {
		bad("control", "%v", err)
	} else if network == "tcp" && !c.ControlAllowRemote && !isLoopbackHostPort(addr) {
		bad("control", "%q is not a loopback address; the control API must not be reachable from the network (use unix:/path or 127.0.0.1:port, or set control-allow-remote)", c.Control)
	}
	if c.Control != "" && c.Listen == strings.TrimPrefix(c.Control, "tcp:") {
		bad("control", "must differ from listen %q: the control API is never served on the public listener", c.Listen)
	}
	if m, err := strconv.ParseUint(c.ControlSocketMode, 8, 32); err != nil || m > 0o777 {
		bad("control-socket-mode", "%q is not an octal file mode like 0600 or 0660", c.ControlSocketMode)
	}
	if len(c.ControlToken) < 16 {
		bad("control-token", "must be at least 16 characters")
	}
	if c.FastCGIMaxConns < 0 {
		bad("fastcgi-max-conns", "%d must be >= 0 (0 asks PHP-FPM)", c.FastCGIMaxConns)
	}
	for key, d := range map[string]time.Duration{
		"fastcgi-connect-timeout": c.FastCGIConnectTimeout, "fastcgi-read-timeout": c.FastCGIReadTimeout,
		"fastcgi-queue-timeout": c.FastCGIQueueTimeout, "read-timeout": c.ReadTimeout,
		"write-timeout": c.WriteTimeout, "idle-timeout": c.IdleTimeout, "shutdown-timeout": c.ShutdownTimeout,
	} {
		if d < 0 {
			bad(key, "%s must not be negative", d)
		}
	}
	if c.MaxBodySize < 0 {
		bad("max-body-size", "%d must not be negative", c.MaxBodySize)
	}
	for _, msg := range staticAliasProblems(c.StaticAliases) {
		bad("static-alias", "%s", msg)
	}
	for _, cidr := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			bad("trusted-proxies", "%q is not a CIDR like 10.0.0.0/8", cidr)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "tls-cert and tls-key must be set together")
	}
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	oneOf("log-format", c.LogFormat, "text", "json")
	oneOf("log-level", c.LogLevel, "debug", "info", "warn", "error")
	oneOf("access-log-format", c.AccessLogFormat, "combined", "json")
	oneOf("ws-on-php-error", c.WSOnPHPError, "keep", "close")
	if c.WSMaxMessageSize < 0 {
		bad("ws-max-message-size", "%d must not be negative", c.WSMaxMessageSize)
	}
	for key, d := range map[string]time.Duration{
		"ws-ping-interval": c.WSPingInterval, "ws-idle-timeout": c.WSIdleTimeout,
		"ws-write-timeout": c.WSWriteTimeout, "ws-close-retry": c.WSCloseRetry,
	} {
		if d < 0 {
			bad(key, "%s must not be negative", d)
		}
	}
	if c.WSIdleTimeout > 0 && c.WSIdleTimeout <= c.WSPingInterval {
		bad("ws-idle-timeout", "%s must exceed ws-ping-interval %s, or live clients that only answer pings are cut", c.WSIdleTimeout, c.WSPingInterval)
	}
	if c.WSQueueSize < 0 {
		bad("ws-queue-size", "%d must be at least 1", c.WSQueueSize)
	}
	if c.WSSendQueueSize < 0 {
		bad("ws-send-queue-size", "%d must be at least 1", c.WSSendQueueSize)
	}
	if c.WSNodeID < 0 || c.WSNodeID > maxWSNodeID {
		bad("ws-node-id", "%d is not between 0 and %d", c.WSNodeID, maxWSNodeID)
	}
	for _, o := range c.WSAllowedOrigins {
		if strings.TrimSpace(o) == "" {
			bad("ws-allowed-origins", "contains an empty entry")
		}
	}
	return errors.Join(errs...)
}

// SplitAddress turns "unix:/path" or "host:port" into a network and address
// for net.Dial / net.Listen.
func SplitAddress(addr string) (network, address string, err error) {
	if rest, ok := strings.CutPrefix(addr, "unix:"); ok {
		if rest == "" {
			return "", "", fmt.Errorf("%q: unix socket path is empty", addr)
		}
		return "unix", rest, nil
	}
	addr = strings.TrimPrefix(addr, "tcp:")
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return "", "", fmt.Errorf("%q is neither host:port nor unix:/path", addr)
	}
	return "tcp", addr, nil
}

func isLoopbackHostPort(addr string) bool {
	host, _, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
