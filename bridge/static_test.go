package bridge

import (
	"bytes"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// staticFiles adds to routeTree the files the static tests look at; each
// precompressed sibling has distinct bytes so a test can tell which one
// was sent.
var staticFiles = map[string]string{
	"app.css":        "body{}",
	"app.js":         "console.log('identity')",
	"app.js.br":      "BROTLI-BYTES",
	"app.js.gz":      "GZIP-BYTES",
	"only.txt":       "plain text",
	"only.txt.gz":    "GZ-ONLY",
	"data.json":      `{"a":1}`,
	"logo.svg":       "<svg/>",
	"font.woff2":     "wOF2",
	"UPPER.CSS":      "b{}",
	"noext":          "<html><script>alert(1)</script>",
	"blob.unknownxx": "x",
	"page.html":      "<p>hi</p>",
	"digits.txt":     "0123456789abcdefghij",
}

// staticServer starts a fasthttp server on an in-memory listener that
// routes with Router and serves with Static (and, for the direct tests,
// serves the route given in the query: ?file=...&kind=...). It returns a
// client for it and the root.
func staticServer(t testing.TB, cacheControl string) (*fasthttp.Client, string) {
	t.Helper()
	root := routeTree(t)
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, body := range staticFiles {
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewRouter(root, "index.php")
	if err != nil {
		t.Fatal(err)
	}
	s := NewStatic(root, cacheControl)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Logger: quietLogger{}, Handler: func(ctx *fasthttp.RequestCtx) {
		if file := ctx.QueryArgs().Peek("file"); file != nil {
			kind, _ := strconv.Atoi(string(ctx.QueryArgs().Peek("kind")))
			s.Serve(ctx, Route{Kind: RouteKind(kind), Path: "/x", File: string(file)})
			return
		}
		route := r.Resolve(ctx.URI().PathOriginal())
		switch route.Kind {
		case RouteStatic:
			s.Serve(ctx, route)
		case RoutePHP:
			ctx.Error("php "+route.ScriptName, 299)
		default:
			ctx.Error(route.Kind.String(), 400+int(route.Kind))
		}
	}}
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() { srv.Shutdown(); ln.Close() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}, root
}

// quietLogger drops fasthttp.FS's log lines (e.g. for each 416).
type quietLogger struct{}

func (quietLogger) Printf(string, ...any) {}

// get does one request; headers are name, value pairs.
func get(t testing.TB, c *fasthttp.Client, method, uri string, headers ...string) *fasthttp.Response {
	t.Helper()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://static.test" + uri)
	req.Header.SetMethod(method)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp := &fasthttp.Response{}
	if method == fasthttp.MethodHead {
		resp.SkipBody = true
	}
	if err := c.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	return resp
}

func TestStaticMIME(t *testing.T) {
	c, _ := staticServer(t, "")
	for _, tt := range []struct{ path, want string }{
		{"/app.css", "text/css; charset=utf-8"},
		{"/UPPER.CSS", "text/css; charset=utf-8"},
		{"/app.js", "text/javascript; charset=utf-8"},
		{"/data.json", "application/json"},
		{"/logo.svg", "image/svg+xml"},
		{"/font.woff2", "font/woff2"},
		{"/page.html", "text/html; charset=utf-8"},
		{"/dir/", "text/html; charset=utf-8"},
		{"/only.txt", "text/plain; charset=utf-8"},
		{"/app.js.gz", "application/gzip"},
		{"/noext", "application/octet-stream"}, // never sniffed as HTML
		{"/blob.unknownxx", "application/octet-stream"},
		{"/.well-known/acme-challenge/x", "application/octet-stream"},
	} {
		resp := get(t, c, "GET", tt.path)
		if resp.StatusCode() != 200 {
			t.Errorf("%s: status %d", tt.path, resp.StatusCode())
			continue
		}
		if got := string(resp.Header.ContentType()); got != tt.want {
			t.Errorf("%s: Content-Type %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestStaticConditional(t *testing.T) {
	c, _ := staticServer(t, "public, max-age=60")
	first := get(t, c, "GET", "/app.css")
	etag := string(first.Header.Peek("ETag"))
	lastMod := string(first.Header.Peek("Last-Modified"))
	if first.StatusCode() != 200 || etag == "" || lastMod != "Tue, 02 Jan 2024 03:04:05 GMT" {
		t.Fatalf("first: %d ETag %q Last-Modified %q", first.StatusCode(), etag, lastMod)
	}
	if got := string(first.Body()); got != "body{}" {
		t.Fatalf("body %q", got)
	}
	for _, tt := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"etag match", []string{"If-None-Match", etag}, 304},
		{"etag in list", []string{"If-None-Match", `"x", ` + etag}, 304},
		{"etag star", []string{"If-None-Match", "*"}, 304},
		{"etag mismatch", []string{"If-None-Match", `"other"`}, 200},
		{"etag mismatch wins over date", []string{"If-None-Match", `"other"`, "If-Modified-Since", lastMod}, 200},
		{"date equal", []string{"If-Modified-Since", lastMod}, 304},
		{"date later", []string{"If-Modified-Since", "Wed, 03 Jan 2024 00:00:00 GMT"}, 304},
		{"date earlier", []string{"If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"}, 200},
	} {
		resp := get(t, c, "GET", "/app.css", tt.headers...)
		if resp.StatusCode() != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode(), tt.want)
		}
		if cc := string(resp.Header.Peek("Cache-Control")); cc != "public, max-age=60" {
			t.Errorf("%s: Cache-Control %q", tt.name, cc)
		}
		if tt.want == 304 {
			if len(resp.Body()) != 0 || string(resp.Header.Peek("ETag")) != etag {
				t.Errorf("%s: 304 with body %q, ETag %q", tt.name, resp.Body(), resp.Header.Peek("ETag"))
			}
		}
	}
}

