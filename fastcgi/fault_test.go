package fastcgi_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/phpbridge/phpbridge/internal/fpmtest"
)

// fakeFPM accepts connections, drains the request and answers with raw
// bytes: a stand-in for a broken FastCGI server (unit-testing our parser,
// not PHP).
func fakeFPM(t *testing.T, answer func(c net.Conn)) (network, addr string) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "fake.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				readUntilEmptyStdin(c)
				answer(c)
			}()
		}
	}()
	return "unix", ln.Addr().String()
}

// readUntilEmptyStdin consumes records up to the empty FCGI_STDIN.
func readUntilEmptyStdin(c net.Conn) {
	h := make([]byte, 8)
	for {
		if _, err := io.ReadFull(c, h); err != nil {
			return
		}
		n := int(h[4])<<8 | int(h[5]) + int(h[6])
		if _, err := io.CopyN(io.Discard, c, int64(n)); err != nil {
			return
		}
		if h[1] == 5 && n == 0 {
			return
		}
	}
}

func rec(typ byte, content string) string {
	n := len(content)
	return string([]byte{1, typ, 0, 1, byte(n >> 8), byte(n), 0, 0}) + content
}

func endRequest(protocolStatus byte) string {
	return rec(3, string([]byte{0, 0, 0, 0, protocolStatus, 0, 0, 0}))
}

func TestGarbageResponses(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   error
	}{
		{"http instead of fastcgi", "HTTP/1.1 200 OK\r\n\r\nhello", fastcgi.ErrProtocol},
		{"closed before anything", "", fastcgi.ErrProtocol},
		{"closed mid headers", rec(6, "Content-Type: text/html\r\n"), fastcgi.ErrProtocol},
		{"bad status", rec(6, "Status: abc\r\n\r\n") + endRequest(0), fastcgi.ErrProtocol},
		{"header line without colon", rec(6, "garbage line\r\n\r\n") + endRequest(0), fastcgi.ErrProtocol},
		{"unknown record type", rec(42, "x"), fastcgi.ErrProtocol},
		{"wrong request id", string([]byte{1, 6, 0, 9, 0, 0, 0, 0}), fastcgi.ErrProtocol},
		{"overloaded", endRequest(2), fastcgi.ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network, addr := fakeFPM(t, func(c net.Conn) { io.WriteString(c, tt.answer) })
			c := fastcgi.New(fastcgi.Config{Network: network, Address: addr, ReadTimeout: 2 * time.Second})
			defer c.Close()
			resp, err := c.Do(context.Background(), &fastcgi.Request{Params: params("/x.php")})
			if err == nil {
				_, err = resp.ReadAll()
				resp.Close()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if c.InFlight() != 0 {
				t.Fatal("slot leaked")
			}
		})
	}
}

func TestResponseParsing(t *testing.T) {
	long := strings.Repeat("p", 70000) // a header line longer than one record
	tests := []struct {
		name       string
		answer     string
		status     int
		header     string
		headerWant string
		body       string
	}{
		{"no headers at all", rec(6, "Status: 204 No Content\r\n") + endRequest(0), 204, "", "", ""},
		{"location implies 302", rec(6, "Location: /x\r\n\r\n") + endRequest(0), 302, "Location", "/x", ""},
		{"lf only", rec(6, "X-A: 1\n\nbody") + endRequest(0), 200, "X-A", "1", "body"},
		{"headers split across records", rec(6, "X-Sp") + rec(6, "lit: yes\r") + rec(6, "\n\r\nB") + rec(6, "ODY") + endRequest(0), 200, "X-Split", "yes", "BODY"},
		{"stderr interleaved", rec(7, "warn 1\n") + rec(6, "X-A: 1\r\n\r\nhi") + rec(7, "warn 2") + endRequest(0), 200, "X-A", "1", "hi"},
		{"header longer than a record", rec(6, "X-Long: "+long[:65000]) + rec(6, long[65000:]+"\r\n\r\nok") + endRequest(0), 200, "X-Long", long, "ok"},
		{"hop-by-hop dropped", rec(6, "Connection: close\r\nTransfer-Encoding: chunked\r\nX-B: 2\r\n\r\n") + endRequest(0), 200, "Connection", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network, addr := fakeFPM(t, func(c net.Conn) { io.WriteString(c, tt.answer) })
			var mu sync.Mutex
			var stderr []string
			c := fastcgi.New(fastcgi.Config{Network: network, Address: addr, Stderr: func(l []byte) {
				mu.Lock()
				stderr = append(stderr, string(l))
				mu.Unlock()
			}})
			defer c.Close()
			resp, err := c.Do(context.Background(), &fastcgi.Request{Params: params("/x.php")})
			if err != nil {
				t.Fatal(err)
			}
			body, err := resp.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || string(body) != tt.body {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			if tt.header != "" && string(resp.Header.Peek(tt.header)) != tt.headerWant {
				t.Fatalf("%s = %.40q, want %.40q", tt.header, resp.Header.Peek(tt.header), tt.headerWant)
			}
			resp.Close()
			if strings.Contains(tt.name, "stderr") && strings.Join(stderr, "|") != "warn 1|warn 2" {
				t.Fatalf("stderr lines %q", stderr)
			}
		})
	}
}

