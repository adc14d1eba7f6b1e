// Command phpbridge runs the bridge in front of a PHP-FPM application:
// static files, PHP over FastCGI, and WebSockets whose events become
// ordinary PHP requests. See DESIGN.md for the contract.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/phpbridge/phpbridge/bridge"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes: 2 for anything the user must fix in the command line or the
// configuration (like the flag package), 1 when the server fails.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

// run is main without the process: testable, and the exit code is returned.
func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], environ, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionLine())
		return exitOK
	case "help", "-h", "--help", "-help":
		if len(args) > 1 && args[1] == "serve" {
			fmt.Fprint(stdout, serveUsage())
		} else {
			fmt.Fprint(stdout, usage)
		}
		return exitOK
	}
	fmt.Fprintf(stderr, "phpbridge: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

const usage = `phpbridge serves a PHP-FPM application: static files, PHP over FastCGI,
and WebSockets whose events become ordinary PHP requests.

Usage:
  phpbridge serve [flags]   run the server
  phpbridge version         print the version
  phpbridge help [serve]    show this help, or the serve flags

Every serve flag is also an environment variable PHPBRIDGE_<FLAG> (upper
case, dashes as underscores) and a key of the YAML file named by --config
or PHPBRIDGE_CONFIG. Flags win over the environment, which wins over the
file, which wins over the defaults.
`

// versionLine is "phpbridge <version> <go version> <os/arch>". Without
// -ldflags, a `go install …@v1.2.3` build still knows its module version.
func versionLine() string {
	v := version
	if v == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
	}
	return fmt.Sprintf("phpbridge %s %s %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// runner is what serve needs of a *bridge.Server.
type runner interface {
	Run(ctx context.Context) error
}

// newServer is bridge.New behind an interface so the wiring can be tested
// without PHP-FPM.
var newServer = func(cfg bridge.Config, log *slog.Logger) (runner, error) {
	s, err := bridge.New(cfg, log)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func serve(args, environ []string, stdout, stderr io.Writer) int {
	ld, err := load(args, environ)
	var ue *usageError
	switch {
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, serveUsage())
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "phpbridge: %v\n\n%s", err, serveUsage())
		return exitUsage
	case err != nil:
		printErrors(stderr, "phpbridge: bad configuration:", err, nil)
		return exitUsage
	}
	cfg := ld.cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		printErrors(stderr, "phpbridge: invalid configuration:", err, ld.from)
		return exitUsage
	}
	log, err := bridge.NewLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "phpbridge: %v\n", err)
		return exitUsage
	}
	for _, w := range ld.warnings {
		log.Warn(w.msg, w.attrs...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runServer(ctx, cfg, log)
}

// runServer builds and runs the server until ctx ends (a signal) or it
// fails, and maps the outcome to an exit code.
func runServer(ctx context.Context, cfg bridge.Config, log *slog.Logger) int {
	srv, err := newServer(cfg, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFailure
	}
	if err := srv.Run(ctx); err != nil {
		log.Error("stopped with an error", "err", err)
		return exitFailure
	}
	return exitOK
}

// printErrors prints one line per joined error. A "key: message" line gets
// where the key's value came from, or how to set it when it is a default,
// so every message says what to change and where.
func printErrors(w io.Writer, title string, err error, from map[string]string) {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	fmt.Fprintln(w, title)
	for _, e := range errs {
		line := e.Error()
		if from != nil {
			if key, _, ok := strings.Cut(line, ":"); ok {
				if o, ok := lookupOption(key); ok {
					if src, ok := from[key]; ok {
						line += " (from " + src + ")"
					} else {
						line += fmt.Sprintf(" (the default; set --%s, %s or %s: in the config file)", o.key, o.env, o.key)
					}
				}
			}
		}
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// optionHelp describes the settings for `phpbridge help serve`: text, the
// default as users would write it, and the value placeholder. A field
// missing here still works; it is listed with its type only.
var optionHelp = map[string]struct{ text, def, arg string }{
	"listen":                  {"public HTTP/WebSocket address", bridge.DefaultListen, "ADDR"},
	"root":                    {"document root served as static files", bridge.DefaultRoot, "DIR"},
	"index":                   {"front controller, relative to the root", bridge.DefaultIndex, "FILE"},
	"fastcgi":                 {"PHP-FPM address, host:port or unix:/path", bridge.DefaultFastCGI, "ADDR"},
	"php-root":                {"the root as PHP-FPM sees it (containers)", "same as --root", "DIR"},
	"ws-path":                 {"WebSocket endpoint path", bridge.DefaultWSPath, "PATH"},
	"ws-handler":              {"PHP script receiving WebSocket events; keep it outside the root", bridge.DefaultWSHandler, "FILE"},
	"control":                 {"control API address, unix:/path or a loopback host:port", "unix:$TMPDIR/phpbridge.sock", "ADDR"},
	"control-token":           {"bearer token of the control API, at least 16 characters; prefer the env or file, flags show in ps", "generated, logged once", "TOKEN"},
	"control-allow-remote":    {"allow a non-loopback TCP control address", "false", ""},
	"fastcgi-max-conns":       {"cap on in-flight FastCGI requests; 0 asks PHP-FPM", "0", ""},
	"fastcgi-connect-timeout": {"timeout dialing PHP-FPM", fmtDuration(bridge.DefaultConnectTimeout), ""},
	"fastcgi-read-timeout":    {"wait for PHP's output before answering 504", fmtDuration(bridge.DefaultReadTimeout), ""},
	"fastcgi-queue-timeout":   {"wait for a free FastCGI slot before answering 503", fmtDuration(bridge.DefaultQueueTimeout), ""},
	"max-body-size":           {"largest request body (413 above): bytes or 512k, 100m, 1g", fmtSize(bridge.DefaultMaxBodySize), ""},
	"read-timeout":            {"timeout reading a request from a client", fmtDuration(bridge.DefaultReadTimeout), ""},
	"write-timeout":           {"timeout writing a response; 0 means none (SSE)", "0", ""},
	"idle-timeout":            {"close idle keep-alive connections after this", fmtDuration(bridge.DefaultIdleTimeout), ""},
	"shutdown-timeout":        {"graceful drain on SIGTERM/SIGINT", fmtDuration(bridge.DefaultShutdownTimeout), ""},
	"cache-control":           {"Cache-Control header sent with static files", "none", "VALUE"},
	"trusted-proxies":         {"comma-separated CIDRs whose X-Forwarded-For/-Proto are believed", "none", "CIDRS"},
	"tls-cert":                {"TLS certificate file; with --tls-key serves HTTPS", "none", "FILE"},
	"tls-key":                 {"TLS private key file", "none", "FILE"},
	"log-format":              {"text or json", bridge.DefaultLogFormat, "FORMAT"},
	"log-level":               {"debug, info, warn or error", bridge.DefaultLogLevel, "LEVEL"},
	"access-log":              {"stdout, stderr, off or a file path", bridge.DefaultAccessLog, "DEST"},
	"access-log-format":       {"combined (nginx) or json", bridge.DefaultAccessLogFormat, "FORMAT"},
	"control-socket-mode":     {"octal mode of a unix control socket (0660 + group lets PHP-FPM's user in)", "0600", "MODE"},
	"control-socket-group":    {"group (name or id) of a unix control socket", "phpbridge's own", "GROUP"},
	"static-alias":            {"URLPREFIX=DIR served as static files from DIR, like nginx alias (Laravel storage:link)", "none", "PREFIX=DIR"},
	"ws-allowed-origins":      {"comma-separated Origins allowed to open WebSockets (URL, host, *.domain or *)", "same host only", "ORIGINS"},
	"ws-max-message-size":     {"largest client message; larger closes with 1009", fmtSize(bridge.DefaultWSMaxMessageSize), ""},
	"ws-ping-interval":        {"server ping interval (LaravelS heartbeat_check_interval)", fmtDuration(bridge.DefaultWSPingInterval), ""},
	"ws-idle-timeout":         {"close a silent connection after this (LaravelS heartbeat_idle_time)", fmtDuration(bridge.DefaultWSIdleTimeout), ""},
	"ws-queue-size":           {"messages of one connection waiting for PHP before reading pauses", "16", ""},
	"ws-send-queue-size":      {"messages waiting for a slow client before it is disconnected (1008)", "64", ""},
	"ws-write-timeout":        {"time to write one message to a client", fmtDuration(bridge.DefaultWSWriteTimeout), ""},
	"ws-compression":          {"negotiate permessage-deflate", "false", ""},
	"ws-on-php-error":         {"keep or close (1011) a connection whose message PHP failed", bridge.DefaultWSOnPHPError, "MODE"},
	"ws-close-retry":          {"how long an undeliverable close event is retried", fmtDuration(bridge.DefaultWSCloseRetry), ""},
	"ws-node-id":              {"this node's number (0-63) inside connection ids", "0", "N"},
}

func serveUsage() string {
	type row struct{ flag, text string }
	rows := []row{{"--config FILE", "YAML file of settings (env " + configEnv + ")"}}
	width := 0
	for _, o := range options {
		h, ok := optionHelp[o.key]
		if !ok {
			h.text = "see the docs"
		}
		if h.def != "" {
			h.text += " (default " + h.def + ")"
		}
		if h.arg == "" {
			h.arg = placeholder(o.kind)
		}
		flag := "--" + o.key
		if h.arg != "" {
			flag += " " + h.arg
		}
		rows = append(rows, row{flag, h.text})
	}
	for _, r := range rows {
		width = max(width, len(r.flag))
	}
	var b strings.Builder
	b.WriteString("Usage: phpbridge serve [flags]\n\nFlags (each also env PHPBRIDGE_<FLAG>, dashes as underscores, and a key of the --config file):\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, r.flag, r.text)
	}
	return b.String()
}

func placeholder(k kind) string {
	switch k {
	case kindBool:
		return ""
	case kindInt:
		return "N"
	case kindSize:
		return "SIZE"
	case kindDuration:
		return "DURATION"
	case kindList:
		return "LIST"
	}
	return "VALUE"
}

// fmtDuration prints whole seconds as "60s" rather than Go's "1m0s".
func fmtDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}

// fmtSize prints a size the way parseSize reads it.
func fmtSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"g", 30}, {"m", 20}, {"k", 10}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
