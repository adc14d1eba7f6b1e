// Package laravel_test proves that the Laravel example (a real Laravel 8 app
// on Debian's packaged framework) behaves the same behind phpbridge as behind
// nginx with the canonical Laravel server block: the same requests go to both
// front servers, which share one PHP-FPM pool, and the meaningful parts of
// the responses must be equal. Where they legitimately differ, the step says
// so and asserts the documented difference instead (see docs/laravel.md).
package laravel_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/internal/fpmtest"
	"github.com/phpbridge/phpbridge/internal/testutil"
)

// appHost is the Host every request carries, as behind a real domain on
// port 80, so that the URLs Laravel builds (asset(), url(), redirects) are
// the same on both servers. hostWithPort steps send a port on purpose.
const appHost = "laravel.test"

// canary is DEMO_SECRET of the example's .env: no response may contain it.
const canary = "dotenv-canary-4f1c9b2e-must-never-be-served"

// obs is one response, as observed by one client.
type obs struct {
	server  string
	status  int
	header  http.Header
	cookies []string // normalised Set-Cookie: name and attributes, no value
	body    []byte   // raw
	norm    string   // body with per-request randomness replaced
	lines   []time.Duration
	total   time.Duration
}

// step is one request, sent to both servers in turn. Steps run in order and
// each server keeps its own cookie jar, so flows (session, CSRF) carry on.
type step struct {
	name   string
	method string
	path   string
	// hostWithPort sends Host: 127.0.0.1:<port> (the server's own address)
	// instead of appHost.
	hostWithPort bool
	header       map[string]string
	// body builds the request body; it may read f.state (the CSRF token).
	body func(f *front) (io.Reader, string)
	// newVisitor starts from an empty cookie jar.
	newVisitor bool
	// serverPage: the front server answers by itself (an error or redirect
	// page), so each sends its own body.
	serverPage bool

	// Expectations checked on each server, so that two equally broken
	// answers do not pass as "identical".
	status   int
	contains []string
	// after runs on each server's response (extract a token, extra checks).
	after func(t tb, f *front, o *obs)
	// differs replaces the equality check by the assertion of a documented
	// difference.
	differs func(t tb, s step, ng, pb *obs)
	// knownBug names a phpbridge bug reported to the maintainers that this
	// step shows: its failures are logged, not fatal, until it is fixed.
	knownBug string
}

// tb is the part of *testing.T the checks use, so that a known bug's
// failures can be recorded instead of failing the test.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
}

// recorder collects a known bug's failures.
type recorder struct {
	t      *testing.T
	failed []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }
func (r *recorder) Logf(format string, args ...any)   { r.t.Logf(format, args...) }
func (r *recorder) Failed() bool                      { return len(r.failed) > 0 }

func TestLaravelBehindNginxAndPhpbridge(t *testing.T) {
	fpmtest.Require(t)
	nginx := testutil.FindBinary("nginx")
	testutil.Require(t, "nginx", "nginx-light", nginx != "")
	_, err := os.Stat(laravelAutoload)
	testutil.Require(t, "Laravel 8 ("+laravelAutoload+")", "php-laravel-framework", err == nil)

	app := copyApp(t)
	// One pool for both servers. phpbridge keeps its FastCGI connections
	// alive and PHP-FPM pins a child to each, so it gets at most 3 of the
	// 6 children and nginx (one connection per request) always finds one.
	// upload_max_filesize is raised from Debian's 2M, as any app taking
	// uploads does, so that the 3 MB upload reaches Laravel on both.
	fpm := fpmtest.Start(t, fpmtest.Options{Children: 6, PHPINI: []string{
		"upload_max_filesize = 16M", "post_max_size = 32M",
	}})
	ngAddr, ngConf := startNginx(t, nginx, app, fpm)
	pbAddr := startBridge(t, app, fpm.Address, 3)
	ng := newFront(t, "nginx", ngAddr)
	pb := newFront(t, "phpbridge", pbAddr)
	// Debian's fastcgi_params (1.22.1-9+deb12u7 and later) sets HTTP_HOST to
	// $host, which has no port; upstream nginx passes the Host header as is.
	debianHost := hasHostOverride(t)

	knownSeen = map[string][]string{}
	upload := uploadFixture()
	steps := buildSteps(upload, debianHost)

	t.Logf("nginx config:\n%s", ngConf)
	for _, s := range steps {
		s := s
		ok := t.Run(s.name, func(t *testing.T) {
			a := do(t, ng, s)
			b := do(t, pb, s)
			var c tb = t
			rec := &recorder{t: t}
			if s.knownBug != "" {
				c = rec
			}
			for _, o := range []*obs{a, b} {
				check(c, s, o)
			}
			if s.after != nil {
				s.after(c, ng, a)
				s.after(c, pb, b)
			}
			if s.differs != nil {
				s.differs(c, s, a, b)
			} else {
				compare(c, s, a, b)
			}
			switch {
			case s.knownBug != "" && len(rec.failed) > 0:
				t.Logf("KNOWN PHPBRIDGE BUG (reported) %s:\n  %s", s.knownBug, strings.Join(rec.failed, "\n  "))
				knownSeen[s.knownBug] = append(knownSeen[s.knownBug], s.name)
			case s.knownBug != "":
				t.Logf("known bug %s no longer shows: remove knownBug from step %s and its entry in docs/laravel.md", s.knownBug, s.name)
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("nginx:     %s", summary(a))
				t.Logf("phpbridge: %s", summary(b))
			}
		})
		if !ok && strings.HasPrefix(s.name, "setup") {
			t.FailNow()
		}
	}
	var seen []string
	for id := range knownSeen {
		seen = append(seen, id)
	}
	sort.Strings(seen)
	for _, id := range seen {
		t.Logf("known difference %q seen in %s", id, strings.Join(knownSeen[id], ", "))
	}
}

