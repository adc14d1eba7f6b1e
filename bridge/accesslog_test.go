package bridge

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

var (
	accessNow   = time.Date(2000, 10, 10, 13, 55, 36, 0, time.FixedZone("", -7*3600))
	accessStart = accessNow.Add(-1500 * time.Microsecond)
	peerV4      = &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 51234}
)

// accessReq describes one request/response pair for the golden tests.
type accessReq struct {
	method, uri, proto string
	peer               net.Addr
	headers            map[string]string
	status             int
	body               string
	stream             int // >0: stream body with this Content-Length; -1: unknown length
}

func (r accessReq) ctx(t testing.TB) *fasthttp.RequestCtx {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	peer := r.peer
	if peer == nil {
		peer = peerV4
	}
	ctx.Init(&fasthttp.Request{}, peer, nil)
	h := &ctx.Request.Header
	h.SetMethod(orDefault(r.method, "GET"))
	h.SetRequestURI(orDefault(r.uri, "/"))
	if r.proto != "" {
		h.SetProtocol(r.proto)
	}
	for k, v := range r.headers {
		h.Set(k, v)
	}
	ctx.SetStatusCode(orInt(r.status, 200))
	switch {
	case r.stream > 0:
		ctx.SetBodyStream(strings.NewReader(strings.Repeat("x", r.stream)), r.stream)
	case r.stream < 0:
		ctx.SetBodyStream(strings.NewReader("chunked"), -1)
	default:
		ctx.SetBodyString(r.body)
	}
	return ctx
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func orInt(n, d int) int {
	if n == 0 {
		return d
	}
	return n
}

// logOne formats one request with a fixed clock and returns the line.
func logOne(t *testing.T, format string, r accessReq) string {
	t.Helper()
	var buf bytes.Buffer
	a := newAccessLog(&buf, nil, format == "json")
	a.now = func() time.Time { return accessNow }
	a.Log(r.ctx(t), accessStart)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func basic(userpass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass))
}

