package bridge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/phpbridge/phpbridge/internal/fpmtest"
)

// wsHandlerPHP is the handler the WebSocket tests run. It appends every
// event to events.log beside itself (one JSON object a line) and obeys
// commands sent as message text.
const wsHandlerPHP = `<?php
declare(strict_types=1);
$ev = $_SERVER['WS_EVENT'] ?? '';
$fd = $_SERVER['WS_FD'] ?? '';
$body = (string) file_get_contents('php://input');
$result = 'ok';
$out = '';
switch ($ev) {
case 'open':
    if (isset($_GET['auth']) && ($_COOKIE['token'] ?? '') !== 'secret') {
        http_response_code(401);
        header('X-Reason: token');
        $out = 'token required';
        $result = 'refused';
        break;
    }
    $offered = array_map('trim', explode(',', $_SERVER['HTTP_SEC_WEBSOCKET_PROTOCOL'] ?? ''));
    if (in_array('chat.v2', $offered, true)) { header('Sec-WebSocket-Protocol: chat.v2'); }
    if (isset($_GET['bogusproto'])) { header('Sec-WebSocket-Protocol: nope'); }
    if (isset($_GET['cookie'])) { setcookie('session', 'abc123'); }
    if (isset($_GET['greet'])) { $out = "welcome $fd"; }
    if (isset($_GET['openclose'])) { header('X-Phpbridge-Close: 4001 not today'); }
    if (isset($_GET['slowopen'])) { usleep(300000); }
    if (isset($_GET['announce'])) {
        header('Content-Type: application/vnd.phpbridge+json');
        $out = json_encode(['actions' => [['op' => 'broadcast', 'data' => "joined $fd", 'exclude' => [(int) $fd]]]]);
    }
    break;
case 'message':
    if ($body === 'info') {
        $out = json_encode([
            'get' => $_GET, 'cookie' => $_COOKIE, 'remote' => $_SERVER['REMOTE_ADDR'] ?? '',
            'method' => $_SERVER['REQUEST_METHOD'], 'uri' => $_SERVER['REQUEST_URI'],
            'script' => $_SERVER['SCRIPT_FILENAME'], 'opcode' => $_SERVER['WS_OPCODE'] ?? '',
            'ctype' => $_SERVER['CONTENT_TYPE'] ?? '', 'clen' => $_SERVER['CONTENT_LENGTH'] ?? '',
            'control' => $_SERVER['PHPBRIDGE_CONTROL'] ?? '', 'token' => $_SERVER['PHPBRIDGE_TOKEN'] ?? '',
            'ua' => $_SERVER['HTTP_USER_AGENT'] ?? '',
        ]);
    } elseif (str_starts_with($body, 'close:')) {
        header('X-Phpbridge-Close: ' . substr($body, 6));
        $out = 'bye';
    } elseif (str_starts_with($body, 'binary:')) {
        header('X-Phpbridge-Opcode: binary');
        $out = substr($body, 7);
    } elseif (str_starts_with($body, 'sleep:')) {
        [, $ms, $text] = explode(':', $body, 3);
        usleep((int) $ms * 1000);
        $out = $text;
    } elseif (str_starts_with($body, 'rand:')) {
        usleep(random_int(0, 2000));
        $out = substr($body, 5);
    } elseif (str_starts_with($body, 'big:')) {
        $out = str_repeat('x', (int) substr($body, 4));
    } elseif ($body === 'fatal') {
        error_log('about to fail on purpose');
        undefined_function_on_purpose();
    } elseif ($body === 'silent') {
        $out = '';
    } else {
        $out = $body;
    }
    break;
case 'close':
    if (isset($_GET['badstatus'])) { http_response_code(99); } // a handler bug: an invalid status
    break;
}
$rec = [
    'event' => $ev, 'fd' => $fd, 'result' => $result, 'opcode' => $_SERVER['WS_OPCODE'] ?? '',
    'code' => $_SERVER['WS_CLOSE_CODE'] ?? '', 'reason' => $_SERVER['WS_CLOSE_REASON'] ?? '',
    'len' => strlen($body), 'get' => $_GET, 'cookie' => $_COOKIE,
];
file_put_contents(__DIR__ . '/events.log', json_encode($rec) . "\n", FILE_APPEND | LOCK_EX);
echo $out;
`