func TestStaticRange(t *testing.T) {
	c, _ := staticServer(t, "")
	const body = "0123456789abcdefghij"
	for _, tt := range []struct {
		rng, want, contentRange string
		status                  int
	}{
		{"bytes=0-4", "01234", "bytes 0-4/20", 206},
		{"bytes=15-", "fghij", "bytes 15-19/20", 206},
		{"bytes=-3", "hij", "bytes 17-19/20", 206},
		{"bytes=18-100", "ij", "bytes 18-19/20", 206},
		{"bytes=20-", "", "bytes */20", 416},
		{"bytes=5-2", "", "bytes */20", 416},
		{"bytes=0-1,4-5", body, "", 200}, // multi-range: whole file
		{"items=0-1", body, "", 200},     // unknown unit: ignored
	} {
		resp := get(t, c, "GET", "/digits.txt", "Range", tt.rng)
		if resp.StatusCode() != tt.status {
			t.Errorf("%s: status %d, want %d", tt.rng, resp.StatusCode(), tt.status)
			continue
		}
		if got := string(resp.Header.Peek("Content-Range")); got != tt.contentRange {
			t.Errorf("%s: Content-Range %q, want %q", tt.rng, got, tt.contentRange)
		}
		if tt.status != 416 && string(resp.Body()) != tt.want {
			t.Errorf("%s: body %q, want %q", tt.rng, resp.Body(), tt.want)
		}
	}
	// A matching If-Range date keeps the range, an old one gets it all.
	lastMod := "Tue, 02 Jan 2024 03:04:05 GMT"
	if resp := get(t, c, "GET", "/digits.txt", "Range", "bytes=0-1", "If-Range", lastMod); resp.StatusCode() != 206 {
		t.Errorf("If-Range current: status %d, want 206", resp.StatusCode())
	}
	if resp := get(t, c, "GET", "/digits.txt", "Range", "bytes=0-1", "If-Range", "Mon, 01 Jan 2024 00:00:00 GMT"); resp.StatusCode() != 200 {
		t.Errorf("If-Range old: status %d, want 200", resp.StatusCode())
	}
}

