package fastcgi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/phpbridge/phpbridge/fastcgi"
	"github.com/phpbridge/phpbridge/internal/fpmtest"
	"github.com/yookoala/gofast"
)

// The benchmarks run the same hello-world script over one keep-alive
// connection through our client and through gofast v0.8.0, against the same
// real PHP-FPM. They back the decision recorded in docs/fastcgi-client.md.

func benchScript(b *testing.B) (*fpmtest.FPM, string) {
	f := fpmtest.Start(b, fpmtest.Options{Children: 1})
	return f, script(b, b.TempDir(), "hello.php", `<?php echo "Hello, World!";`)
}

func BenchmarkClientHello(b *testing.B) {
	f, file := benchScript(b)
	c := newClient(b, f, fastcgi.Config{MaxConns: 1})
	p := params(file)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := c.Do(context.Background(), &fastcgi.Request{Params: p})
		if err != nil {
			b.Fatal(err)
		}
		body, _, err := resp.ReadBuffered(nil)
		if err != nil || len(body) != 13 {
			b.Fatalf("%q %v", body, err)
		}
		resp.Close()
	}
}

func BenchmarkGofastHello(b *testing.B) {
	f, file := benchScript(b)
	factory := gofast.SimpleClientFactory(gofast.SimpleConnFactory(f.Network, f.Addr))
	client, err := factory()
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	hr := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := gofast.NewRequest(hr)
		req.KeepConn = true
		req.Params["SCRIPT_FILENAME"] = file
		req.Params["REQUEST_METHOD"] = "GET"
		req.Params["SERVER_PROTOCOL"] = "HTTP/1.1"
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		w := httptest.NewRecorder()
		if err := resp.WriteTo(w, nil); err != nil {
			b.Fatal(err)
		}
		resp.Close()
		if w.Body.Len() != 13 {
			b.Fatalf("%q", w.Body.String())
		}
	}
	_ = filepath.Join
}
