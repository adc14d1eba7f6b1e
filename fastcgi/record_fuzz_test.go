package fastcgi

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzParams checks that any name/value list survives the wire encoding.
func FuzzParams(f *testing.F) {
	f.Add("SCRIPT_FILENAME", "/var/www/index.php", "X", string(bytes.Repeat([]byte("v"), 300)))
	f.Add("", "", "\x80", "\xff\x00")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		var p Params
		p.Add(n1, v1)
		p.AddBytes(n2, []byte(v2))
		var got [][2]string
		if !parseNameValues(p.encoded(), func(n, v string) { got = append(got, [2]string{n, v}) }) {
			t.Fatal("encoding did not parse back")
		}
		if len(got) != 2 || got[0] != [2]string{n1, v1} || got[1] != [2]string{n2, v2} {
			t.Fatalf("round trip: %q", got)
		}
	})
}

// FuzzResponse feeds arbitrary bytes as PHP-FPM's answer: the client must
// return a response or an error, never panic or hang.
func FuzzResponse(f *testing.F) {
	f.Add([]byte("\x01\x06\x00\x01\x00\x0dX-A: 1\r\n\r\nhi\x00\x00\x01\x03\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Add([]byte("\x01\x07\x00\x01\x00\x03err\x01\x06\x00\x01\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, answer []byte) {
		client, server := net.Pipe()
		go func() {
			br := bufio.NewReader(server)
			h := make([]byte, 8)
			for {
				if _, err := io.ReadFull(br, h); err != nil {
					return
				}
				n := int(h[4])<<8 | int(h[5]) + int(h[6])
				io.CopyN(io.Discard, br, int64(n))
				if h[1] == typeStdin && n == 0 {
					break
				}
			}
			server.Write(answer)
			server.Close()
		}()
		c := New(Config{Network: "pipe", ReadTimeout: time.Second})
		defer c.Close()
		cn := newConn(client)
		resp := newResponse(c, cn, context.Background())
		c.slots <- struct{}{}
		err := resp.start(&Request{Params: &Params{}})
		if err == nil {
			resp.ReadAll()
		}
		resp.Close()
	})
}
