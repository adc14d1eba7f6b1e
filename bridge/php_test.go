package bridge

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/internal/fpmtest"
)

// dumpServer is a PHP script that answers with $_SERVER, $_GET and
// $_COOKIE as JSON.
const dumpServer = `<?php
header("Content-Type: application/json");
echo json_encode(["server" => $_SERVER, "get" => (object) $_GET, "cookie" => (object) $_COOKIE, "file" => __FILE__]);
`

type dump struct {
	Server map[string]any    `json:"server"`
	Get    map[string]any    `json:"get"`
	Cookie map[string]string `json:"cookie"`
	File   string            `json:"file"`
}

func decodeDump(t *testing.T, body string) dump {
	t.Helper()
	var d dump
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, body)
	}
	return d
}

func TestPHPRoutingAndParams(t *testing.T) {
	a := startApp(t, map[string]string{
		"index.php":     dumpServer,
		"sub/info.php":  dumpServer,
		"sub/index.php": dumpServer,
	}, nil, func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8"} })
	root := a.Root

	tests := []struct {
		name       string
		path       string
		status     int
		scriptName string
		pathInfo   string
		docURI     string
	}{
		{"front controller", "/users/42/edit?tab=a&x=%20y", 200, "/index.php", "", "/index.php"},
		{"root", "/", 200, "/index.php", "", "/index.php"},
		{"explicit script", "/sub/info.php?q=1", 200, "/sub/info.php", "", "/sub/info.php"},
		{"path info", "/index.php/foo/bar?z=9", 200, "/index.php", "/foo/bar", "/index.php/foo/bar"},
		{"dir index.php", "/sub/", 200, "/sub/index.php", "", "/sub/index.php"},
		{"missing php is 404", "/missing.php", 404, "", "", ""},
		{"missing php with path info is 404", "/nope.php/x", 404, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := a.get(tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				return
			}
			d := decodeDump(t, body)
			s := d.Server
			want := map[string]string{
				"REQUEST_URI":       tt.path,
				"SCRIPT_NAME":       tt.scriptName,
				"SCRIPT_FILENAME":   root + tt.scriptName,
				"DOCUMENT_ROOT":     root,
				"DOCUMENT_URI":      tt.docURI,
				"REQUEST_METHOD":    "GET",
				"SERVER_PROTOCOL":   "HTTP/1.1",
				"GATEWAY_INTERFACE": "CGI/1.1",
				"REMOTE_ADDR":       "127.0.0.1",
				"SERVER_ADDR":       "127.0.0.1",
				"SERVER_NAME":       "127.0.0.1",
				"REDIRECT_STATUS":   "200",
				"REQUEST_SCHEME":    "http",
				"PATH_INFO":         tt.pathInfo,
			}
			q := ""
			if i := strings.IndexByte(tt.path, '?'); i >= 0 {
				q = tt.path[i+1:]
			}
			want["QUERY_STRING"] = q
			for k, v := range want {
				got, _ := s[k].(string)
				if k == "PATH_INFO" && v == "" && s[k] == nil {
					continue
				}
				if got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range []string{"SERVER_PORT", "REMOTE_PORT", "SERVER_SOFTWARE", "HTTP_HOST", "CONTENT_TYPE", "CONTENT_LENGTH"} {
				if _, ok := s[k]; !ok {
					t.Errorf("%s missing", k)
				}
			}
			if _, ok := s["HTTPS"]; ok {
				t.Errorf("HTTPS set on plain HTTP")
			}
		})
	}

	t.Run("query parsed by PHP", func(t *testing.T) {
		_, body := a.get("/a?tab=a&x=%20y")
		d := decodeDump(t, body)
		if d.Get["tab"] != "a" || d.Get["x"] != " y" {
			t.Fatalf("$_GET = %v", d.Get)
		}
	})

	t.Run("headers, cookies, httpoxy, underscores", func(t *testing.T) {
		req, _ := http.NewRequest("GET", a.URL+"/x", nil)
		req.Header.Set("Proxy", "http://evil:8080")
		req.Header.Set("X_Forwarded_For", "6.6.6.6")
		req.Header.Set("X-Custom-Thing", "v1")
		req.Header.Set("Cookie", "laravel_session=abc%3D; XSRF-TOKEN=t")
		req.Header.Set("X-Forwarded-Proto", "https") // untrusted peer: ignored
		_, body := a.do(req)
		s := decodeDump(t, body)
		if _, ok := s.Server["HTTP_PROXY"]; ok {
			t.Error("HTTP_PROXY reached PHP (httpoxy)")
		}
		for k := range s.Server {
			if strings.HasPrefix(k, "HTTP_X_FORWARDED_FOR") {
				t.Errorf("underscore header passed as %s", k)
			}
		}
		if s.Server["HTTP_X_CUSTOM_THING"] != "v1" {
			t.Errorf("HTTP_X_CUSTOM_THING = %v", s.Server["HTTP_X_CUSTOM_THING"])
		}
		if s.Cookie["laravel_session"] != "abc=" || s.Cookie["XSRF-TOKEN"] != "t" {
			t.Errorf("cookies = %v", s.Cookie)
		}
		if _, ok := s.Server["HTTPS"]; ok {
			t.Error("X-Forwarded-Proto from an untrusted peer set HTTPS")
		}
	})
}

func TestTrustedProxyHTTPS(t *testing.T) {
	a := startApp(t, map[string]string{"index.php": dumpServer}, nil,
		func(c *Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	req, _ := http.NewRequest("GET", a.URL+"/", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-For", "198.51.100.7, 203.0.113.9")
	_, body := a.do(req)
	s := decodeDump(t, body).Server
	if s["HTTPS"] != "on" || s["REQUEST_SCHEME"] != "https" {
		t.Errorf("HTTPS=%v REQUEST_SCHEME=%v, want on/https", s["HTTPS"], s["REQUEST_SCHEME"])
	}
	if s["REMOTE_ADDR"] != "203.0.113.9" {
		t.Errorf("REMOTE_ADDR = %v, want the proxy-seen 203.0.113.9", s["REMOTE_ADDR"])
	}

	// A client's own X-Forwarded-* lines come first; the proxy appends its
	// lines after them (HAProxy's option forwardfor): the last ones count.
	req, _ = http.NewRequest("GET", a.URL+"/", nil)
	req.Header["X-Forwarded-For"] = []string{"6.6.6.6", "198.51.100.7"}
	req.Header["X-Forwarded-Proto"] = []string{"https", "http"}
	_, body = a.do(req)
	s = decodeDump(t, body).Server
	if s["REMOTE_ADDR"] != "198.51.100.7" {
		t.Errorf("REMOTE_ADDR = %v with a spoofed first X-Forwarded-For line, want the proxy's 198.51.100.7", s["REMOTE_ADDR"])
	}
	if _, on := s["HTTPS"]; on {
		t.Error("HTTPS set from the client's X-Forwarded-Proto line, not the proxy's")
	}
}

func TestPHPRootMapping(t *testing.T) {
	// PHP-FPM sees the project under another path, as in a container: here
	// a symlink stands in for the container's mount point.
	var a *testApp
	phpRoot := filepath.Join(t.TempDir(), "var-www-public")
	a = startApp(t, map[string]string{"index.php": dumpServer}, nil, func(c *Config) {
		if err := os.Symlink(c.Root, phpRoot); err != nil {
			t.Fatal(err)
		}
		c.PHPRoot = phpRoot
	})
	_, body := a.get("/anything")
	d := decodeDump(t, body)
	if d.Server["SCRIPT_FILENAME"] != phpRoot+"/index.php" || d.Server["DOCUMENT_ROOT"] != phpRoot {
		t.Fatalf("SCRIPT_FILENAME=%v DOCUMENT_ROOT=%v, want under %s", d.Server["SCRIPT_FILENAME"], d.Server["DOCUMENT_ROOT"], phpRoot)
	}
}

func TestPHPResponsePassThrough(t *testing.T) {
	csp := strings.Repeat("x", 4096)
	a := startApp(t, map[string]string{
		"index.php": `<?php
switch ($_SERVER["DOCUMENT_URI"] === "/index.php" ? parse_url($_SERVER["REQUEST_URI"], PHP_URL_PATH) : "") {
case "/redirect": header("Location: /login", true, 302); break;
case "/created": http_response_code(201); header("X-Multi: a"); header("X-Multi: b", false); echo "made"; break;
case "/cookies": setcookie("a", "1"); setcookie("b", "2", ["httponly" => true]); setcookie("c", str_repeat("v", 4000)); echo "ok"; break;
case "/csp": header("Content-Security-Policy: ` + csp + `"); echo "ok"; break;
case "/teapot": header("Status: 418 I'm a teapot"); echo "tea"; break;
case "/empty": http_response_code(204); break;
case "/big": echo str_repeat("0123456789", 300000); break;
case "/fatal": undefined_function(); break;
default: echo "default";
}`,
	}, nil, nil)
	tests := []struct {
		path   string
		status int
		check  func(t *testing.T, r *http.Response, body string)
	}{
		{"/redirect", 302, func(t *testing.T, r *http.Response, _ string) {
			if r.Header.Get("Location") != "/login" {
				t.Errorf("Location = %q", r.Header.Get("Location"))
			}
		}},
		{"/created", 201, func(t *testing.T, r *http.Response, body string) {
			if got := r.Header.Values("X-Multi"); len(got) != 2 || body != "made" {
				t.Errorf("X-Multi = %q body %q", got, body)
			}
		}},
		{"/cookies", 200, func(t *testing.T, r *http.Response, _ string) {
			c := r.Header.Values("Set-Cookie")
			if len(c) != 3 || !strings.Contains(strings.Join(c, "\n"), "HttpOnly") {
				t.Errorf("Set-Cookie = %q", c)
			}
		}},
		{"/csp", 200, func(t *testing.T, r *http.Response, _ string) {
			if r.Header.Get("Content-Security-Policy") != csp {
				t.Errorf("4 KiB CSP header lost (%d bytes)", len(r.Header.Get("Content-Security-Policy")))
			}
		}},
		{"/teapot", 418, nil},
		{"/empty", 204, nil},
		{"/big", 200, func(t *testing.T, r *http.Response, body string) {
			if len(body) != 3000000 {
				t.Errorf("body %d bytes, want 3000000", len(body))
			}
		}},
		{"/fatal", 500, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r, body := a.get(tt.path)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%q)", r.StatusCode, tt.status, body)
			}
			if tt.check != nil {
				tt.check(t, r, body)
			}
		})
	}
	if !strings.Contains(a.Log(), "undefined_function") {
		t.Errorf("PHP's stderr (the fatal error) did not reach the log:\n%s", a.Log())
	}
}

// uploadScript reports the body length and md5 PHP received.
const uploadScript = `<?php
$in = fopen("php://input", "rb"); $ctx = hash_init("md5"); $n = 0;
while (!feof($in)) { $b = fread($in, 1 << 20); $n += strlen($b); hash_update($ctx, $b); }
echo $_SERVER["CONTENT_LENGTH"], " ", $n, " ", hash_final($ctx);`

// bigPosts lifts PHP's own post_max_size so that the bridge's limit is the
// one under test.
var bigPosts = []string{"post_max_size = 512M", "upload_max_filesize = 512M"}

func TestRequestBodies(t *testing.T) {
	a := startApp(t, map[string]string{"index.php": uploadScript}, &fpmtest.Options{Children: 2, PHPINI: bigPosts},
		func(c *Config) { c.MaxBodySize = 8 << 20 })
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
		status  int
	}{
		{"small", 100, false, 200},
		{"empty", 0, false, 200},
		{"just over memory", 64<<10 + 1, false, 200},
		{"chunked small", 1000, true, 200},
		{"chunked large", 3 << 20, true, 200},
		{"at limit", 8 << 20, false, 200},
		{"over limit", 8<<20 + 1, false, 413},
		{"chunked over limit", 8<<20 + 1, true, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("abcdefgh"), tc.size/8+1)[:tc.size]
			var body io.Reader = bytes.NewReader(data)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length: net/http sends chunked
			}
			req, _ := http.NewRequest("POST", a.URL+"/upload", body)
			req.Header.Set("Content-Type", "application/octet-stream")
			if tc.chunked {
				req.ContentLength = -1
			}
			resp, got := a.do(req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, got)
			}
			if tc.status != 200 {
				return
			}
			sum := md5.Sum(data)
			want := fmt.Sprintf("%d %d %s", tc.size, tc.size, hex.EncodeToString(sum[:]))
			if got != want {
				t.Fatalf("PHP saw %q, want %q", got, want)
			}
		})
	}
}