func TestStaticPrecompressed(t *testing.T) {
	c, _ := staticServer(t, "")
	for _, tt := range []struct {
		path, acceptEncoding string
		body, encoding, vary string
	}{
		{"/app.js", "br, gzip", "BROTLI-BYTES", "br", "Accept-Encoding"},
		{"/app.js", "gzip, deflate, br, zstd", "BROTLI-BYTES", "br", "Accept-Encoding"},
		{"/app.js", "gzip", "GZIP-BYTES", "gzip", "Accept-Encoding"},
		{"/app.js", "GZIP", "GZIP-BYTES", "gzip", "Accept-Encoding"},
		{"/app.js", "br;q=0, gzip", "GZIP-BYTES", "gzip", "Accept-Encoding"},
		{"/app.js", "br;q=0, gzip;q=0", "console.log('identity')", "", "Accept-Encoding"},
		{"/app.js", "", "console.log('identity')", "", "Accept-Encoding"},
		{"/app.js", "identity", "console.log('identity')", "", "Accept-Encoding"},
		{"/only.txt", "br, gzip", "GZ-ONLY", "gzip", "Accept-Encoding"},
		{"/only.txt", "br", "plain text", "", "Accept-Encoding"},
		{"/app.css", "br, gzip", "body{}", "", ""},
	} {
		resp := get(t, c, "GET", tt.path, "Accept-Encoding", tt.acceptEncoding)
		name := tt.path + " " + tt.acceptEncoding
		if resp.StatusCode() != 200 {
			t.Errorf("%s: status %d", name, resp.StatusCode())
			continue
		}
		if got := string(resp.Body()); got != tt.body {
			t.Errorf("%s: body %q, want %q", name, got, tt.body)
		}
		if got := string(resp.Header.Peek("Content-Encoding")); got != tt.encoding {
			t.Errorf("%s: Content-Encoding %q, want %q", name, got, tt.encoding)
		}
		if got := string(resp.Header.Peek("Vary")); got != tt.vary {
			t.Errorf("%s: Vary %q, want %q", name, got, tt.vary)
		}
		wantType := contentTypeOf(tt.path)
		if got := string(resp.Header.ContentType()); got != wantType {
			t.Errorf("%s: Content-Type %q, want the original's %q", name, got, wantType)
		}
		if got := resp.Header.ContentLength(); got != len(tt.body) {
			t.Errorf("%s: Content-Length %d, want %d", name, got, len(tt.body))
		}
	}

	// Each variant has its own ETag, and its 304 keeps Vary.
	br := get(t, c, "GET", "/app.js", "Accept-Encoding", "br")
	id := get(t, c, "GET", "/app.js")
	brTag, idTag := string(br.Header.Peek("ETag")), string(id.Header.Peek("ETag"))
	if brTag == "" || brTag == idTag {
		t.Errorf("ETags: br %q, identity %q: want distinct", brTag, idTag)
	}
	nm := get(t, c, "GET", "/app.js", "Accept-Encoding", "br", "If-None-Match", brTag)
	if nm.StatusCode() != 304 || string(nm.Header.Peek("Vary")) != "Accept-Encoding" {
		t.Errorf("br 304: status %d, Vary %q", nm.StatusCode(), nm.Header.Peek("Vary"))
	}
	// A range applies to the representation sent, like nginx's gzip_static.
	rg := get(t, c, "GET", "/app.js", "Accept-Encoding", "gzip", "Range", "bytes=0-3")
	if rg.StatusCode() != 206 || string(rg.Body()) != "GZIP" || string(rg.Header.Peek("Content-Encoding")) != "gzip" {
		t.Errorf("gzip range: %d %q %q", rg.StatusCode(), rg.Body(), rg.Header.Peek("Content-Encoding"))
	}
}

func TestStaticCacheControl(t *testing.T) {
	for _, cc := range []string{"", "public, max-age=31536000, immutable"} {
		c, _ := staticServer(t, cc)
		resp := get(t, c, "GET", "/app.css")
		if got := string(resp.Header.Peek("Cache-Control")); got != cc {
			t.Errorf("Cache-Control %q, want %q", got, cc)
		}
		// Not on errors.
		resp = get(t, c, "GET", "/digits.txt", "Range", "bytes=50-")
		if got := string(resp.Header.Peek("Cache-Control")); resp.StatusCode() != 416 || got != "" {
			t.Errorf("416: status %d, Cache-Control %q", resp.StatusCode(), got)
		}
	}
}

func TestStaticMethods(t *testing.T) {
	c, _ := staticServer(t, "")
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS"} {
		resp := get(t, c, m, "/app.css")
		if resp.StatusCode() != 405 || string(resp.Header.Peek("Allow")) != "GET, HEAD" {
			t.Errorf("%s: status %d, Allow %q", m, resp.StatusCode(), resp.Header.Peek("Allow"))
		}
	}
	head := get(t, c, "HEAD", "/app.css")
	if head.StatusCode() != 200 || head.Header.ContentLength() != len("body{}") ||
		len(head.Body()) != 0 || string(head.Header.ContentType()) != "text/css; charset=utf-8" {
		t.Errorf("HEAD: %d, Content-Length %d, body %q, type %q", head.StatusCode(),
			head.Header.ContentLength(), head.Body(), head.Header.ContentType())
	}
}

