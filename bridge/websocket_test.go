package bridge

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

func TestWebSocketEcho(t *testing.T) {
	a := startWSApp(t, 2, nil)
	c, _ := a.dial("", nil)

	big := bytes.Repeat([]byte{0, 1, 2, 0xff, 'x'}, 40000) // 200 KB, not UTF-8
	tests := []struct {
		name     string
		op       int
		send     []byte
		wantOp   int
		wantData []byte
	}{
		{"text", websocket.TextMessage, []byte("héllo wörld"), websocket.TextMessage, []byte("héllo wörld")},
		{"binary with NUL bytes", websocket.BinaryMessage, []byte{0, 0xfe, 0, 'a'}, websocket.BinaryMessage, []byte{0, 0xfe, 0, 'a'}},
		{"big binary", websocket.BinaryMessage, big, websocket.BinaryMessage, big},
		{"php switches text to binary", websocket.TextMessage, []byte("binary:raw"), websocket.BinaryMessage, []byte("raw")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.WriteMessage(tt.op, tt.send); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			op, got, err := c.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			if op != tt.wantOp || !bytes.Equal(got, tt.wantData) {
				t.Errorf("got op %d %d bytes %.40q, want op %d %d bytes", op, len(got), got, tt.wantOp, len(tt.wantData))
			}
		})
	}

	t.Run("empty answer sends nothing", func(t *testing.T) {
		_ = c.WriteMessage(websocket.TextMessage, []byte("silent"))
		_ = c.WriteMessage(websocket.TextMessage, []byte("next"))
		_, got, err := c.ReadMessage()
		if err != nil || string(got) != "next" {
			t.Fatalf("got %q %v, want the reply to the second message", got, err)
		}
	})
	t.Run("fragmented message is reassembled", func(t *testing.T) {
		w, err := c.NextWriter(websocket.TextMessage)
		if err != nil {
			t.Fatal(err)
		}
		// The library writes a frame per buffer's worth; force several.
		for range 10 {
			_, _ = w.Write(bytes.Repeat([]byte("ab"), 3000))
		}
		_ = w.Close()
		_, got, err := c.ReadMessage()
		if err != nil || len(got) != 60000 {
			t.Fatalf("got %d bytes %v, want 60000", len(got), err)
		}
	})
}

func TestWebSocketEventParams(t *testing.T) {
	a := startWSApp(t, 2, nil)
	h := http.Header{"Cookie": {"sid=s3cr3t; theme=dark"}, "User-Agent": {"ws-test/1.0"}}
	c, fd := a.dial("room=lobby&x=1", h)
	_ = c.WriteMessage(websocket.TextMessage, []byte("info"))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Get     map[string]string `json:"get"`
		Cookie  map[string]string `json:"cookie"`
		Remote  string            `json:"remote"`
		Method  string            `json:"method"`
		URI     string            `json:"uri"`
		Script  string            `json:"script"`
		Opcode  string            `json:"opcode"`
		Ctype   string            `json:"ctype"`
		Clen    string            `json:"clen"`
		Control string            `json:"control"`
		Token   string            `json:"token"`
		UA      string            `json:"ua"`
	}
	if err := json.Unmarshal(msg, &info); err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	checks := []struct{ name, got, want string }{
		{"$_GET[room]", info.Get["room"], "lobby"},
		{"$_COOKIE[sid]", info.Cookie["sid"], "s3cr3t"},
		{"$_COOKIE[theme]", info.Cookie["theme"], "dark"},
		{"REMOTE_ADDR", info.Remote, "127.0.0.1"},
		{"REQUEST_METHOD", info.Method, "POST"},
		{"REQUEST_URI", info.URI, "/ws?greet=1&room=lobby&x=1"},
		{"SCRIPT_FILENAME", info.Script, a.Server.cfg.WSHandler},
		{"WS_OPCODE", info.Opcode, "text"},
		{"CONTENT_TYPE", info.Ctype, "application/octet-stream"},
		{"CONTENT_LENGTH", info.Clen, "4"},
		{"PHPBRIDGE_CONTROL", info.Control, a.Server.cfg.Control},
		{"PHPBRIDGE_TOKEN", info.Token, a.Server.cfg.ControlToken},
		{"HTTP_USER_AGENT", info.UA, "ws-test/1.0"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}

	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye now"))
	code, _ := readCloseCode(t, c)
	if code != 4000 {
		t.Errorf("echoed close code %d, want 4000", code)
	}
	rec := a.waitClose(fd, 4000, "bye now")
	if rec.Cookie["sid"] != "s3cr3t" || rec.Get["room"] != "lobby" {
		t.Errorf("close event lost the upgrade request: cookie %v get %v", rec.Cookie, rec.Get)
	}
	for _, r := range a.events() {
		if r.FD == fd && (r.Get["room"] != "lobby" || r.Cookie["sid"] != "s3cr3t") {
			t.Errorf("%s event without cookie/query: %+v", r.Event, r)
		}
	}
}

