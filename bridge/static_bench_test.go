package bridge

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchStatic returns a Router and Static over a root holding the 4 KiB
// file /bench.css (the size the nginx comparison uses).
func benchStatic(b *testing.B) (*Router, *Static) {
	b.Helper()
	root := routeTree(b)
	body := bytes.Repeat([]byte("a{b:c}\n"), 4096/7+1)[:4096]
	if err := os.WriteFile(filepath.Join(root, "bench.css"), body, 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := NewRouter(root, "index.php")
	if err != nil {
		b.Fatal(err)
	}
	return r, NewStatic(root, "public, max-age=3600")
}

// BenchmarkStatic4K measures Resolve + Serve + writing the response for a
// 4 KiB file, in process: the cost this package adds per static hit.
func BenchmarkStatic4K(b *testing.B) {
	r, s := benchStatic(b)
	b.ReportAllocs()
	b.SetBytes(4096)
	b.RunParallel(func(pb *testing.PB) {
		var req fasthttp.Request
		req.SetRequestURI("/bench.css")
		req.Header.Set("Accept-Encoding", "gzip, deflate, br")
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, nil, quietLogger{})
		w := bufio.NewWriterSize(io.Discard, 8192)
		for pb.Next() {
			route := r.Resolve(ctx.Request.URI().PathOriginal())
			if route.Kind != RouteStatic {
				b.Fatalf("route %+v", route)
			}
			s.Serve(&ctx, route)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
			if err := ctx.Response.Write(w); err != nil {
				b.Fatal(err)
			}
			ctx.Response.Reset()
		}
	})
}

// BenchmarkStatic4KHTTP is the same through fasthttp's server and client
// over an in-memory listener, keep-alive, in parallel: end to end minus
// the kernel's TCP.
func BenchmarkStatic4KHTTP(b *testing.B) {
	r, s := benchStatic(b)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Logger: quietLogger{}, Handler: func(ctx *fasthttp.RequestCtx) {
		s.Serve(ctx, r.Resolve(ctx.URI().PathOriginal()))
	}}
	go srv.Serve(ln) //nolint:errcheck
	b.Cleanup(func() { srv.Shutdown(); ln.Close() })
	c := &fasthttp.HostClient{Addr: "bench", MaxConns: 1024, Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	b.ReportAllocs()
	b.SetBytes(4096)
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://bench/bench.css")
		for pb.Next() {
			if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 || len(resp.Body()) != 4096 {
				b.Fatalf("%v %d %d", err, resp.StatusCode(), len(resp.Body()))
			}
		}
	})
}