func buildSteps(upload []byte, debianHost bool) []step {
	sum := md5.Sum(upload)
	uploadMD5 := hex.EncodeToString(sum[:])
	formBody := func(withToken bool, name string) func(f *front) (io.Reader, string) {
		return func(f *front) (io.Reader, string) {
			v := url.Values{}
			v.Set("name", name)
			if withToken {
				v.Set("_token", f.state["csrf"])
			}
			return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
		}
	}
	extractToken := func(t tb, f *front, o *obs) {
		m := csrfInput.FindSubmatch(o.body)
		if m == nil {
			t.Fatalf("%s: no _token input in the form:\n%s", f.name, o.body)
		}
		f.state["csrf"] = string(m[1])
	}
	refused := func(path string) func(t tb, s step, ng, pb *obs) {
		return func(t tb, _ step, ng, pb *obs) {
			// nginx: "location ~ /\.(?!well-known).* { deny all; }" → 403.
			// phpbridge never admits a dotfile exists → 404.
			if ng.status != http.StatusForbidden {
				t.Errorf("nginx %s: status %d, want 403 (deny all)", path, ng.status)
			}
			if pb.status != http.StatusNotFound {
				t.Errorf("phpbridge %s: status %d, want 404", path, pb.status)
			}
		}
	}

	return []step{
		{name: "setup/home", method: "GET", path: "/", status: 200,
			contains: []string{"<h1>Laravel 8.", `href="http://laravel.test/css/app.css"`}},
		{name: "home/head", method: "HEAD", path: "/", status: 200},
		{name: "home/index.php", method: "GET", path: "/index.php", status: 200,
			contains: []string{"<h1>Laravel 8.", "Path: <code>/</code>"}},
		{name: "home/query", method: "GET", path: "/?a=1&b[]=2", status: 200},

		// Static files never reach PHP: same bytes, type and validators.
		{name: "static/css", method: "GET", path: "/css/app.css", status: 200,
			contains: []string{"--accent"}, after: sameAsFile("public/css/app.css")},
		{name: "static/css-query", method: "GET", path: "/css/app.css?v=123", status: 200,
			after: sameAsFile("public/css/app.css")},
		{name: "static/robots", method: "GET", path: "/robots.txt", status: 200,
			contains: []string{"User-agent: *"}, after: sameAsFile("public/robots.txt")},
		{name: "static/css-304", method: "GET", path: "/css/app.css", status: 304,
			header: map[string]string{"If-Modified-Since": cssMTime().UTC().Format(http.TimeFormat)}},
		{name: "static/range", method: "GET", path: "/css/app.css", status: 206,
			header: map[string]string{"Range": "bytes=0-9"}, contains: []string{"/* Static "}},
		{name: "static/head", method: "HEAD", path: "/css/app.css", status: 200},
		{name: "static/dir-no-slash", method: "GET", path: "/css", status: 301, serverPage: true},
		{name: "static/dir-no-slash-query", method: "GET", path: "/css?x=1", status: 301, serverPage: true},
		{name: "static/dir-slash", method: "GET", path: "/css/", status: 403, serverPage: true},
		{name: "static/missing-asset", method: "GET", path: "/css/missing.css", status: 404,
			contains: []string{"Not Found"}},
		{name: "static/missing-favicon", method: "GET", path: "/favicon.ico", status: 404},

		// "php artisan storage:link": public/storage → ../storage/app/public.
		{name: "static/storage-link", method: "GET", path: "/storage/avatars/1.txt", status: 200,
			contains: []string{"avatar of user 1"}},
		// A missing upload: nginx's try_files hands it to Laravel (its 404
		// page); phpbridge's alias answers 404 itself, like nginx's alias.
		{name: "static/storage-missing", method: "GET", path: "/storage/avatars/2.txt", status: 404,
			differs: func(t tb, _ step, ng, pb *obs) {
				if !bytes.Contains(ng.body, []byte("<title>Not Found</title>")) {
					t.Errorf("nginx: not Laravel's 404 page: %s", clip(ng.body))
				}
			}},

		// Secrets and sources stay private.
		{name: "private/.env", method: "GET", path: "/.env", differs: refused("/.env")},
		{name: "private/.htaccess", method: "GET", path: "/.htaccess", differs: refused("/.htaccess")},
		{name: "private/.env-encoded", method: "GET", path: "/%2eenv", differs: refused("/%2eenv")},
		{name: "private/.git", method: "GET", path: "/.git/HEAD", differs: refused("/.git/HEAD")},
		{name: "static/well-known", method: "GET", path: "/.well-known/security.txt", status: 200,
			contains: []string{"Contact:"}, after: sameAsFile("public/.well-known/security.txt")},
		{name: "private/dotdot", method: "GET", path: "/css/../../.env", status: 400, serverPage: true},
		{name: "private/missing.php", method: "GET", path: "/missing.php", status: 404,
			differs: func(t tb, _ step, ng, pb *obs) {
				// nginx hands every *.php to PHP-FPM (the canonical block has
				// no try_files there); PHP-FPM answers "File not found.".
				// phpbridge checks the script exists first (like adding
				// "try_files $uri =404;") and answers its own 404.
				if !strings.Contains(string(ng.body), "File not found.") {
					t.Errorf("nginx body %q, want PHP-FPM's \"File not found.\"", ng.body)
				}
			}},

		// Routing through the front controller.
		{name: "route/user", method: "GET", path: "/users/5?tab=posts", status: 200,
			contains: []string{`"id":"5"`, `"tab":"posts"`, `"base_url":""`}},
		{name: "route/user-encoded", method: "GET", path: "/users/caf%C3%A9?tab=a%20b&x[]=1&x[]=2", status: 200,
			contains: []string{`"id":"caf\u00e9"`, `"tab":"a b"`}},
		{name: "route/empty-query", method: "GET", path: "/users/5?", status: 200,
			contains: []string{`"query":[]`}},
		{name: "route/user-trailing-slash", method: "GET", path: "/users/5/", status: 200},
		{name: "route/path-info", method: "GET", path: "/index.php/users/5?tab=posts", status: 200,
			contains: []string{`"id":"5"`, `"tab":"posts"`, `"base_url":"\/index.php"`,
				`"url":"http:\/\/laravel.test\/index.php\/users\/5"`}},
		// An encoded slash in a route parameter (Route::get('/files/{path}')->where('path', '.*')).
		{name: "route/encoded-slash", method: "GET", path: "/files/docs%2Freport.pdf", status: 200,
			contains: []string{`"path":"docs\/report.pdf"`}},
		{name: "route/encoded-slash-nested", method: "GET", path: "/files/a/b%2Fc", status: 200,
			contains: []string{`"path":"a\/b\/c"`}},
		{name: "route/double-slash", method: "GET", path: "//users//5?tab=x"},
		{name: "route/utf8-raw", method: "GET", path: "/users/\u00fc"},
		{name: "route/options", method: "OPTIONS", path: "/json"},
		{name: "route/404", method: "GET", path: "/no/such/page", status: 404,
			contains: []string{"Not Found"}},
		{name: "route/405", method: "POST", path: "/json", newVisitor: true, status: 405},

		// Sessions (file driver) across requests, through the cookie.
		{name: "session/get-empty", method: "GET", path: "/session/get", newVisitor: true, status: 200,
			contains: []string{"v=(none)"}},
		{name: "session/put", method: "GET", path: "/session/put?v=hello%20world", status: 200,
			contains: []string{"stored"}},
		{name: "session/get", method: "GET", path: "/session/get", status: 200,
			contains: []string{"v=hello world"}},

		// CSRF: the form carries the token, bound to the session cookie.
		{name: "csrf/form", method: "GET", path: "/form", newVisitor: true, status: 200,
			contains: []string{`name="_token"`}, after: extractToken},
		{name: "csrf/post-with-token", method: "POST", path: "/form", body: formBody(true, "Ada"),
			status: 200, contains: []string{"Thanks, Ada!"}},
		{name: "csrf/post-without-token", method: "POST", path: "/form", body: formBody(false, "Eve"),
			status: 419, contains: []string{"Page Expired"}},
		{name: "csrf/post-invalid", method: "POST", path: "/form", body: formBody(true, ""),
			status: 302, header: map[string]string{"Referer": "http://laravel.test/form"}},
		{name: "csrf/form-shows-error", method: "GET", path: "/form", status: 200,
			contains: []string{`class="errors"`}},
		{name: "csrf/post-new-visitor", method: "POST", path: "/form", body: formBody(false, "Mallory"),
			newVisitor: true, status: 419},

		// Redirects, JSON, cookies.
		{name: "redirect", method: "GET", path: "/redirect", status: 302,
			after: wantHeader("Location", "http://laravel.test/target")},
		{name: "redirect/host-with-port", method: "GET", path: "/redirect", hostWithPort: true, status: 302,
			differs: hostPortDiff(debianHost)},
		{name: "json", method: "GET", path: "/json", newVisitor: true, status: 200,
			contains: []string{`"ok":true`, `"items":[1,2,3]`}, after: func(t tb, f *front, o *obs) {
				wantHeader("X-Demo", "phpbridge")(t, f, o)
				wantHeader("Content-Type", "application/json")(t, f, o)
				for _, name := range []string{"first", "second", "XSRF-TOKEN", "phpbridge_laravel_example_session"} {
					if !hasCookie(o, name) {
						t.Errorf("%s: no %s cookie in %v", f.name, name, o.cookies)
					}
				}
			}},

		{name: "headers/204-repeated-long", method: "GET", path: "/headers", status: 204,
			after: func(t tb, f *front, o *obs) {
				if n := len(o.header.Values("Link")); n != 2 {
					t.Errorf("%s: %d Link headers, want 2", f.name, n)
				}
				if n := len(o.header.Get("Content-Security-Policy")); n < 960 {
					t.Errorf("%s: Content-Security-Policy of %d bytes, want the 1 KB PHP sent", f.name, n)
				}
			}},
		// PHP's header block (4.2 KB of CSP, plus cookies) outgrows nginx's
		// fastcgi_buffer_size (one 4 KiB page): nginx answers 502 "upstream
		// sent too big header"; phpbridge has no such limit.
		{name: "headers/big-block", method: "GET", path: "/headers?csp=175",
			differs: func(t tb, _ step, ng, pb *obs) {
				if ng.status != http.StatusBadGateway {
					t.Errorf("nginx: status %d, want 502 (fastcgi_buffer_size)", ng.status)
				}
				if pb.status != http.StatusNoContent || len(pb.header.Get("Content-Security-Policy")) < 4200 {
					t.Errorf("phpbridge: status %d, CSP %d bytes; want 204 and the 4.2 KB header", pb.status, len(pb.header.Get("Content-Security-Policy")))
				}
			}},
		{name: "encoding/php", method: "GET", path: "/users/7", status: 200,
			header: map[string]string{"Accept-Encoding": "gzip, br"}},
		{name: "encoding/static", method: "GET", path: "/css/app.css", status: 200,
			header: map[string]string{"Accept-Encoding": "gzip, br"}, after: sameAsFile("public/css/app.css")},

		// A 3 MB multipart upload through $request->file().
		{name: "upload", method: "POST", path: "/upload", status: 200,
			body: func(*front) (io.Reader, string) { return multipartBody(upload) },
			contains: []string{fmt.Sprintf(`"size":%d`, len(upload)), `"md5":"` + uploadMD5 + `"`,
				`"name":"photo.bin"`, `"field":"caf\u00e9"`}},

		{name: "upload/chunked", method: "POST", path: "/upload", status: 200,
			body: func(*front) (io.Reader, string) {
				r, ct := multipartBody(upload)
				return io.MultiReader(r), ct // unknown length: sent chunked
			},
			contains: []string{fmt.Sprintf(`"size":%d`, len(upload)), `"md5":"` + uploadMD5 + `"`}},
		{name: "big-response", method: "GET", path: "/big?kb=4096", status: 200,
			after: func(t tb, f *front, o *obs) {
				if len(o.body) != 4096*1024 {
					t.Errorf("%s: %d bytes, want %d", f.name, len(o.body), 4096*1024)
				}
			}},

		// A StreamedResponse: 5 chunks, 300 ms apart. nginx buffers it
		// (fastcgi_buffering on) unless PHP says X-Accel-Buffering: no.
		{name: "stream", method: "GET", path: "/stream?n=5&ms=300", status: 200,
			contains: []string{"chunk 1 of 5\n", "chunk 5 of 5\n"}, after: streamTiming(false)},
		{name: "stream/x-accel-buffering-no", method: "GET", path: "/stream?n=5&ms=300&accel=no", status: 200,
			contains: []string{"chunk 1 of 5\n", "chunk 5 of 5\n"}, after: streamTiming(true)},

		// The CGI params PHP receives, compared key by key.
		{name: "cgi/get", method: "GET", path: "/debug/cgi?x=1&y=%2F", status: 200,
			header:  map[string]string{"X-Custom": "a", "X_Underscore": "dropped", "Proxy": "http://evil:1"},
			differs: cgiDiff},
		{name: "cgi/post", method: "POST", path: "/debug/cgi", status: 200,
			body: func(*front) (io.Reader, string) {
				return strings.NewReader("a=1&b=2"), "application/x-www-form-urlencoded"
			},
			contains: []string{`"CONTENT_LENGTH":"7"`}, differs: cgiDiff},
		{name: "cgi/post-chunked", method: "POST", path: "/debug/cgi", status: 200,
			body: func(*front) (io.Reader, string) {
				return io.MultiReader(strings.NewReader("a=1&b=2")), "application/x-www-form-urlencoded"
			},
			contains: []string{`"CONTENT_LENGTH":"7"`}, differs: cgiDiff},
		{name: "cgi/path-info", method: "GET", path: "/index.php/debug/cgi?x=1", status: 200,
			differs: cgiDiff},
	}
}