func TestWebSocketOpenRefusal(t *testing.T) {
	a := startWSApp(t, 2, nil)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}

	_, resp, err := d.Dial(a.url("auth=1"), nil)
	if err == nil {
		t.Fatal("handshake without token succeeded")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %v, want 401 (%v)", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "token required" || resp.Header.Get("X-Reason") != "token" {
		t.Errorf("refusal body %q header %q, want PHP's", body, resp.Header.Get("X-Reason"))
	}

	c, fd := a.dial("auth=1", http.Header{"Cookie": {"token=secret"}})
	_ = c.WriteMessage(websocket.TextMessage, []byte("hi"))
	if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "hi" {
		t.Fatalf("after auth: %q %v", msg, err)
	}
	c.Close()
	a.waitClose(fd, closeAbnormal, "")

	for _, r := range a.events() {
		if r.Event == "close" && r.FD != fd {
			t.Errorf("a refused handshake got a close event: %+v", r)
		}
	}
}

func TestWebSocketHandshakeHeaders(t *testing.T) {
	a := startWSApp(t, 2, nil)
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{"chat.v1", "chat.v2"}}
	c, resp, err := d.Dial(a.url("cookie=1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Subprotocol() != "chat.v2" {
		t.Errorf("subprotocol %q, want chat.v2 (chosen by PHP)", c.Subprotocol())
	}
	if sc := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "session=abc123") {
		t.Errorf("Set-Cookie on the 101 = %q, want session=abc123", sc)
	}

	// A protocol the client did not offer is not sent (the client would
	// fail the connection).
	d.Subprotocols = []string{"chat.v1"}
	c2, _, err := d.Dial(a.url("bogusproto=1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.Subprotocol() != "" {
		t.Errorf("subprotocol %q, want none", c2.Subprotocol())
	}
	if !strings.Contains(a.logs.String(), "subprotocol the client did not offer") {
		t.Error("no warning about PHP's subprotocol")
	}
}

