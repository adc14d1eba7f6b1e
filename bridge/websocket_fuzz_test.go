package bridge

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"
	"github.com/phpbridge/phpbridge/fastcgi"
)

// serverConnOver upgrades the server side of a pipe the way the hub does
// and returns the server's *websocket.Conn.
func serverConnOver(t testing.TB, nc net.Conn, compress bool) *websocket.Conn {
	t.Helper()
	u := websocket.Upgrader{
		WriteBufferPool:   &wsWriteBufferPool,
		EnableCompression: compress,
		CheckOrigin:       func(*http.Request) bool { return true },
	}
	req := &http.Request{Method: http.MethodGet, Header: http.Header{
		"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
		"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="},
	}}
	if compress {
		req.Header["Sec-Websocket-Extensions"] = []string{"permessage-deflate"}
	}
	w := &wsHijacker{conn: nc, rw: bufio.NewReadWriter(bufio.NewReaderSize(nc, wsReadBufferSize), bufio.NewWriterSize(nc, 512))}
	ws, err := u.Upgrade(w, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// maskedFrame builds a client frame.
func maskedFrame(first byte, payload []byte) []byte {
	b := []byte{first}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	key := []byte{1, 2, 3, 4}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

// FuzzWebSocketFrames feeds arbitrary client bytes to the frame reader the
// connections use (the library's parser plus the bridge's size and UTF-8
// checks) and checks what comes out: messages within the limit, text that
// is valid UTF-8, and an ending that maps to a close code the RFC allows.
func FuzzWebSocketFrames(f *testing.F) {
	cat := func(frames ...[]byte) []byte {
		var b []byte
		for _, fr := range frames {
			b = append(b, fr...)
		}
		return b
	}
	f.Add(maskedFrame(0x81, []byte("hello")), false)
	f.Add(cat(maskedFrame(0x01, []byte("caf\xc3")), maskedFrame(0x80, []byte("\xa9"))), false)
	f.Add(maskedFrame(0x81, []byte("bad \xff")), false)
	f.Add(maskedFrame(0x82, make([]byte, 300)), false)
	f.Add(cat(maskedFrame(0x89, []byte("ping")), maskedFrame(0x88, []byte{0x03, 0xe8, 'o', 'k'})), false)
	f.Add(maskedFrame(0x88, []byte{0x03, 0xe7}), false)
	f.Add([]byte{0x81, 0x02, 'h', 'i'}, false)
	f.Add(maskedFrame(0xC1, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), true) // "Hello" deflated
	f.Add(maskedFrame(0xC2, []byte{0x01, 0x00, 0x00, 0xff, 0xff}), true)
	f.Fuzz(func(t *testing.T, data []byte, compress bool) {
		const limit = 256
		server, client := net.Pipe()
		defer server.Close()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		go func() {
			_, _ = client.Write(data)
			client.Close()
		}()
		// Short: an input that stalls the reader must end (as a read error)
		// well before the fuzzer's own deadline for one execution.
		_ = server.SetDeadline(time.Now().Add(300 * time.Millisecond))
		ws := serverConnOver(t, server, compress)
		ws.SetReadLimit(limit)
		for {
			op, buf, err := readWSMessage(ws, limit)
			if err != nil {
				code, reason, _ := classifyReadError(err)
				if !sendableCloseCode(code) && code != closeNoStatus && code != closeAbnormal {
					t.Fatalf("%v → close code %d", err, code)
				}
				if !utf8.ValidString(reason) || len(reason) > maxCloseReason {
					t.Fatalf("%v → reason %q not sendable", err, reason)
				}
				return
			}
			if buf.Len() > limit {
				t.Fatalf("message of %d bytes passed the %d limit", buf.Len(), limit)
			}
			if op == websocket.TextMessage && !utf8.Valid(buf.Bytes()) {
				t.Fatalf("invalid UTF-8 text passed: %q", buf.Bytes())
			}
			putPayloadBuffer(buf)
		}
	})
}

// FuzzWebSocketEventParams checks that an event's params decode to exactly
// what was put in, whatever the close reason or snapshot holds.
func FuzzWebSocketEventParams(f *testing.F) {
	f.Add("HTTP_COOKIE", "a=b; c=d", uint64(114813374763013), 4000, "bye", 12, true)
	f.Add("QUERY_STRING", "", uint64(0), 1006, "", 0, false)
	f.Add("X", string(make([]byte, 300)), uint64(1<<53-1), 1001, "\xff\x00reason", 1<<20, false)
	f.Fuzz(func(t *testing.T, name, value string, fd uint64, code int, reason string, length int, text bool) {
		if name == "" || len(name) > 1000 || wsReplacedParam(name) {
			t.Skip()
		}
		snap := fastcgi.AcquireParams()
		defer fastcgi.ReleaseParams(snap)
		snap.Add(name, value)
		p := fastcgi.AcquireParams()
		defer fastcgi.ReleaseParams(p)
		op := websocket.BinaryMessage
		if text {
			op = websocket.TextMessage
		}
		appendWSEventParams(p, snap.Encoded(), wsEventParams{event: wsEventClose, fd: fd, opcode: op,
			closeCode: code, closeReason: reason, length: length})
		want := map[string]string{
			name: value, "REQUEST_METHOD": "POST", "WS_EVENT": "close",
			"WS_FD": strconv.FormatUint(fd, 10), "WS_CLOSE_CODE": strconv.Itoa(code),
			"WS_CLOSE_REASON": reason, "CONTENT_LENGTH": strconv.Itoa(length),
			"CONTENT_TYPE": "application/octet-stream",
		}
		seen := map[string]int{}
		p.Each(func(n, v string) { seen[n]++ })
		for n, v := range want {
			if got, ok := p.Get(n); !ok || got != v {
				t.Errorf("%s = %q (present %v), want %q", n, got, ok, v)
			}
		}
		for n, k := range seen {
			if k != 1 {
				t.Errorf("%s sent %d times", n, k)
			}
		}
	})
}

// FuzzWebSocketCloseHeader checks that whatever PHP puts in
// X-Phpbridge-Close becomes a close frame a client accepts.
func FuzzWebSocketCloseHeader(f *testing.F) {
	for _, s := range []string{"4000 bye", "1000", "", "abc", "999 x", "1005", "4001 " + string(make([]byte, 200)), "1000 caf\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		code, reason, _ := parseCloseHeader(v)
		if !sendableCloseCode(code) {
			t.Fatalf("%q → unsendable code %d", v, code)
		}
		if !utf8.ValidString(reason) || len(reason) > maxCloseReason {
			t.Fatalf("%q → reason %q (%d bytes) not sendable", v, reason, len(reason))
		}
		if msg := websocket.FormatCloseMessage(code, reason); len(msg) > 125 {
			t.Fatalf("close payload %d bytes", len(msg))
		}
	})
}