// TestStaticDirect calls Serve with routes Router would never produce, to
// show Static does not rely on it for safety.
func TestStaticDirect(t *testing.T) {
	c, root := staticServer(t, "")
	static := strconv.Itoa(int(RouteStatic))
	for _, tt := range []struct {
		file, kind string
		want       int
	}{
		{root + "/app.css", static, 200},
		{root + "/inlink.css", static, 200},
		{root + "/.well-known/acme-challenge/x", static, 200},
		{root + "/app.css", strconv.Itoa(int(RoutePHP)), 404},
		{root + "/.env", static, 404},
		{root + "/.git/HEAD", static, 404},
		{root + "/x/.hidden", static, 404},
		{root + "/.well-known/../.env", static, 404},
		{root + "/outlink.txt", static, 404},       // symlink leaving the root
		{root + "/outdir/secret.txt", static, 404}, // through a directory symlink
		{root + "/abslink.css", static, 404},
		{root + "/fifo", static, 404},
		{root + "/index.php", static, 404},
		{root + "/config.inc", static, 404},
		{root + "/Upper.PHP", static, 404},
		{root + "/../outside/secret.txt", static, 404},
		{root + "/./app.css", static, 404},
		{root + "//app.css", static, 404},
		{root + "/dir", static, 404}, // a directory is not a file
		{root + "/", static, 404},
		{root, static, 404},
		{root + "x/app.css", static, 404},
		{"/etc/passwd", static, 404},
		{filepath.Dir(root) + "/outside/secret.txt", static, 404},
	} {
		resp := get(t, c, "GET", "/?kind="+tt.kind+"&file="+url.QueryEscape(tt.file))
		if resp.StatusCode() != tt.want {
			t.Errorf("Serve(%s): status %d, want %d", tt.file, resp.StatusCode(), tt.want)
		}
		if tt.want != 200 && bytes.Contains(resp.Body(), []byte("secret")) {
			t.Errorf("Serve(%s) leaked %q", tt.file, resp.Body())
		}
	}
}

// TestStaticReadOnly serves everything, compressed and not, and checks
// nothing was written anywhere in the tree (the tests may run as root, for
// whom a 0555 directory is still writable, so the proof is the listing).
func TestStaticReadOnly(t *testing.T) {
	c, root := staticServer(t, "")
	if err := os.Chmod(root, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(root, 0o755) })
	before := treeSnapshot(t, filepath.Dir(root))
	for name := range staticFiles {
		for _, ae := range []string{"", "gzip", "br", "zstd", "gzip, br, zstd"} {
			resp := get(t, c, "GET", "/"+name, "Accept-Encoding", ae)
			if resp.StatusCode() != 200 {
				t.Errorf("/%s (%q): status %d", name, ae, resp.StatusCode())
			}
		}
	}
	if after := treeSnapshot(t, filepath.Dir(root)); after != before {
		t.Errorf("the tree changed:\nbefore %s\nafter  %s", before, after)
	}
	if matches, _ := filepath.Glob(filepath.Join(root, "*.fasthttp.*")); len(matches) > 0 {
		t.Errorf("compressed copies written: %v", matches)
	}
}

// TestStaticBigFile sends a file larger than what fasthttp.FS keeps in
// memory, whole and in a range, to cover the streamed path.
func TestStaticBigFile(t *testing.T) {
	c, root := staticServer(t, "")
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	if err := os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	resp := get(t, c, "GET", "/big.bin")
	if resp.StatusCode() != 200 || !bytes.Equal(resp.Body(), big) {
		t.Fatalf("big: status %d, %d bytes", resp.StatusCode(), len(resp.Body()))
	}
	resp = get(t, c, "GET", "/big.bin", "Range", "bytes=1000000-1000015")
	if resp.StatusCode() != 206 || !bytes.Equal(resp.Body(), big[1000000:1000016]) {
		t.Fatalf("big range: status %d, %q", resp.StatusCode(), resp.Body())
	}
}

func TestStaticContentTypeOf(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"a.css", "text/css; charset=utf-8"},
		{"a.CsS", "text/css; charset=utf-8"},
		{"dir.css/file", "application/octet-stream"},
		{"a.verylongextensionthatisnotknown", "application/octet-stream"},
		{"a.", "application/octet-stream"},
	} {
		if got := contentTypeOf(tt.name); got != tt.want {
			t.Errorf("contentTypeOf(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := contentTypeOf("x.mp4"); !strings.HasPrefix(got, "video/") {
		t.Errorf("mp4: %q", got)
	}
}
