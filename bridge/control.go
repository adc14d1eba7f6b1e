package bridge

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// controlAPI is the token-protected JSON endpoint through which any PHP
// code (handlers, controllers, queue jobs, cron) pushes to connections; see
// docs/control-api.md. It listens on its own unix socket or loopback port,
// never on the public listener.
type controlAPI struct {
	token []byte
	act   *actor
	log   *slog.Logger
	srv   *fasthttp.Server
	ln    net.Listener
	path  string // unix socket path to remove at shutdown

	calls        atomic.Int64
	actions      atomic.Int64
	unauthorized atomic.Int64
}

// maxControlBody bounds one control request (a batch of pushes).
const maxControlBody = 64 << 20

// maxBatchActions bounds the actions of one call: each gets a result held
// until the answer is written, and 64 MiB of "{}" is 22 million of them.
const maxBatchActions = 10_000

func newControlAPI(cfg *Config, act *actor, log *slog.Logger) *controlAPI {
	c := &controlAPI{token: []byte(cfg.ControlToken), act: act, log: log}
	c.srv = &fasthttp.Server{
		Handler:            c.handle,
		Name:               "phpbridge-control",
		MaxRequestBodySize: maxControlBody,
		Logger:             fasthttpLogger{log},
		// Without the token a request cannot make the bridge read 64 MiB:
		// the body limit drops to what a 401 needs once the headers are in.
		HeaderReceived: func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
			if c.tokenOK(h.Peek(fasthttp.HeaderAuthorization)) {
				return fasthttp.RequestConfig{}
			}
			return fasthttp.RequestConfig{MaxRequestBodySize: unauthorizedBodyMax}
		},
	}
	return c
}