// wsApp is a real Server with the test handler in front of a real PHP-FPM.
type wsApp struct {
	t      *testing.T
	dir    string
	FPM    *fpmtest.FPM
	Server *Server
	Addr   string // 127.0.0.1:port
	logs   *wsLogSink
	cancel context.CancelFunc
	done   chan error
}

// wsLogSink collects the server's log lines for assertions.
type wsLogSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *wsLogSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if testing.Verbose() {
		os.Stderr.Write(p)
	}
	return s.b.Write(p)
}

func (s *wsLogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWSApp starts PHP-FPM (children) and a server configured by mutate.
func startWSApp(t *testing.T, children int, mutate func(*Config)) *wsApp {
	t.Helper()
	return startWSAppFPM(t, fpmtest.Options{Children: children}, mutate)
}

// startWSAppFPM is startWSApp with the pool's options spelled out.
func startWSAppFPM(t *testing.T, pool fpmtest.Options, mutate func(*Config)) *wsApp {
	t.Helper()
	children := pool.Children
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "public"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ws.php"), []byte(wsHandlerPHP), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &wsApp{t: t, dir: dir, logs: &wsLogSink{}}
	a.FPM = fpmtest.Start(t, pool)
	cfg := Config{
		Listen:          "127.0.0.1:0",
		Root:            filepath.Join(dir, "public"),
		FastCGI:         a.FPM.Address,
		FastCGIMaxConns: children,
		Control:         "unix:" + filepath.Join(dir, "control.sock"),
		ControlToken:    "ws-test-token-0123456789",
		AccessLog:       "off",
		WSHandler:       filepath.Join(dir, "ws.php"),
		ShutdownTimeout: 20 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	log := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	a.Server, a.Addr = srv, srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan error, 1)
	go func() { a.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		a.Stop()
		if t.Failed() && !testing.Verbose() {
			t.Logf("server log:\n%s", a.logs.String())
		}
	})
	return a
}

// Stop shuts the server down gracefully and returns Run's error.
func (a *wsApp) Stop() error {
	if a.cancel == nil {
		return nil
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		return err
	case <-time.After(40 * time.Second):
		a.t.Error("server did not stop within 40s")
		return nil
	}
}

func (a *wsApp) url(query string) string {
	u := "ws://" + a.Addr + "/ws"
	if query != "" {
		u += "?" + query
	}
	return u
}

// dial connects with greet=1 and reads the greeting, returning the fd.
func (a *wsApp) dial(query string, header http.Header) (*websocket.Conn, string) {
	a.t.Helper()
	q := "greet=1"
	if query != "" {
		q += "&" + query
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, resp, err := d.Dial(a.url(q), header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		a.t.Fatalf("dial: %v (status %d)", err, status)
	}
	a.t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, msg, err := c.ReadMessage()
	if err != nil || op != websocket.TextMessage || !strings.HasPrefix(string(msg), "welcome ") {
		a.t.Fatalf("greeting: op %d %q %v", op, msg, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, strings.TrimPrefix(string(msg), "welcome ")
}

// wsRecord is one line of events.log.
type wsRecord struct {
	Event  string            `json:"event"`
	FD     string            `json:"fd"`
	Result string            `json:"result"`
	Opcode string            `json:"opcode"`
	Code   string            `json:"code"`
	Reason string            `json:"reason"`
	Len    int               `json:"len"`
	Get    map[string]string `json:"get"`
	Cookie map[string]string `json:"cookie"`
}

func (a *wsApp) events() []wsRecord {
	a.t.Helper()
	b, err := os.ReadFile(filepath.Join(a.dir, "events.log"))
	if err != nil && !os.IsNotExist(err) {
		a.t.Fatal(err)
	}
	var out []wsRecord
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r wsRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			// PHP decodes an empty $_GET/$_COOKIE as [] (a list).
			line = strings.ReplaceAll(strings.ReplaceAll(line, `"get":[]`, `"get":{}`), `"cookie":[]`, `"cookie":{}`)
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				a.t.Fatalf("events.log line %q: %v", line, err)
			}
		}
		out = append(out, r)
	}
	return out
}

// closes returns the close records of fd.
func (a *wsApp) closes(fd string) []wsRecord {
	var out []wsRecord
	for _, r := range a.events() {
		if r.Event == "close" && r.FD == fd {
			out = append(out, r)
		}
	}
	return out
}

