package fastcgi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/fastcgi"
)

// When may a request be sent again after its connection failed? Only when
// PHP cannot have run it, or when running it twice is harmless. These
// tests drive the client against fake FastCGI servers over TCP, where a
// stale connection and a script that died look alike on the wire.

// readStdin reads one request's records up to the empty FCGI_STDIN and
// returns the stdin bytes.
func readStdin(c net.Conn) ([]byte, error) {
	h := make([]byte, 8)
	var stdin []byte
	for {
		if _, err := io.ReadFull(c, h); err != nil {
			return nil, err
		}
		clen := int(h[4])<<8 | int(h[5])
		buf := make([]byte, clen+int(h[6]))
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, err
		}
		if h[1] == 5 {
			if clen == 0 {
				return stdin, nil
			}
			stdin = append(stdin, buf[:clen]...)
		}
	}
}

// fakeTCP serves each accepted connection (numbered from 1) with serve.
func fakeTCP(t *testing.T, serve func(conn int, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			i := int(n.Add(1))
			go func() { defer c.Close(); serve(i, c) }()
		}
	}()
	return ln.Addr().String()
}

func answer(body string) []byte {
	return []byte(rec(6, "Status: 200\r\n\r\n"+body) + rec(6, "") + endRequest(0))
}

// diesOnSecondRequest is a fake whose first connection reads the second
// request whole and, after runFor, closes without answering: with a long
// runFor a script that ran and died (a segfault, request_terminate_timeout,
// the OOM killer); with none a child recycled by pm.max_requests reading
// away a request that arrived after its last answer.
func diesOnSecondRequest(seen *atomic.Int32, runFor time.Duration) func(int, net.Conn) {
	return func(conn int, c net.Conn) {
		for req := 1; ; req++ {
			if _, err := readStdin(c); err != nil {
				return
			}
			seen.Add(1)
			if conn == 1 && req == 2 {
				time.Sleep(runFor)
				return
			}
			c.Write(answer("ok"))
		}
	}
}

func doTwice(t *testing.T, c *fastcgi.Client, idempotent bool) error {
	t.Helper()
	var last error
	for i := 0; i < 2; i++ {
		p := fastcgi.AcquireParams()
		resp, err := c.Do(context.Background(), &fastcgi.Request{Params: p, Body: bytes.NewReader([]byte("post to chat")), Idempotent: idempotent})
		fastcgi.ReleaseParams(p)
		if err != nil {
			last = err
			continue
		}
		if _, err := resp.ReadAll(); err != nil {
			t.Fatal(err)
		}
		resp.Close()
	}
	return last
}

func TestNonIdempotentRequestIsNotReplayedAfterPHPRanIt(t *testing.T) {
	var seen atomic.Int32
	c := fastcgi.New(fastcgi.Config{Network: "tcp", Address: fakeTCP(t, diesOnSecondRequest(&seen, 1100*time.Millisecond))})
	defer c.Close()
	err := doTwice(t, c, false)
	if !errors.Is(err, fastcgi.ErrProtocol) {
		t.Errorf("second request: err %v, want ErrProtocol (PHP-FPM closed the connection while it ran)", err)
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("PHP saw %d requests for 2 calls of Do, want 2: a POST ran twice", n)
	}
}

// A request dropped unanswered at once (the recycled child's drain) never
// ran: it is retried even when it is a POST.
func TestRequestDroppedByARecycledChildIsRetried(t *testing.T) {
	var seen atomic.Int32
	c := fastcgi.New(fastcgi.Config{Network: "tcp", Address: fakeTCP(t, diesOnSecondRequest(&seen, 0))})
	defer c.Close()
	if err := doTwice(t, c, false); err != nil {
		t.Fatalf("the dropped request should have been retried on a new connection: %v", err)
	}
}

func TestIdempotentRequestIsReplayedOnce(t *testing.T) {
	var seen atomic.Int32
	c := fastcgi.New(fastcgi.Config{Network: "tcp", Address: fakeTCP(t, diesOnSecondRequest(&seen, 1100*time.Millisecond))})
	defer c.Close()
	if err := doTwice(t, c, true); err != nil {
		t.Fatalf("an idempotent request should have been retried on a new connection: %v", err)
	}
	if n := seen.Load(); n != 3 {
		t.Errorf("PHP saw %d requests, want 3 (the second one twice)", n)
	}
}

// TestRetryWaitsForTheBodyWriter: a body above one record is written by a
// goroutine; a retry must not rewind it while that goroutine still reads it,
// or PHP gets a torn body.
func TestRetryWaitsForTheBodyWriter(t *testing.T) {
	body := make([]byte, 1<<20)
	for i := range body {
		body[i] = byte(i * 7)
	}
	var mu sync.Mutex
	var got [][]byte
	addr := fakeTCP(t, func(conn int, c net.Conn) {
		for {
			in, err := readStdin(c)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, in)
			mu.Unlock()
			c.Write(answer("ok"))
			if conn == 1 {
				return // recycled after one request (pm.max_requests = 1)
			}
		}
	})
	c := fastcgi.New(fastcgi.Config{Network: "tcp", Address: addr})
	defer c.Close()
	for i := 0; i < 5; i++ {
		p := fastcgi.AcquireParams()
		// Idempotent: the pooled, now stale, connection is used without a
		// probe and the request retried — the path that raced.
		resp, err := c.Do(context.Background(), &fastcgi.Request{Params: p, Body: bytes.NewReader(body), Idempotent: true})
		fastcgi.ReleaseParams(p)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.ReadAll()
		resp.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	for i, g := range got {
		if !bytes.Equal(g, body) {
			t.Errorf("request %d: PHP got %d bytes, not the 1 MiB body sent", i, len(g))
		}
	}
}

// TestLeftoverBytesCloseTheConnection: records after FCGI_END_REQUEST must
// not become the next request's answer.
func TestLeftoverBytesCloseTheConnection(t *testing.T) {
	var req atomic.Int32
	addr := fakeTCP(t, func(_ int, c net.Conn) {
		for {
			if _, err := readStdin(c); err != nil {
				return
			}
			if req.Add(1) == 1 {
				c.Write([]byte(rec(6, "Status: 200\r\n\r\nfirst") + endRequest(0) +
					rec(6, "Status: 200\r\n\r\nstale") + endRequest(0)))
				continue
			}
			c.Write(answer("second"))
		}
	})
	c := fastcgi.New(fastcgi.Config{Network: "tcp", Address: addr})
	defer c.Close()
	var bodies []string
	for i := 0; i < 2; i++ {
		resp, err := c.Do(context.Background(), &fastcgi.Request{Params: fastcgi.AcquireParams()})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := resp.ReadAll()
		bodies = append(bodies, string(b))
		resp.Close()
	}
	if bodies[0] != "first" || bodies[1] != "second" {
		t.Errorf("answers %q, want [first second]", bodies)
	}
}