func TestWebSocketHandshakeChecks(t *testing.T) {
	a := startWSApp(t, 2, func(c *Config) { c.WSAllowedOrigins = []string{"https://app.example.com"} })
	client := &http.Client{Timeout: 5 * time.Second}
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"plain GET", "GET", nil, http.StatusUpgradeRequired},
		{"POST", "POST", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, http.StatusMethodNotAllowed},
		{"old version", "GET", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusUpgradeRequired},
		{"bad key", "GET", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"}, http.StatusBadRequest},
		{"foreign origin", "GET", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, "http://"+a.Addr+"/ws", nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if n := len(a.events()); n != 0 {
		t.Errorf("PHP saw %d events for handshakes refused by the bridge", n)
	}

	for _, origin := range []string{"https://app.example.com", "http://" + a.Addr} {
		c, _ := a.dial("", http.Header{"Origin": {origin}})
		c.Close()
	}
}

func TestWebSocketPings(t *testing.T) {
	a := startWSApp(t, 2, func(c *Config) {
		c.WSPingInterval = 50 * time.Millisecond
		c.WSIdleTimeout = 2 * time.Second
	})
	c, _ := a.dial("", nil)
	pings := make(chan struct{}, 100)
	c.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for i := range 3 {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatalf("ping %d never came", i+1)
		}
	}
	// Our own ping is answered.
	pong := make(chan string, 1)
	c.SetPongHandler(func(s string) error { pong <- s; return nil })
	_ = c.WriteControl(websocket.PingMessage, []byte("p1"), time.Now().Add(time.Second))
	select {
	case s := <-pong:
		if s != "p1" {
			t.Errorf("pong %q, want p1", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
}

func TestWebSocketCompression(t *testing.T) {
	a := startWSApp(t, 2, func(c *Config) {
		c.WSCompression = true
		c.WSMaxMessageSize = 64 << 10
	})
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: true}
	c, resp, err := d.Dial(a.url(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !strings.Contains(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate") {
		t.Fatalf("permessage-deflate not negotiated: %q", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	msg := strings.Repeat("compress me ", 1000)
	_ = c.WriteMessage(websocket.TextMessage, []byte(msg))
	if _, got, err := c.ReadMessage(); err != nil || string(got) != msg {
		t.Fatalf("echo through deflate: %d bytes %v", len(got), err)
	}
	// 1 MiB of zeros deflates to about 1 KiB: under the limit on the wire,
	// far over it inflated.
	_ = c.WriteMessage(websocket.BinaryMessage, make([]byte, 1<<20))
	if code, _ := readCloseCode(t, c); code != closeTooBig {
		t.Errorf("deflate bomb: close %d, want 1009", code)
	}
	a.checkOneClosePerOpen()
}

// Over TLS the hijacked connection is a *tls.Conn: no raw socket to park
// on, and the unwrapping must not corrupt the TLS stream.
func TestWebSocketTLS(t *testing.T) {
	certFile, keyFile := wsSelfSignedCert(t)
	a := startWSApp(t, 2, func(c *Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.WSIdleTimeout = 2 * time.Second
		c.WSPingInterval = time.Second
	})
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	c, _, err := d.Dial("wss://"+a.Addr+"/ws?greet=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, msg, err := c.ReadMessage()
	if err != nil || !strings.HasPrefix(string(msg), "welcome ") {
		t.Fatalf("greeting %q %v", msg, err)
	}
	fd := strings.TrimPrefix(string(msg), "welcome ")
	for _, s := range []string{"one", strings.Repeat("two", 5000), "three"} {
		_ = c.WriteMessage(websocket.TextMessage, []byte(s))
		if _, got, err := c.ReadMessage(); err != nil || string(got) != s {
			t.Fatalf("echo over TLS: %d bytes %v", len(got), err)
		}
	}
	_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "tls bye"))
	readCloseCode(t, c)
	a.waitClose(fd, 4000, "tls bye")
}

func wsSelfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// A client that sends its first frame together with the handshake (before
// the 101) loses nothing: the bytes fasthttp had already buffered are
// replayed before the socket.
func TestWebSocketFrameBeforeHandshakeAnswer(t *testing.T) {
	a := startWSApp(t, 2, nil)
	nc, err := net.Dial("tcp", a.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET /ws?greet=1 HTTP/1.1\r\nHost: " + a.Addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), maskedFrame(0x81, []byte("early bird"))...)); err != nil {
		t.Fatal(err)
	}
	r := &rawWS{t: t, nc: nc, br: bufio.NewReader(nc)}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(r.br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if op, p := r.readFrame(); op != 1 || !strings.HasPrefix(string(p), "welcome ") {
		t.Fatalf("greeting: %d %q", op, p)
	}
	if op, p := r.readFrame(); op != 1 || string(p) != "early bird" {
		t.Fatalf("echo of the early frame: %d %q", op, p)
	}
}

// A broadcast is one shared message (its frame built once per variant):
// clients with and without permessage-deflate both get it intact.
func TestWebSocketBroadcastToCompressedAndPlainClients(t *testing.T) {
	a := startWSApp(t, 2, func(c *Config) { c.WSCompression = true })
	var clients []*websocket.Conn
	for _, deflate := range []bool{true, false, true} {
		d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: deflate}
		c, _, err := d.Dial(a.url(""), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	waitUntil(t, 5*time.Second, "three connections", func() bool { return len(a.Server.ws.liveFDs()) == 3 })
	msg := strings.Repeat("to everyone ", 2000)
	b64 := base64.StdEncoding.EncodeToString([]byte(msg))
	if res := a.Server.act.run(&action{Op: "broadcast", DataBase64: &b64}); res["sent"] != 3 {
		t.Fatalf("broadcast: %v", res)
	}
	for i, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		op, got, err := c.ReadMessage()
		if err != nil || op != websocket.BinaryMessage || string(got) != msg {
			t.Errorf("client %d: opcode %d, %d bytes, %v", i, op, len(got), err)
		}
	}
}