var (
	csrfInput = regexp.MustCompile(`name="_token" value="([A-Za-z0-9]{40})"`)
	csrfRand  = regexp.MustCompile(`(name="_token" value="|name="csrf-token" content=")[A-Za-z0-9]{40}"`)
)

// do sends s to f and reads the whole response.
func do(t *testing.T, f *front, s step) *obs {
	t.Helper()
	if s.newVisitor {
		f.resetJar()
	}
	var body io.Reader
	ctype := ""
	if s.body != nil {
		body, ctype = s.body(f)
	}
	req, err := http.NewRequest(s.method, f.base+s.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = appHost
	if s.hostWithPort {
		req.Host = f.addr
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range s.header {
		if k == "X_Underscore" {
			req.Header[k] = []string{v} // not canonicalised: the underscore is the point
			continue
		}
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("%s: %s %s: %v", f.name, s.method, s.path, err)
	}
	defer resp.Body.Close()
	raw, lines, err := readAll(resp.Body, start)
	if err != nil {
		t.Fatalf("%s: reading %s: %v", f.name, s.path, err)
	}
	o := &obs{server: f.name, status: resp.StatusCode, header: resp.Header, body: raw, lines: lines, total: time.Since(start)}
	o.norm = csrfRand.ReplaceAllString(string(raw), `${1}<csrf>"`)
	for _, c := range resp.Cookies() {
		o.cookies = append(o.cookies, normCookie(c))
	}
	sort.Strings(o.cookies)
	return o
}

// normCookie keeps what a browser acts on, minus the value (encrypted,
// random) and the absolute expiry date (derived from the clock).
func normCookie(c *http.Cookie) string {
	var b strings.Builder
	b.WriteString(c.Name)
	fmt.Fprintf(&b, "; Path=%s", c.Path)
	if c.Domain != "" {
		fmt.Fprintf(&b, "; Domain=%s", c.Domain)
	}
	if c.MaxAge > 0 {
		// PHP computes Max-Age from an expiry time, so a second may tick
		// between two answers: compare it to the minute.
		fmt.Fprintf(&b, "; Max-Age=%d", (c.MaxAge+30)/60*60)
	} else if c.MaxAge < 0 {
		b.WriteString("; Max-Age=0")
	}
	if !c.Expires.IsZero() {
		b.WriteString("; Expires=<set>")
	}
	if c.HttpOnly {
		b.WriteString("; HttpOnly")
	}
	if c.Secure {
		b.WriteString("; Secure")
	}
	switch c.SameSite {
	case http.SameSiteLaxMode:
		b.WriteString("; SameSite=Lax")
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	}
	return b.String()
}

func hasCookie(o *obs, name string) bool {
	for _, c := range o.cookies {
		if c == name || strings.HasPrefix(c, name+";") {
			return true
		}
	}
	return false
}

// check applies a step's own expectations to one server's answer, plus the
// rules every answer obeys.
func check(t tb, s step, o *obs) {
	t.Helper()
	if s.status != 0 && o.status != s.status {
		t.Errorf("%s: %s %s: status %d, want %d\n%s", o.server, s.method, s.path, o.status, s.status, clip(o.body))
	}
	for _, want := range s.contains {
		if !bytes.Contains(o.body, []byte(want)) {
			t.Errorf("%s: %s %s: body lacks %q\n%s", o.server, s.method, s.path, want, clip(o.body))
		}
	}
	if bytes.Contains(o.body, []byte(canary)) {
		t.Errorf("%s: %s %s: the response leaks .env's DEMO_SECRET", o.server, s.method, s.path)
	}
	if bytes.Contains(o.body, []byte("<?php")) {
		t.Errorf("%s: %s %s: the response contains PHP source", o.server, s.method, s.path)
	}
}

// ignoredHeaders legitimately differ between two servers: who they are,
// when they answered and how the body is framed on the wire.
var ignoredHeaders = map[string]bool{
	"Date": true, "Server": true, "Connection": true, "Keep-Alive": true,
	"Transfer-Encoding": true, "Content-Length": true, "Set-Cookie": true,
}

// knownDiff is a difference between nginx and phpbridge that the test
// tolerates and logs; docs/laravel.md explains each. bug marks the ones
// reported as phpbridge bugs: when they are fixed the headers are equal and
// the entry no longer matches.
type knownDiff struct {
	id    string
	bug   bool
	match func(s step, header, ng, pb string, ngObs, pbObs *obs) bool
}

var knownDiffs = []knownDiff{
	{id: "static-charset", match: func(s step, h, ng, pb string, _, _ *obs) bool {
		// phpbridge labels text/* files UTF-8; nginx sends the bare type
		// (it adds a charset only with a "charset" directive, and then not
		// to text/css).
		return h == "Content-Type" && strings.HasPrefix(ng, "text/") && pb == ng+"; charset=utf-8"
	}},
	{id: "static-weak-etag", match: func(s step, h, ng, pb string, _, _ *obs) bool {
		// Same "mtime-size" tag; phpbridge marks it weak, nginx strong.
		return h == "Etag" && pb == "W/"+ng
	}},
	{id: "304-no-last-modified", match: func(s step, h, ng, pb string, o, _ *obs) bool {
		// RFC 9110 15.4.5 lets a 304 that has an ETag omit Last-Modified.
		return h == "Last-Modified" && o.status == 304 && pb == ""
	}},
	{id: "206-accept-ranges", match: func(s step, h, ng, pb string, o, _ *obs) bool {
		// nginx drops Accept-Ranges from a 206; phpbridge keeps it.
		return h == "Accept-Ranges" && o.status == 206 && ng == "" && pb == "bytes"
	}},
	{id: "error-page-type", match: func(s step, h, ng, pb string, _, _ *obs) bool {
		// nginx's own error pages are HTML, phpbridge's plain text.
		return s.serverPage && h == "Content-Type" && ng == "text/html" && pb == "text/plain; charset=utf-8"
	}},
	{id: "dir-redirect-relative", match: func(s step, h, ng, pb string, o, _ *obs) bool {
		// nginx makes the Location absolute from server_name and the
		// listen port (absolute_redirect, port_in_redirect); a relative one
		// is as valid (RFC 9110 10.2.2).
		u, err := url.Parse(ng)
		return h == "Location" && o.status == 301 && err == nil && u.IsAbs() && pb == u.RequestURI()
	}},
	{id: "x-accel-buffering-passed", match: func(s step, h, ng, pb string, _, _ *obs) bool {
		// nginx consumes X-Accel-* response headers; phpbridge passes
		// them to the client (harmless, it does not buffer anyway).
		return h == "X-Accel-Buffering" && ng == "" && pb != ""
	}},
}

// knownSeen collects which known differences showed up, for the summary.
var knownSeen = map[string][]string{}

func tolerated(t tb, s step, h, a, b string, ng, pb *obs) bool {
	t.Helper()
	for _, kd := range knownDiffs {
		if kd.match(s, h, a, b, ng, pb) {
			kind := "known difference"
			if kd.bug {
				kind = "KNOWN PHPBRIDGE BUG (reported)"
			}
			t.Logf("%s %s: %s: nginx %q, phpbridge %q", kind, kd.id, h, a, b)
			knownSeen[kd.id] = append(knownSeen[kd.id], s.name)
			return true
		}
	}
	return false
}

// compare asserts that two answers are equal in what a browser or API
// client acts on.
func compare(t tb, s step, ng, pb *obs) {
	t.Helper()
	if ng.status != pb.status {
		t.Errorf("status: nginx %d, phpbridge %d", ng.status, pb.status)
	}
	compareHeaders(t, s, ng, pb)
	if strings.Join(ng.cookies, "\n") != strings.Join(pb.cookies, "\n") {
		t.Errorf("Set-Cookie:\nnginx:\n  %s\nphpbridge:\n  %s", strings.Join(ng.cookies, "\n  "), strings.Join(pb.cookies, "\n  "))
	}
	switch {
	case ng.norm == pb.norm:
	case s.serverPage:
		t.Logf("known difference error-page-body: each server's own page (nginx %d bytes, phpbridge %d bytes)", len(ng.body), len(pb.body))
		knownSeen["error-page-body"] = append(knownSeen["error-page-body"], s.name)
	default:
		t.Errorf("bodies differ:\nnginx:\n%s\nphpbridge:\n%s", clip([]byte(ng.norm)), clip([]byte(pb.norm)))
	}
}

// compareHeaders compares every response header but those that name the
// server, the time or the framing; Content-Length only when both framed
// the body with it (nginx streams PHP's output chunked).
func compareHeaders(t tb, s step, ng, pb *obs) {
	t.Helper()
	names := map[string]bool{}
	for k := range ng.header {
		names[k] = true
	}
	for k := range pb.header {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if ignoredHeaders[k] {
			continue
		}
		a, b := strings.Join(ng.header.Values(k), "\n"), strings.Join(pb.header.Values(k), "\n")
		if a != b && !tolerated(t, s, k, a, b, ng, pb) {
			t.Errorf("header %s: nginx %q, phpbridge %q", k, a, b)
		}
	}
	a, b := ng.header.Get("Content-Length"), pb.header.Get("Content-Length")
	if a != "" && b != "" && a != b && !s.serverPage {
		t.Errorf("Content-Length: nginx %s, phpbridge %s", a, b)
	}
}

func wantHeader(name, value string) func(t tb, f *front, o *obs) {
	return func(t tb, f *front, o *obs) {
		t.Helper()
		if got := o.header.Get(name); got != value {
			t.Errorf("%s: %s %q, want %q", f.name, name, got, value)
		}
	}
}

// sameAsFile asserts the body is the file's bytes (or, for 304, empty).
func sameAsFile(rel string) func(t tb, f *front, o *obs) {
	return func(t tb, f *front, o *obs) {
		t.Helper()
		want, err := os.ReadFile(rel)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if !bytes.Equal(o.body, want) {
			t.Errorf("%s: body is not %s's bytes", f.name, rel)
		}
	}
}

func cssMTime() time.Time {
	info, err := os.Stat("public/css/app.css")
	if err != nil {
		return time.Time{}
	}
	return info.ModTime()
}

// hostPortDiff: with Host "127.0.0.1:port", Laravel builds the redirect
// from HTTP_HOST. Upstream nginx and phpbridge pass the Host header as is;
// Debian's fastcgi_params overrides HTTP_HOST with $host, which drops the
// port, so Laravel redirects to port 80.
func hostPortDiff(debianHost bool) func(t tb, s step, ng, pb *obs) {
	return func(t tb, _ step, ng, pb *obs) {
		pbWant := "http://" + pbAddrOf(pb) + "/target"
		if got := pb.header.Get("Location"); got != pbWant {
			t.Errorf("phpbridge Location %q, want %q (the Host header as sent)", got, pbWant)
		}
		ngLoc := ng.header.Get("Location")
		if debianHost {
			if ngLoc != "http://127.0.0.1/target" {
				t.Errorf("nginx Location %q, want http://127.0.0.1/target (Debian's HTTP_HOST=$host drops the port)", ngLoc)
			}
		} else if !strings.HasPrefix(ngLoc, "http://127.0.0.1:") {
			t.Errorf("nginx Location %q, want the port kept", ngLoc)
		}
	}
}

// pbAddrOf is the Host phpbridge was sent, recovered from its redirect.
func pbAddrOf(o *obs) string {
	u, err := url.Parse(o.header.Get("Location"))
	if err != nil {
		return ""
	}
	return u.Host
}

// hasHostOverride reports whether Debian's fastcgi_params sets HTTP_HOST.
func hasHostOverride(t *testing.T) bool {
	b, err := os.ReadFile("/etc/nginx/fastcgi_params")
	if err != nil {
		t.Fatalf("reading /etc/nginx/fastcgi_params: %v", err)
	}
	return regexp.MustCompile(`(?m)^\s*fastcgi_param\s+HTTP_HOST\s+\$host;`).Match(b)
}

// streamTiming: the chunks reach the client as PHP flushes them, through
// phpbridge always, through nginx only when PHP disabled its buffering.
func streamTiming(nginxStreams bool) func(t tb, f *front, o *obs) {
	return func(t tb, f *front, o *obs) {
		t.Helper()
		if len(o.lines) != 5 {
			t.Errorf("%s: %d lines, want 5", f.name, len(o.lines))
			return
		}
		first, last := o.lines[0], o.lines[4]
		t.Logf("%s: the 5 lines arrived at %v", f.name, o.lines)
		// PHP spends 4 × 300 ms between the first and last chunk; a
		// buffered answer delivers them within microseconds. Half of it
		// leaves room for a loaded machine.
		streamed := last-first >= 600*time.Millisecond
		switch {
		case f.name == "phpbridge" && !streamed:
			t.Errorf("phpbridge: chunks arrived together (first at %v, last at %v): buffered, not streamed", first, last)
		case f.name == "nginx" && nginxStreams && !streamed:
			t.Errorf("nginx: buffered despite X-Accel-Buffering: no (first at %v, last at %v)", first, last)
		case f.name == "nginx" && !nginxStreams && streamed:
			t.Logf("nginx streamed without X-Accel-Buffering: no")
		case f.name == "nginx" && !nginxStreams:
			t.Logf("known difference nginx-buffers-stream: nginx held the chunks until PHP finished (fastcgi_buffering)")
			knownSeen["nginx-buffers-stream"] = append(knownSeen["nginx-buffers-stream"], "stream")
		}
	}
}

// cgiDiff compares the CGI params PHP received. Values that name the
// server or the connection differ by nature; PATH_INFO is phpbridge's
// fastcgi_split_path_info, which the canonical block does not have.
func cgiDiff(t tb, s step, ng, pb *obs) {
	t.Helper()
	compareHeaders(t, s, ng, pb)
	var a, b map[string]any
	if err := json.Unmarshal(ng.body, &a); err != nil {
		t.Fatalf("nginx: not JSON: %v\n%s", err, clip(ng.body))
	}
	if err := json.Unmarshal(pb.body, &b); err != nil {
		t.Fatalf("phpbridge: not JSON: %v\n%s", err, clip(pb.body))
	}
	differ := map[string]bool{"REMOTE_PORT": true, "SERVER_PORT": true, "SERVER_SOFTWARE": true}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		va, inA := a[k]
		vb, inB := b[k]
		switch {
		case differ[k]:
			if !inA || !inB {
				t.Errorf("%s: nginx %v (set %v), phpbridge %v (set %v)", k, va, inA, vb, inB)
			}
		case strings.HasPrefix(k, "PHPBRIDGE_") && !inA:
			// phpbridge's own params (PHPBRIDGE_CONTROL, PHPBRIDGE_TOKEN).
			// Others, like PHPBRIDGE_REQUIRE_PHP, come from the
			// environment of PHP-FPM (clear_env = no) on both.
		case k == "PATH_INFO" || k == "PATH_TRANSLATED":
			// Only phpbridge splits; nginx's canonical block does not.
			if inA {
				t.Errorf("nginx sent %s=%v", k, va)
			}
		case k == "HTTP_COOKIE":
			// Encrypted values differ; the names and order must not.
			if cookieNames(va) != cookieNames(vb) {
				t.Errorf("HTTP_COOKIE names: nginx %s, phpbridge %s", cookieNames(va), cookieNames(vb))
			}
		case k == "REMOTE_USER" && inA && va == "" && !inB:
			// fastcgi_params sends REMOTE_USER $remote_user, empty without
			// auth_basic; phpbridge leaves it out.
			t.Logf("known difference remote-user-empty: nginx REMOTE_USER=\"\", phpbridge unset")
			knownSeen["remote-user-empty"] = append(knownSeen["remote-user-empty"], s.name)
		case k == "PHP_SELF" && b["PATH_INFO"] != nil:
			// PHP derives PHP_SELF from SCRIPT_NAME + PATH_INFO.
		case k == "DOCUMENT_URI" && inB && b["PATH_INFO"] != nil:
			// nginx: the URI after try_files' rewrite ("/index.php");
			// phpbridge: the request path ("/index.php/debug/cgi"), as
			// nginx with fastcgi_split_path_info gives.
		case inA != inB || fmt.Sprint(va) != fmt.Sprint(vb):
			t.Errorf("%s: nginx %q (set %v), phpbridge %q (set %v)", k, fmt.Sprint(va), inA, fmt.Sprint(vb), inB)
		}
	}
	if _, ok := b["HTTP_PROXY"]; ok {
		t.Errorf("phpbridge passed HTTP_PROXY (httpoxy)")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("nginx CGI:     %s", ng.body)
		t.Logf("phpbridge CGI: %s", pb.body)
	}
}

// cookieNames lists the names of a Cookie header's pairs.
func cookieNames(v any) string {
	var names []string
	for _, pair := range strings.Split(fmt.Sprint(v), ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(pair), "=")
		names = append(names, name)
	}
	return strings.Join(names, ",")
}

// uploadFixture is 3 MB of deterministic noise.
func uploadFixture() []byte {
	b := make([]byte, 3<<20)
	rand.New(rand.NewSource(42)).Read(b)
	return b
}

func multipartBody(content []byte) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("note", "café")
	fw, _ := w.CreateFormFile("file", "photo.bin")
	_, _ = fw.Write(content)
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

func summary(o *obs) string {
	keys := make([]string, 0, len(o.header))
	for k := range o.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var h []string
	for _, k := range keys {
		if k == "Set-Cookie" {
			continue
		}
		h = append(h, k+": "+strings.Join(o.header.Values(k), ", "))
	}
	return fmt.Sprintf("%d {%s} cookies=%v body(%d)=%q", o.status, strings.Join(h, "; "), o.cookies, len(o.body), clip(o.body))
}

func clip(b []byte) []byte {
	if len(b) > 600 {
		return append(b[:600:600], "…"...)
	}
	return b
}
