package bridge

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// Every way a connection ends gives PHP exactly one close event with the
// code the client saw.
func TestWebSocketClosePaths(t *testing.T) {
	a := startWSApp(t, 4, func(c *Config) {
		c.WSPingInterval = 100 * time.Millisecond
		c.WSIdleTimeout = 600 * time.Millisecond
	})

	t.Run("client close frame", func(t *testing.T) {
		c, fd := a.dial("", nil)
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4321, "done here"))
		if code, _ := readCloseCode(t, c); code != 4321 {
			t.Errorf("echo %d, want 4321", code)
		}
		a.waitClose(fd, 4321, "done here")
	})
	t.Run("client close frame without code", func(t *testing.T) {
		r := a.rawDial("")
		r.writeFrame(0x88, true, nil)
		r.readClose()
		a.waitClose(r.fd, closeNoStatus, "")
	})
	t.Run("peer vanished", func(t *testing.T) {
		c, fd := a.dial("", nil)
		c.NetConn().Close()
		a.waitClose(fd, closeAbnormal, "")
	})
	t.Run("idle timeout", func(t *testing.T) {
		r := a.rawDial("") // never answers pings
		code, reason := r.readClose()
		if code != closeGoingAway || reason != "idle timeout" {
			t.Errorf("client got %d %q, want 1001 idle timeout", code, reason)
		}
		a.waitClose(r.fd, closeGoingAway, "idle timeout")
	})
	t.Run("live client is not idle", func(t *testing.T) {
		c, fd := a.dial("", nil)
		go func() { // answers pings while reading
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		time.Sleep(1500 * time.Millisecond)
		if cs := a.closes(fd); len(cs) != 0 {
			t.Fatalf("a client answering pings was closed: %+v", cs)
		}
	})
	t.Run("php closes", func(t *testing.T) {
		c, fd := a.dial("", nil)
		_ = c.WriteMessage(websocket.TextMessage, []byte("close:4002 done with you"))
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "bye" {
			t.Fatalf("reply before the close: %q %v", msg, err)
		}
		code, reason := readCloseCode(t, c)
		if code != 4002 || reason != "done with you" {
			t.Errorf("client got %d %q, want 4002 done with you", code, reason)
		}
		a.waitClose(fd, 4002, "done with you")
	})
	t.Run("php closes at open", func(t *testing.T) {
		c, fd := a.dial("openclose=1", nil)
		if code, reason := readCloseCode(t, c); code != 4001 || reason != "not today" {
			t.Errorf("client got %d %q, want 4001 not today", code, reason)
		}
		a.waitClose(fd, 4001, "not today")
	})
	t.Run("php close header without a code", func(t *testing.T) {
		c, fd := a.dial("", nil)
		_ = c.WriteMessage(websocket.TextMessage, []byte("close:whatever"))
		if code, _ := readCloseCode(t, c); code != closeNormal {
			t.Errorf("client got %d, want 1000", code)
		}
		a.waitClose(fd, closeNormal, "whatever")
	})
	a.checkOneClosePerOpen()
}