// TestLargeUploadStreams sends 100 MiB and checks the bridge's heap never
// holds more than a small fraction of it.
func TestLargeUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MiB upload")
	}
	a := startApp(t, map[string]string{"index.php": uploadScript}, &fpmtest.Options{Children: 2, PHPINI: bigPosts},
		func(c *Config) { c.MaxBodySize = 200 << 20 })
	const size = 100 << 20
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for _, chunked := range []bool{false, true} {
		var body io.Reader = io.LimitReader(zeroReader{}, size)
		req, _ := http.NewRequest("POST", a.URL+"/", body)
		if chunked {
			req.ContentLength = -1
		} else {
			req.ContentLength = size
		}
		resp, got := a.do(req)
		if resp.StatusCode != 200 || !strings.HasPrefix(got, fmt.Sprintf("%d %d ", size, size)) {
			t.Fatalf("chunked=%v: %d %q", chunked, resp.StatusCode, got)
		}
	}
	close(done)
	// The test's own client and PHP's side live in this process too, so
	// allow generous slack; holding the upload whole would add 100 MiB.
	if grew := int64(peak.Load()) - int64(before.HeapInuse); grew > 32<<20 {
		t.Fatalf("heap grew by %d MiB during a 100 MiB upload", grew>>20)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestStreamingFlushAndSSE proves PHP's flush() reaches the client before
// the script ends: the script waits for a file the test creates only after
// it has read the first event. No timing is involved.
func TestStreamingFlushAndSSE(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	a := startApp(t, map[string]string{"index.php": `<?php
header("Content-Type: text/event-stream");
header("Cache-Control: no-cache");
while (ob_get_level() > 0) { ob_end_flush(); } // as SSE code must under output_buffering
echo "data: first\n\n"; flush();
$deadline = microtime(true) + 20;
while (!file_exists("` + gate + `") && microtime(true) < $deadline) { usleep(10000); }
echo "data: second\n\n";`}, nil, nil)
	resp, err := http.Get(a.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event: %q %v", line, err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	if string(rest) != "\ndata: second\n\n" {
		t.Fatalf("rest %q", rest)
	}
}

func TestFPMDownThenRecovers(t *testing.T) {
	a := startApp(t, map[string]string{"index.php": `<?php echo "up";`}, nil, nil)
	if _, body := a.get("/"); body != "up" {
		t.Fatalf("body %q", body)
	}
	a.FPM.Kill()
	r, body := a.get("/")
	if r.StatusCode != 502 {
		t.Fatalf("FPM down: status %d, want 502 (%q)", r.StatusCode, body)
	}
	if !strings.Contains(a.Log(), "php-fpm unavailable") {
		t.Errorf("no clear log line for FPM down:\n%s", a.Log())
	}
	a.FPM.Restart()
	if r, body := a.get("/"); r.StatusCode != 200 || body != "up" {
		t.Fatalf("after restart: %d %q", r.StatusCode, body)
	}
}

func TestFPMRestartWithIdleKeepAlive(t *testing.T) {
	a := startApp(t, map[string]string{"index.php": `<?php echo getmypid();`}, nil, nil)
	for i := 0; i < 4; i++ { // fill the pool with idle keep-alive connections
		a.get("/")
	}
	a.FPM.Restart()
	for i := 0; i < 8; i++ {
		if r, body := a.get("/"); r.StatusCode != 200 {
			t.Fatalf("request %d after FPM restart: %d %q", i, r.StatusCode, body)
		}
	}
}

func TestMaxRequestsRecycling(t *testing.T) {
	a := startApp(t, map[string]string{"index.php": `<?php echo getmypid();`},
		&fpmtest.Options{Children: 2, MaxRequests: 1}, nil)
	pids := map[string]bool{}
	for i := 0; i < 20; i++ {
		r, body := a.get("/")
		if r.StatusCode != 200 {
			t.Fatalf("request %d: %d %q", i, r.StatusCode, body)
		}
		pids[body] = true
	}
	if len(pids) < 10 {
		t.Fatalf("only %d distinct children: pm.max_requests=1 was not exercised", len(pids))
	}
}

// abortProbe is a PHP script whose shutdown function records whether PHP saw
// the connection aborted, so tests can prove the FastCGI request was cut.
func abortProbe(marker, body string) string {
	return `<?php
register_shutdown_function(function () { file_put_contents("` + marker + `", connection_aborted() ? "aborted" : "completed"); });
` + body
}

func TestSlowFPMTimesOut504AndAborts(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	a := startApp(t, map[string]string{"index.php": abortProbe(marker,
		`sleep(2); for ($i = 0; $i < 100; $i++) { echo str_repeat("x", 8192); flush(); usleep(20000); }`)},
		nil, func(c *Config) { c.FastCGIReadTimeout = 500 * time.Millisecond })
	r, body := a.get("/")
	if r.StatusCode != 504 {
		t.Fatalf("status %d, want 504 (%q)", r.StatusCode, body)
	}
	waitFor(t, 15*time.Second, "PHP to see the abort", func() bool {
		b, _ := os.ReadFile(marker)
		return string(b) == "aborted"
	})
}

func TestClientGoneMidResponseAborts(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	a := startApp(t, map[string]string{"index.php": abortProbe(marker,
		`while (ob_get_level() > 0) { ob_end_flush(); }
for ($i = 0; $i < 2000; $i++) { echo str_repeat("y", 8192), "\n"; flush(); usleep(10000); }`)},
		&fpmtest.Options{Children: 1}, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	buf := make([]byte, 32<<10)
	if _, err := io.ReadAtLeast(conn, buf, 16<<10); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	waitFor(t, 20*time.Second, "PHP to see the abort", func() bool {
		b, _ := os.ReadFile(marker)
		return string(b) == "aborted"
	})
	waitFor(t, 5*time.Second, "the FastCGI slot to be released", func() bool { return a.Server.fcgi.InFlight() == 0 })
	// The single child is free again: the next request is served.
	if err := os.WriteFile(filepath.Join(a.Root, "ok.php"), []byte(`<?php echo "free";`), 0o644); err != nil {
		t.Fatal(err)
	}
	if r, body := a.get("/ok.php"); body != "free" {
		t.Fatalf("next request: %d %q", r.StatusCode, body)
	}
	waitFor(t, 5*time.Second, "no goroutine left in a FastCGI exchange", func() bool {
		return !goroutinesMatch("fastcgi.(*Response)", "fastcgi.writeBody", "bridge.(*phpStream)")
	})
}

func TestInFlightCapAndQueue(t *testing.T) {
	counter := filepath.Join(t.TempDir(), "counter")
	// Each request records the concurrency it observes under an exclusive
	// lock; the pool has 4 children but the bridge may use only 2.
	a := startApp(t, map[string]string{"index.php": `<?php
function bump($d) { $f = fopen("` + counter + `", "c+"); flock($f, LOCK_EX);
  $s = json_decode(stream_get_contents($f) ?: '{"cur":0,"max":0}', true);
  $s["cur"] += $d; $s["max"] = max($s["max"], $s["cur"]);
  ftruncate($f, 0); rewind($f); fwrite($f, json_encode($s)); flock($f, LOCK_UN); fclose($f); }
bump(1); usleep(100000); bump(-1); echo "ok";`},
		&fpmtest.Options{Children: 4}, func(c *Config) { c.FastCGIMaxConns = 2 })
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, body := a.get("/"); r.StatusCode != 200 || body != "ok" {
				t.Errorf("%d %q", r.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	b, _ := os.ReadFile(counter)
	var s struct{ Max int }
	_ = json.Unmarshal(b, &s)
	if s.Max < 1 || s.Max > 2 {
		t.Fatalf("PHP saw %d concurrent requests, want at most 2 (%s)", s.Max, b)
	}
}

func TestQueueTimeout503(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	a := startApp(t, map[string]string{"index.php": `<?php
$d = microtime(true) + 20; while (!file_exists("` + gate + `") && microtime(true) < $d) usleep(10000); echo "ok";`},
		&fpmtest.Options{Children: 1}, func(c *Config) { c.FastCGIQueueTimeout = 200 * time.Millisecond })
	first := make(chan int, 1)
	go func() {
		r, _ := a.get("/")
		first <- r.StatusCode
	}()
	waitFor(t, 5*time.Second, "first request in flight", func() bool { return a.Server.fcgi.InFlight() == 1 })
	r, body := a.get("/")
	os.WriteFile(gate, nil, 0o644)
	if r.StatusCode != 503 {
		t.Fatalf("queued request: %d %q, want 503", r.StatusCode, body)
	}
	if s := <-first; s != 200 {
		t.Fatalf("first request: %d", s)
	}
}

func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	a := startApp(t, map[string]string{"index.php": `<?php
$d = microtime(true) + 20; while (!file_exists("` + gate + `") && microtime(true) < $d) usleep(10000); echo "finished";`}, nil, nil)
	got := make(chan string, 1)
	go func() {
		_, body := a.get("/")
		got <- body
	}()
	waitFor(t, 5*time.Second, "request in flight", func() bool { return a.Server.fcgi.InFlight() == 1 })
	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop() }()
	time.Sleep(100 * time.Millisecond) // let shutdown begin (it must wait for the request)
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(a.URL, "http://"), time.Second); err == nil {
		t.Error("still accepting connections during shutdown")
	}
	os.WriteFile(gate, nil, 0o644)
	if body := <-got; body != "finished" {
		t.Fatalf("in-flight request got %q", body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run returned %v, want nil", err)
	}
}

// goroutinesMatch reports whether any goroutine's stack mentions one of the
// given function names (fasthttp's idle workers are not leaks; ours are).
func goroutinesMatch(names ...string) bool {
	buf := make([]byte, 4<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, n := range names {
		if strings.Contains(stacks, n) {
			return true
		}
	}
	return false
}

// TestRequestHeaderLimits: a 6 KiB cookie passes to PHP, a request whose
// header block exceeds the 8 KiB read buffer gets 431, never a hang.
func TestRequestHeaderLimits(t *testing.T) {
	a := startApp(t, map[string]string{"index.php": `<?php echo strlen($_COOKIE["big"] ?? "");`}, nil, nil)
	for _, tc := range []struct {
		size   int
		status int
	}{{6000, 200}, {9000, 431}} {
		req, _ := http.NewRequest("GET", a.URL+"/", nil)
		req.Header.Set("Cookie", "big="+strings.Repeat("x", tc.size))
		r, body := a.do(req)
		if r.StatusCode != tc.status {
			t.Fatalf("cookie of %d bytes: status %d, want %d", tc.size, r.StatusCode, tc.status)
		}
		if tc.status == 200 && body != fmt.Sprint(tc.size) {
			t.Fatalf("PHP saw %q", body)
		}
	}
}

// TestTLSSetsHTTPS: served over TLS (--tls-cert/--tls-key), PHP sees
// HTTPS=on and the https scheme, as behind nginx's "listen 443 ssl".
func TestTLSSetsHTTPS(t *testing.T) {
	certFile, keyFile := wsSelfSignedCert(t)
	a := startApp(t, map[string]string{"index.php": dumpServer}, nil,
		func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(strings.Replace(a.URL, "http://", "https://", 1) + "/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	s := decodeDump(t, string(b)).Server
	if s["HTTPS"] != "on" || s["REQUEST_SCHEME"] != "https" {
		t.Fatalf("HTTPS=%v REQUEST_SCHEME=%v over TLS", s["HTTPS"], s["REQUEST_SCHEME"])
	}
}

// X-Accel-Redirect and X-Sendfile are not followed: the header, with its
// internal path, does not reach the client, and the log says why the body
// is PHP's own.
func TestSendfileHeadersAreNotFollowedNorLeaked(t *testing.T) {
	a := startApp(t, map[string]string{"index.php": `<?php header("X-Accel-Redirect: /protected/invoice.pdf"); header("X-Sendfile: /srv/files/invoice.pdf");`}, nil, nil)
	resp, _ := a.get("/download")
	if v := resp.Header.Get("X-Accel-Redirect") + resp.Header.Get("X-Sendfile"); v != "" {
		t.Errorf("the client saw the internal path: %q", v)
	}
	if !strings.Contains(a.Log(), "php asked the web server to send a file") {
		t.Errorf("nothing logged; log:\n%s", a.Log())
	}
}