func TestAccessLogCombined(t *testing.T) {
	const ts = "[10/Oct/2000:13:55:36 -0700]"
	tests := []struct {
		name string
		req  accessReq
		want string
	}{
		{"plain", accessReq{uri: "/index.php?a=1&b=2", body: "hello",
			headers: map[string]string{"Referer": "http://example.com/", "User-Agent": "curl/8.5.0"}},
			`203.0.113.7 - - ` + ts + ` "GET /index.php?a=1&b=2 HTTP/1.1" 200 5 "http://example.com/" "curl/8.5.0"`},
		{"basic auth user, password never logged", accessReq{headers: map[string]string{"Authorization": basic("alice:s3cret")}},
			`203.0.113.7 - alice ` + ts + ` "GET / HTTP/1.1" 200 0 "-" "-"`},
		{"bearer is not a user", accessReq{headers: map[string]string{"Authorization": "Bearer abc"}},
			`203.0.113.7 - - ` + ts + ` "GET / HTTP/1.1" 200 0 "-" "-"`},
		{"ipv6 peer, 404, HTTP/1.0", accessReq{peer: &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 1}, status: 404, body: "nope", proto: "HTTP/1.0"},
			`2001:db8::1 - - ` + ts + ` "GET / HTTP/1.0" 404 4 "-" "-"`},
		{"unix peer", accessReq{peer: &net.UnixAddr{Name: "/run/x.sock", Net: "unix"}},
			`unix: - - ` + ts + ` "GET / HTTP/1.1" 200 0 "-" "-"`},
		{"HEAD sends no body", accessReq{method: "HEAD", body: "ignored"},
			`203.0.113.7 - - ` + ts + ` "HEAD / HTTP/1.1" 200 0 "-" "-"`},
		{"304 sends no body", accessReq{status: 304, body: "ignored"},
			`203.0.113.7 - - ` + ts + ` "GET / HTTP/1.1" 304 0 "-" "-"`},
		{"stream with length", accessReq{stream: 1234},
			`203.0.113.7 - - ` + ts + ` "GET / HTTP/1.1" 200 1234 "-" "-"`},
		{"stream of unknown length", accessReq{stream: -1},
			`203.0.113.7 - - ` + ts + ` "GET / HTTP/1.1" 200 - "-" "-"`},
		{"escaping", accessReq{uri: `/a"b`, headers: map[string]string{
			"User-Agent": "evil\" \\ \x01\x7fé", "Referer": "r\t"}},
			`203.0.113.7 - - ` + ts + ` "GET /a\x22b HTTP/1.1" 200 0 "r\x09" "evil\x22 \x5C \x01\x7F\xC3\xA9"`},
		{"escaped user", accessReq{headers: map[string]string{"Authorization": basic("a\"b:x")}},
			`203.0.113.7 - a\x22b ` + ts + ` "GET / HTTP/1.1" 200 0 "-" "-"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logOne(t, "combined", tt.req)
			if got != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAccessLogJSON(t *testing.T) {
	tests := []struct {
		name string
		req  accessReq
		want string
	}{
		{"plain", accessReq{method: "POST", uri: "/api?x=1", status: 201, body: "created",
			headers: map[string]string{"Referer": "http://example.com/", "User-Agent": "curl/8.5.0"}},
			`{"time":"2000-10-10T13:55:36-07:00","remote_addr":"203.0.113.7","method":"POST","uri":"/api?x=1","proto":"HTTP/1.1","status":201,"bytes":7,"referer":"http://example.com/","user_agent":"curl/8.5.0","duration_ms":1.500}`},
		{"unknown stream size is null", accessReq{stream: -1},
			`{"time":"2000-10-10T13:55:36-07:00","remote_addr":"203.0.113.7","method":"GET","uri":"/","proto":"HTTP/1.1","status":200,"bytes":null,"referer":"","user_agent":"","duration_ms":1.500}`},
		{"escaping", accessReq{uri: `/q"\`, headers: map[string]string{"User-Agent": "a\tb\x01é\xff"}},
			`{"time":"2000-10-10T13:55:36-07:00","remote_addr":"203.0.113.7","method":"GET","uri":"/q\"\\","proto":"HTTP/1.1","status":200,"bytes":0,"referer":"","user_agent":"a\tb\u0001é\ufffd","duration_ms":1.500}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logOne(t, "json", tt.req)
			if got != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(got), &m); err != nil {
				t.Errorf("not valid JSON: %v", err)
			}
		})
	}
}

func TestAccessLogOff(t *testing.T) {
	a, err := NewAccessLog("off", "combined")
	if a != nil || err != nil {
		t.Fatalf("NewAccessLog(off) = %v, %v; want nil, nil", a, err)
	}
	a.Log(accessReq{}.ctx(t), time.Now()) // must not panic
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAccessLogBadFormat(t *testing.T) {
	_, err := NewAccessLog("stdout", "xml")
	if err == nil || !strings.Contains(err.Error(), "access-log-format") {
		t.Fatalf("err = %v; want one naming access-log-format", err)
	}
	_, err = NewAccessLog(filepath.Join(t.TempDir(), "no", "such", "dir.log"), "json")
	if err == nil || !strings.Contains(err.Error(), "access-log") {
		t.Fatalf("err = %v; want one naming access-log", err)
	}
}

func TestAccessLogFileAppendsAndFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := NewAccessLog(path, "combined")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.Log(accessReq{uri: "/first"}.ctx(t), time.Now())

	// The ticker must flush without Close.
	deadline := time.Now().Add(3 * accessLogFlushEvery)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "/first") {
			if !strings.HasPrefix(string(b), "old\n") {
				t.Fatalf("file was truncated: %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("line not flushed within %v: %q", 3*accessLogFlushEvery, b)
		}
		time.Sleep(50 * time.Millisecond)
	}

	a.Log(accessReq{uri: "/second"}.ctx(t), time.Now())
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a.Log(accessReq{uri: "/after-close"}.ctx(t), time.Now()) // dropped, no panic
	b, _ := os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != 3 || !strings.Contains(string(b), "/second") {
		t.Fatalf("file = %q; want old + 2 lines", b)
	}
}

func TestAccessLogConcurrentLinesStayWhole(t *testing.T) {
	var buf bytes.Buffer
	a := newAccessLog(&buf, nil, false)
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			ctx := accessReq{uri: "/" + strings.Repeat("p", 300)}.ctx(t)
			for range each {
				a.Log(ctx, time.Now())
			}
		})
	}
	wg.Wait()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != goroutines*each {
		t.Fatalf("%d lines; want %d", len(lines), goroutines*each)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "203.0.113.7 - - [") || !strings.HasSuffix(l, `"-" "-"`) {
			t.Fatalf("torn line %q", l)
		}
	}
}

func benchmarkAccessLog(b *testing.B, json bool) {
	a := newAccessLog(io.Discard, nil, json)
	b.Cleanup(func() { a.Close() })
	ctx := accessReq{uri: "/products/42?ref=home&utm_source=newsletter", body: strings.Repeat("x", 2048),
		headers: map[string]string{
			"Referer":    "https://shop.example.com/",
			"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
		}}.ctx(b)
	start := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a.Log(ctx, start)
	}
}

func BenchmarkAccessLogCombined(b *testing.B) { benchmarkAccessLog(b, false) }
func BenchmarkAccessLogJSON(b *testing.B)     { benchmarkAccessLog(b, true) }

func BenchmarkAccessLogCombinedParallel(b *testing.B) {
	a := newAccessLog(io.Discard, nil, false)
	b.Cleanup(func() { a.Close() })
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := accessReq{uri: "/products/42", headers: map[string]string{"User-Agent": "bench/1.0"}}.ctx(b)
		start := time.Now()
		for pb.Next() {
			a.Log(ctx, start)
		}
	})
}