// listen binds the control address: a unix socket (a stale file from a
// crashed run is replaced, a live one is an error) with the configured mode
// and group, or a TCP address Validate already restricted to loopback.
func (c *controlAPI) listen(cfg *Config) error {
	network, addr, err := SplitAddress(cfg.Control)
	if err != nil {
		return err
	}
	if network == "unix" {
		if conn, err := net.Dial("unix", addr); err == nil {
			conn.Close()
			return fmt.Errorf("control: %s is in use by another process (another phpbridge?); choose another --control", addr)
		}
		if st, err := os.Lstat(addr); err == nil {
			if st.Mode()&os.ModeSocket == 0 {
				return fmt.Errorf("control: %s exists and is not a socket (%s); refusing to replace it — choose another --control path", addr, st.Mode().Type())
			}
			_ = os.Remove(addr) // a stale socket from a crashed run
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return fmt.Errorf("control: listen %s: %w", cfg.Control, err)
	}
	if network == "unix" {
		c.path = addr
		if err := applySocketPermissions(addr, cfg.ControlSocketMode, cfg.ControlSocketGroup); err != nil {
			ln.Close()
			return err
		}
	}
	c.ln = ln
	return nil
}

// applySocketPermissions sets the socket's mode (default 0600: only
// phpbridge's user) and group, so that PHP-FPM's user can be let in
// deliberately (e.g. mode 0660, group www-data).
func applySocketPermissions(path, mode, group string) error {
	m, err := strconv.ParseUint(mode, 8, 32)
	if err != nil {
		return fmt.Errorf("control-socket-mode: %q is not an octal mode like 0600 or 0660", mode)
	}
	if group != "" {
		gid, err := strconv.Atoi(group)
		if err != nil {
			g, lerr := user.LookupGroup(group)
			if lerr != nil {
				return fmt.Errorf("control-socket-group: %q is not a known group name or id", group)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Chown(path, -1, gid); err != nil {
			return fmt.Errorf("control-socket-group: chown %s: %w", path, err)
		}
	}
	if err := os.Chmod(path, os.FileMode(m)); err != nil {
		return fmt.Errorf("control-socket-mode: chmod %s: %w", path, err)
	}
	return nil
}

func (c *controlAPI) serve() error {
	err := c.srv.Serve(c.ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (c *controlAPI) shutdown() {
	_ = c.srv.Shutdown()
	if c.path != "" {
		_ = os.Remove(c.path)
	}
}

func (c *controlAPI) handle(ctx *fasthttp.RequestCtx) {
	c.calls.Add(1)
	ctx.SetContentType("application/json")
	if !c.authorized(ctx) {
		c.unauthorized.Add(1)
		c.log.Warn("control API: rejected a call with a missing or wrong token", "remote", ctx.RemoteAddr().String())
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="phpbridge"`)
		writeJSON(ctx, fail("missing or wrong bearer token: send \"Authorization: Bearer <token>\" with the --control-token value (PHP gets it as PHPBRIDGE_TOKEN)"))
		return
	}
	switch string(ctx.Path()) {
	case "/v1/actions":
		if !ctx.IsPost() {
			ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
			ctx.Response.Header.Set("Allow", "POST")
			writeJSON(ctx, fail("use POST"))
			return
		}
		c.actionsEndpoint(ctx)
	case "/v1/stats":
		writeJSON(ctx, okResult("connections", len(c.act.hub.liveFDs()), "calls", c.calls.Load(),
			"actions", c.actions.Load(), "unauthorized", c.unauthorized.Load(),
			"close_events_failed", c.act.hub.closesFailed()))
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		writeJSON(ctx, fail("no such endpoint %q: use POST /v1/actions (see docs/control-api.md)", ctx.Path()))
	}
}

// authorized compares the bearer token in constant time.
func (c *controlAPI) authorized(ctx *fasthttp.RequestCtx) bool {
	return c.tokenOK(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
}

func (c *controlAPI) tokenOK(authorization []byte) bool {
	tok, ok := bytes.CutPrefix(authorization, []byte("Bearer "))
	return ok && subtle.ConstantTimeCompare(bytes.TrimSpace(tok), c.token) == 1
}

// unauthorizedBodyMax is the body a request without the right token may
// send before it is refused.
const unauthorizedBodyMax = 64 << 10

// actionsEndpoint runs {"actions":[...]} (answering {"ok":true,"results":[...]})
// or a single bare action (answering its result).
func (c *controlAPI) actionsEndpoint(ctx *fasthttp.RequestCtx) {
	body := bytes.TrimSpace(ctx.PostBody())
	var batch struct {
		Actions *[]json.RawMessage `json:"actions"`
	}
	if err := json.Unmarshal(body, &batch); err != nil {
		ctx.SetStatusCode(fasthttp.StatusBadRequest)
		writeJSON(ctx, fail("body is not a JSON object: %v", err))
		return
	}
	if batch.Actions == nil {
		var a action
		if err := json.Unmarshal(body, &a); err != nil {
			ctx.SetStatusCode(fasthttp.StatusBadRequest)
			writeJSON(ctx, fail("invalid action: %v", err))
			return
		}
		c.actions.Add(1)
		writeJSON(ctx, c.act.run(&a))
		return
	}
	if n := len(*batch.Actions); n > maxBatchActions {
		ctx.SetStatusCode(fasthttp.StatusRequestEntityTooLarge)
		writeJSON(ctx, fail("%d actions in one call; at most %d — split the batch", n, maxBatchActions))
		return
	}
	results := make([]result, len(*batch.Actions))
	for i, raw := range *batch.Actions {
		var a action
		if err := json.Unmarshal(raw, &a); err != nil {
			results[i] = fail("invalid action: %v", err)
			continue
		}
		results[i] = c.act.run(&a)
	}
	c.actions.Add(int64(len(results)))
	writeJSON(ctx, result{"ok": true, "results": results})
}

func writeJSON(ctx *fasthttp.RequestCtx, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		b = []byte(`{"ok":false,"error":"encoding the answer failed"}`)
	}
	ctx.SetBody(append(b, '\n'))
}