// waitClose waits for fd's close event and checks it came exactly once
// with code (and reason, when not "*").
func (a *wsApp) waitClose(fd string, code int, reason string) wsRecord {
	a.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(a.closes(fd)) == 0 {
		if time.Now().After(deadline) {
			a.t.Fatalf("fd %s: no close event within 15s", fd)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a duplicate would show up now
	cs := a.closes(fd)
	if len(cs) != 1 {
		a.t.Fatalf("fd %s: %d close events, want exactly 1: %+v", fd, len(cs), cs)
	}
	if cs[0].Code != fmt.Sprint(code) || (reason != "*" && cs[0].Reason != reason) {
		a.t.Errorf("fd %s: close code %s reason %q, want %d %q", fd, cs[0].Code, cs[0].Reason, code, reason)
	}
	return cs[0]
}

// checkOneClosePerOpen stops the server (which closes what is still open)
// and asserts that every accepted open got exactly one close event.
func (a *wsApp) checkOneClosePerOpen() {
	a.t.Helper()
	if err := a.Stop(); err != nil {
		a.t.Errorf("Run: %v", err)
	}
	var opens, closes map[string]int
	deadline := time.Now().Add(15 * time.Second)
	for {
		opens, closes = map[string]int{}, map[string]int{}
		for _, r := range a.events() {
			switch {
			case r.Event == "open" && r.Result == "ok":
				opens[r.FD]++
			case r.Event == "close":
				closes[r.FD]++
			}
		}
		if len(closes) >= len(opens) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for fd := range opens {
		if closes[fd] != 1 {
			a.t.Errorf("fd %s: %d close events, want 1", fd, closes[fd])
		}
	}
	for fd := range closes {
		if opens[fd] != 1 {
			a.t.Errorf("fd %s: close event without one accepted open", fd)
		}
	}
}

// readCloseFrame reads until the server's close frame and returns its
// code and reason (1006 and "" if the connection ended without one).
func readCloseCode(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, ce.Text
		}
		t.Fatalf("reading until close: %v", err)
	}
}

// Raw frames, for what a well-behaved client library refuses to send.

// rawWS is a WebSocket client speaking frames by hand.
type rawWS struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
	fd string
}

// rawDial performs the handshake (with greet=1) and reads the greeting.
func (a *wsApp) rawDial(query string) *rawWS {
	a.t.Helper()
	nc, err := net.Dial("tcp", a.Addr)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() { nc.Close() })
	var key [16]byte
	_, _ = rand.Read(key[:])
	q := "greet=1"
	if query != "" {
		q += "&" + query
	}
	fmt.Fprintf(nc, "GET /ws?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n",
		q, a.Addr, base64.StdEncoding.EncodeToString(key[:]))
	r := &rawWS{t: a.t, nc: nc, br: bufio.NewReader(nc)}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		a.t.Fatalf("raw handshake: %v %v", resp, err)
	}
	op, payload := r.readFrame()
	if op != 1 || !strings.HasPrefix(string(payload), "welcome ") {
		a.t.Fatalf("raw greeting: op %d %q", op, payload)
	}
	r.fd = strings.TrimPrefix(string(payload), "welcome ")
	return r
}

// writeFrame sends one frame; first is the first header byte (FIN, RSV,
// opcode) as is.
func (r *rawWS) writeFrame(first byte, masked bool, payload []byte) {
	r.t.Helper()
	var b []byte
	b = append(b, first)
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, mask|byte(n))
	case n < 1<<16:
		b = append(b, mask|126, byte(n>>8), byte(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	p := bytes.Clone(payload)
	if masked {
		key := [4]byte{0x12, 0x34, 0x56, 0x78}
		b = append(b, key[:]...)
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	b = append(b, p...)
	_ = r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.nc.Write(b); err != nil {
		r.t.Logf("raw write: %v", err) // the server may have closed already
	}
}

// readFrame reads one frame (the server never masks). op -1 means the
// connection ended.
func (r *rawWS) readFrame() (op int, payload []byte) {
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return -1, nil
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		_, _ = io.ReadFull(r.br, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		_, _ = io.ReadFull(r.br, l[:])
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		return -1, nil
	}
	return int(h[0] & 0x0f), payload
}

// readClose reads frames until a close frame and returns its code (1005
// for an empty one, -1 when the connection ended without one).
func (r *rawWS) readClose() (int, string) {
	_ = r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		op, p := r.readFrame()
		switch op {
		case -1:
			return -1, ""
		case 8:
			if len(p) < 2 {
				return 1005, ""
			}
			return int(binary.BigEndian.Uint16(p)), string(p[2:])
		}
	}
}