func TestTimeoutAbortsAndFrees(t *testing.T) {
	f := fpmtest.Start(t, fpmtest.Options{Children: 1})
	dir := t.TempDir()
	slow := script(t, dir, "slow.php", `<?php sleep(3); echo "late";`)
	fast := script(t, dir, "fast.php", `<?php echo "fast";`)
	c := newClient(t, f, fastcgi.Config{MaxConns: 1, ReadTimeout: 300 * time.Millisecond})
	_, err := c.Do(context.Background(), &fastcgi.Request{Params: params(slow)})
	if !errors.Is(err, fastcgi.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if c.InFlight() != 0 || c.IdleConns() != 0 {
		t.Fatalf("after timeout: in flight %d, idle %d (the connection must be dropped)", c.InFlight(), c.IdleConns())
	}
	// The only child is still sleeping; once it finishes, the next request works.
	c2 := newClient(t, f, fastcgi.Config{MaxConns: 1, ReadTimeout: 10 * time.Second})
	_, body, resp := do(t, c2, &fastcgi.Request{Params: params(fast)})
	resp.Close()
	if body != "fast" {
		t.Fatalf("body %q", body)
	}
}

func TestCancelAbortsRead(t *testing.T) {
	f := fpmtest.Start(t, fpmtest.Options{Children: 1})
	slow := script(t, t.TempDir(), "slow.php", `<?php while (ob_get_level()) { ob_end_flush(); } echo "a"; flush(); sleep(5); echo "b";`)
	c := newClient(t, f, fastcgi.Config{MaxConns: 1})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := c.Do(ctx, &fastcgi.Request{Params: params(slow)})
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err = resp.ReadAll()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatal("cancel did not interrupt the blocked read")
	}
	resp.Close()
	if c.InFlight() != 0 {
		t.Fatal("slot leaked")
	}
}

func TestQueueTimeoutBusy(t *testing.T) {
	f := fpmtest.Start(t, fpmtest.Options{Children: 1})
	slow := script(t, t.TempDir(), "slow.php", `<?php usleep(800000); echo "x";`)
	c := newClient(t, f, fastcgi.Config{MaxConns: 1, QueueTimeout: 100 * time.Millisecond})
	resp, err := c.Do(context.Background(), &fastcgi.Request{Params: params(slow)})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Close()
	if _, err := c.Do(context.Background(), &fastcgi.Request{Params: params(slow)}); !errors.Is(err, fastcgi.ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}

func TestUnavailable(t *testing.T) {
	c := fastcgi.New(fastcgi.Config{Network: "unix", Address: filepath.Join(t.TempDir(), "none.sock")})
	defer c.Close()
	if _, err := c.Do(context.Background(), &fastcgi.Request{Params: params("/x.php")}); !errors.Is(err, fastcgi.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if c.InFlight() != 0 {
		t.Fatal("slot leaked")
	}
}

func TestStaleIdleConnectionRetried(t *testing.T) {
	f := fpmtest.Start(t, fpmtest.Options{Children: 2})
	hello := script(t, t.TempDir(), "pid.php", `<?php echo getmypid();`)
	c := newClient(t, f, fastcgi.Config{MaxConns: 2})
	for i := 0; i < 2; i++ {
		_, _, resp := do(t, c, &fastcgi.Request{Params: params(hello)})
		resp.Close()
	}
	f.Restart()
	for i := 0; i < 4; i++ {
		code, _, resp := do(t, c, &fastcgi.Request{Params: params(hello)})
		resp.Close()
		if code != 200 {
			t.Fatalf("status %d", code)
		}
	}
}
