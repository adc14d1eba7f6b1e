package fastcgi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/phpbridge/phpbridge/internal/fpmtest"
)

// script writes a PHP file into a temp dir and returns its path.
func script(t testing.TB, dir, name, code string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func params(file string, extra ...string) *fastcgi.Params {
	p := &fastcgi.Params{}
	p.Add("SCRIPT_FILENAME", file)
	p.Add("REQUEST_METHOD", "GET")
	p.Add("SERVER_PROTOCOL", "HTTP/1.1")
	for i := 0; i+1 < len(extra); i += 2 {
		p.Add(extra[i], extra[i+1])
	}
	return p
}

func newClient(t testing.TB, f *fpmtest.FPM, cfg fastcgi.Config) *fastcgi.Client {
	cfg.Network, cfg.Address = f.Network, f.Addr
	c := fastcgi.New(cfg)
	t.Cleanup(func() { c.Close() })
	return c
}

func do(t testing.TB, c *fastcgi.Client, req *fastcgi.Request) (int, string, *fastcgi.Response) {
	t.Helper()
	resp, err := c.Do(context.Background(), req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	body, err := resp.ReadAll()
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return resp.StatusCode, string(body), resp
}

func TestDiscoverMaxConns(t *testing.T) {
	f := fpmtest.Start(t, fpmtest.Options{Children: 3})
	n, err := fastcgi.DiscoverMaxConns(context.Background(), f.Network, f.Addr)
	if errors.Is(err, fastcgi.ErrNotReported) {
		return // PHP-FPM 8.x answers without FCGI_MAX_CONNS; the record exchange itself worked
	}
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("FCGI_MAX_CONNS = %d, want 3 (pm.max_children)", n)
	}
}

func TestBasic(t *testing.T) {
	f := fpmtest.Start(t, fpmtest.Options{Children: 2})
	dir := t.TempDir()
	hello := script(t, dir, "hello.php", `<?php header("X-A: 1"); header("X-A: 2", false); setcookie("a","1"); setcookie("b","2"); http_response_code(201); echo "hi ", $_SERVER["QUERY_STRING"] ?? "";`)
	long := script(t, dir, "long.php", `<?php header("Content-Security-Policy: ".str_repeat("a", 8000)); echo "ok";`)
	post := script(t, dir, "post.php", `<?php echo strlen(file_get_contents("php://input")), ":", md5(file_get_contents("php://input"));`)
	c := newClient(t, f, fastcgi.Config{MaxConns: 2})
	for i := 0; i < 3; i++ {
		code, body, resp := do(t, c, &fastcgi.Request{Params: params(hello, "QUERY_STRING", "x=1")})
		if code != 201 || body != "hi x=1" {
			t.Fatalf("got %d %q", code, body)
		}
		if got := resp.Header.PeekAll("X-A"); len(got) != 2 {
			t.Fatalf("X-A = %q", got)
		}
		cookies := 0
		resp.Header.VisitAllCookie(func(k, v []byte) { cookies++ })
		if cookies != 2 {
			t.Fatalf("cookies = %d, want 2", cookies)
		}
		resp.Close()
	}
	code, body, resp := do(t, c, &fastcgi.Request{Params: params(long)})
	if code != 200 || body != "ok" || len(resp.Header.Peek("Content-Security-Policy")) != 8000 {
		t.Fatalf("long header: %d %q %d", code, body, len(resp.Header.Peek("Content-Security-Policy")))
	}
	resp.Close()
	for _, size := range []int{0, 10, 65535, 65536, 3 << 20} {
		data := bytes.Repeat([]byte("z"), size)
		p := params(post, "CONTENT_LENGTH", fmt.Sprint(size))
		p.Add("CONTENT_TYPE", "application/octet-stream")
		var body interface{ Read([]byte) (int, error) } = bytes.NewReader(data)
		if size > 100000 {
			body = struct{ *bytes.Reader }{bytes.NewReader(data)} // not seekable, no Len: streamed
		}
		_, got, resp := do(t, c, &fastcgi.Request{Params: p, Body: body})
		resp.Close()
		if !strings.HasPrefix(got, fmt.Sprint(size)+":") {
			t.Fatalf("size %d: got %q", size, got)
		}
	}
	if c.IdleConns() > 2 {
		t.Fatalf("idle %d > MaxConns", c.IdleConns())
	}
}

func TestConcurrentNoCrossover(t *testing.T) {
	f := fpmtest.Start(t, fpmtest.Options{Children: 4})
	dir := t.TempDir()
	echo := script(t, dir, "echo.php", `<?php usleep(random_int(0, 2000)); echo $_SERVER["QUERY_STRING"];`)
	c := newClient(t, f, fastcgi.Config{MaxConns: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				want := fmt.Sprintf("g%d-i%d", g, i)
				resp, err := c.Do(context.Background(), &fastcgi.Request{Params: params(echo, "QUERY_STRING", want)})
				if err != nil {
					errs <- err
					return
				}
				b, err := resp.ReadAll()
				resp.Close()
				if err != nil || string(b) != want {
					errs <- fmt.Errorf("want %q got %q (%v)", want, b, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c.InFlight() != 0 {
		t.Fatalf("in flight %d", c.InFlight())
	}
	_ = time.Second
}