// RFC 6455 violations close with the code the RFC asks for, sent to the
// client and reported to PHP.
func TestWebSocketProtocolViolations(t *testing.T) {
	a := startWSApp(t, 4, func(c *Config) { c.WSMaxMessageSize = 1024 })
	closePayload := func(code int, reason string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
	}
	tests := []struct {
		name   string
		frames func(r *rawWS)
		want   int
	}{
		{"unmasked frame", func(r *rawWS) { r.writeFrame(0x81, false, []byte("hi")) }, closeProtocolError},
		{"RSV1 without deflate", func(r *rawWS) { r.writeFrame(0xC1, true, []byte("hi")) }, closeProtocolError},
		{"RSV2", func(r *rawWS) { r.writeFrame(0xA1, true, []byte("hi")) }, closeProtocolError},
		{"RSV3", func(r *rawWS) { r.writeFrame(0x91, true, []byte("hi")) }, closeProtocolError},
		{"reserved data opcode 3", func(r *rawWS) { r.writeFrame(0x83, true, []byte("hi")) }, closeProtocolError},
		{"reserved control opcode 11", func(r *rawWS) { r.writeFrame(0x8B, true, nil) }, closeProtocolError},
		{"fragmented ping", func(r *rawWS) { r.writeFrame(0x09, true, []byte("p")) }, closeProtocolError},
		{"ping over 125 bytes", func(r *rawWS) { r.writeFrame(0x89, true, bytes.Repeat([]byte("p"), 126)) }, closeProtocolError},
		{"continuation without start", func(r *rawWS) { r.writeFrame(0x80, true, []byte("x")) }, closeProtocolError},
		{"new message inside a fragmented one", func(r *rawWS) {
			r.writeFrame(0x01, true, []byte("a"))
			r.writeFrame(0x81, true, []byte("b"))
		}, closeProtocolError},
		{"invalid close code", func(r *rawWS) { r.writeFrame(0x88, true, closePayload(999, "")) }, closeProtocolError},
		{"close reason not UTF-8", func(r *rawWS) { r.writeFrame(0x88, true, closePayload(1000, "\xff\xfe")) }, closeProtocolError},
		{"invalid UTF-8 text", func(r *rawWS) { r.writeFrame(0x81, true, []byte("ok \xc3\x28 no")) }, closeInvalidData},
		{"UTF-8 split across fragments is fine, broken is not", func(r *rawWS) {
			r.writeFrame(0x01, true, []byte("caf\xc3"))
			r.writeFrame(0x80, true, []byte("\xa9\xff"))
		}, closeInvalidData},
		{"too big in one frame", func(r *rawWS) { r.writeFrame(0x82, true, make([]byte, 2000)) }, closeTooBig},
		{"too big in fragments", func(r *rawWS) {
			r.writeFrame(0x02, true, make([]byte, 600))
			r.writeFrame(0x80, true, make([]byte, 600))
		}, closeTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.rawDial("")
			tt.frames(r)
			code, _ := r.readClose()
			if code != tt.want {
				t.Errorf("client got close %d, want %d", code, tt.want)
			}
			a.waitClose(r.fd, tt.want, "*")
		})
	}
	t.Run("valid UTF-8 across fragments", func(t *testing.T) {
		r := a.rawDial("")
		r.writeFrame(0x01, true, []byte("caf\xc3"))
		r.writeFrame(0x80, true, []byte("\xa9"))
		_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if op, p := r.readFrame(); op != 1 || string(p) != "café" {
			t.Errorf("got op %d %q, want the echo of café", op, p)
		}
	})
	t.Run("exactly the limit", func(t *testing.T) {
		r := a.rawDial("")
		r.writeFrame(0x82, true, make([]byte, 1024))
		_ = r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if op, p := r.readFrame(); op != 2 || len(p) != 1024 {
			t.Errorf("got op %d %d bytes, want a 1024-byte echo", op, len(p))
		}
	})
	a.checkOneClosePerOpen()
}

// A client that leaves while PHP is still deciding on open: PHP accepted,
// so it gets the close event (1006), exactly once, although the client
// never saw the 101.
func TestWebSocketClientGoneDuringOpen(t *testing.T) {
	a := startWSApp(t, 2, nil)
	for range 3 {
		vanishDuringOpen(t, a, "slowopen=1")
	}
	waitUntil(t, 10*time.Second, "three close events", func() bool {
		n := 0
		for _, r := range a.events() {
			if r.Event == "close" {
				n++
			}
		}
		return n == 3
	})
	for _, r := range a.events() {
		if r.Event == "close" && r.Code != "1006" {
			t.Errorf("close event %+v, want 1006", r)
		}
	}
	a.checkOneClosePerOpen()
}

// The actions of an open answer run even when the client left before the
// 101: the others hear that it joined, then (from its close event) that it
// left, never only the latter.
func TestWebSocketClientGoneDuringOpenStillRunsOpenActions(t *testing.T) {
	a := startWSApp(t, 2, nil)
	other, _ := a.dial("", nil)
	vanishDuringOpen(t, a, "slowopen=1&announce=1")
	_ = other.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := other.ReadMessage()
	if err != nil {
		t.Fatalf("the other client got no announcement: %v", err)
	}
	if !strings.HasPrefix(string(msg), "joined ") {
		t.Errorf("the other client got %q, want the open's broadcast", msg)
	}
	waitUntil(t, 10*time.Second, "the lost client's close event", func() bool {
		return len(a.closes(strings.TrimPrefix(string(msg), "joined "))) == 1
	})
}

// vanishDuringOpen sends an upgrade request with query and resets the
// connection while PHP runs its (slow) open event.
func vanishDuringOpen(t *testing.T, a *wsApp, query string) {
	t.Helper()
	nc, err := net.Dial("tcp", a.Addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = nc.Write([]byte("GET /ws?" + query + " HTTP/1.1\r\nHost: " + a.Addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"))
	time.Sleep(50 * time.Millisecond)  // PHP is in the open event now
	_ = nc.(*net.TCPConn).SetLinger(0) // RST: the bridge's writes fail at once
	nc.Close()
}
