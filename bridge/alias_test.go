package bridge

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// aliasProject is a Laravel-like project: public/ (the root, with a front
// controller that says so) and storage/app/public (the alias directory),
// with files and symlinks for everything an alias must refuse.
var aliasProject = map[string]string{
	"index.php": `<?php echo "FRONT ", $_SERVER["REQUEST_URI"];`,
	"app.css":   "root-css",
	// Same name as the alias's script: an alias PHP route would run this
	// one (SCRIPT_FILENAME is php-root + the script's URI).
	"shell.php": `<?php echo "ROOT-RAN";`,
	// Relative to public/: the alias directory and what lies around it.
	"../storage/app/public/avatars/a.png":     "PNGDATA",
	"../storage/app/public/doc.txt":           "0123456789",
	"../storage/app/public/app.js":            "IDENTITY",
	"../storage/app/public/app.js.br":         "BROTLI",
	"../storage/app/public/.env":              "ALIAS-DOTFILE",
	"../storage/app/public/.hidden/x.txt":     "ALIAS-HIDDEN",
	"../storage/app/public/.well-known/x.txt": "ALIAS-WELLKNOWN",
	"../storage/app/public/shell.php":         `<?php echo "EXECUTED";`,
	"../storage/app/public/tpl.phtml":         `<?php echo "EXECUTED";`,
	"../storage/app/public/sub/index.php":     `<?php echo "EXECUTED";`,
	"../storage/app/public/html/index.html":   "<p>idx</p>",
	"../storage/app/public/%2e%2e/secret.txt": "literal percent dir",
	"../storage/secret.txt":                   "STORAGE-SECRET",
	"../secret.txt":                           "PROJECT-SECRET",
	"../outside/secret.txt":                   "OUTSIDE-SECRET",
	"../media/a.txt":                          "MEDIA-A",
	"../media-big/a.txt":                      "MEDIA-BIG-A",
	"../media/big/only-in-media.txt":          "SHADOWED",
}

// aliasLinks are created (name relative to the project dir → target; a
// target starting with "@" is made absolute under the project dir).
var aliasLinks = map[string]string{
	"public/storage":                      "@storage/app/public", // artisan storage:link: absolute, leaves the root
	"public/outdir":                       "../outside",          // leaves the root, no alias
	"storage/app/public/in.txt":           "doc.txt",             // inside the alias dir: served
	"storage/app/public/leak.txt":         "../../secret.txt",    // leaves the alias dir
	"storage/app/public/leakdir":          "../..",               // directory leaving it
	"storage/app/public/abs.txt":          "@storage/app/public/doc.txt",
	"storage/app/public/outphp.php":       "../../../outside/secret.txt",
	"storage/app/public/avatars/up.png":   "../../secret.txt",
	"storage/app/public/avatars/same.png": "a.png",
}

func makeAliasLinks(t *testing.T, dir string) {
	t.Helper()
	for name, target := range aliasLinks {
		if rest, ok := strings.CutPrefix(target, "@"); ok {
			target = filepath.Join(dir, rest)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

// startAliasApp serves aliasProject with the given aliases ("" DIRs are
// relative to the project dir, which the test does not chdir into, so
// they are made absolute here).
func startAliasApp(t *testing.T, aliases ...string) *testApp {
	t.Helper()
	return startApp(t, aliasProject, nil, func(c *Config) {
		dir := filepath.Dir(c.Root)
		makeAliasLinks(t, dir)
		for _, a := range aliases {
			prefix, d, _ := strings.Cut(a, "=")
			c.StaticAliases = append(c.StaticAliases, prefix+"="+filepath.Join(dir, d))
		}
	})
}

// rawGet sends rawPath exactly as written on the request line (no client
// cleaning or re-encoding), with header name/value pairs.
func (a *testApp) rawGet(method, rawPath string, headers ...string) (*http.Response, string) {
	a.t.Helper()
	u, err := url.Parse(a.URL)
	if err != nil {
		a.t.Fatal(err)
	}
	u.Opaque = rawPath
	req := &http.Request{Method: method, URL: u, Host: u.Host, Header: http.Header{}}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return a.do(req)
}

func TestAliasServe(t *testing.T) {
	app := startAliasApp(t, "/storage=storage/app/public", "/media=media", "/media/big/=media-big")
	secrets := []string{"SECRET", "EXECUTED", "RAN", "ALIAS-", "<?php", "SHADOWED"}
	tests := []struct {
		name, method, path string
		headers            []string
		status             int
		body               string // exact body, when set
		contains           string // substring of the body, when set
		header             map[string]string
	}{
		// Hits, with the Static features.
		{name: "hit", path: "/storage/avatars/a.png", status: 200, body: "PNGDATA",
			header: map[string]string{"Content-Type": "image/png", "Accept-Ranges": "bytes"}},
		{name: "hit with query", path: "/storage/doc.txt?v=3", status: 200, body: "0123456789",
			header: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{name: "range", path: "/storage/doc.txt", headers: []string{"Range", "bytes=2-4"}, status: 206, body: "234",
			header: map[string]string{"Content-Range": "bytes 2-4/10"}},
		{name: "brotli sibling", path: "/storage/app.js", headers: []string{"Accept-Encoding", "br"}, status: 200, body: "BROTLI",
			header: map[string]string{"Content-Encoding": "br", "Content-Type": "text/javascript; charset=utf-8", "Vary": "Accept-Encoding"}},
		{name: "identity without br", path: "/storage/app.js", status: 200, body: "IDENTITY"},
		{name: "HEAD", method: "HEAD", path: "/storage/doc.txt", status: 200, body: ""},
		{name: "POST is 405", method: "POST", path: "/storage/doc.txt", status: 405, header: map[string]string{"Allow": "GET, HEAD"}},
		{name: "encoded name", path: "/storage/%61vatars/a%2Epng", status: 200, body: "PNGDATA"},
		{name: "symlink inside alias", path: "/storage/in.txt", status: 200, body: "0123456789"},
		{name: "symlink inside subdir", path: "/storage/avatars/same.png", status: 200, body: "PNGDATA"},
		{name: "dir index.html", path: "/storage/html/", status: 200, body: "<p>idx</p>"},
		{name: "literal %2e%2e dir", path: "/storage/%252e%252e/secret.txt", status: 200, body: "literal percent dir"},
		{name: "longest prefix wins", path: "/media/big/a.txt", status: 200, body: "MEDIA-BIG-A"},
		{name: "shorter prefix", path: "/media/a.txt", status: 200, body: "MEDIA-A"},
		{name: "shadowed by longer prefix", path: "/media/big/only-in-media.txt", status: 404},

		// Directories.
		{name: "prefix without slash", path: "/storage", status: 301, header: map[string]string{"Location": "/storage/"}},
		{name: "prefix with query", path: "/storage?x=1", status: 301, header: map[string]string{"Location": "/storage/?x=1"}},
		{name: "subdir without slash", path: "/storage/avatars", status: 301, header: map[string]string{"Location": "/storage/avatars/"}},
		{name: "alias dir without index", path: "/storage/", status: 403},
		{name: "subdir without index", path: "/storage/avatars/", status: 403},

		// Misses are 404, never the front controller.
		{name: "missing file", path: "/storage/avatars/nope.png", status: 404},
		{name: "missing dir", path: "/storage/nope/x.png", status: 404},
		{name: "file as dir", path: "/storage/doc.txt/", status: 404},
		{name: "encoded slash", path: "/storage/avatars%2Fa.png", status: 404},
		{name: "encoded slash below", path: "/storage/x/a%2fb", status: 404},

		// Dotfiles.
		{name: "dotfile", path: "/storage/.env", status: 404},
		{name: "encoded dotfile", path: "/storage/%2eenv", status: 404},
		{name: "hidden dir", path: "/storage/.hidden/x.txt", status: 404},
		{name: ".well-known under alias", path: "/storage/.well-known/x.txt", status: 404},

		// PHP source is never served nor run.
		{name: "php", path: "/storage/shell.php", status: 404},
		{name: "php path info", path: "/storage/shell.php/x", status: 404},
		{name: "php upper case", path: "/storage/shell.PHP", status: 404},
		{name: "phtml", path: "/storage/tpl.phtml", status: 404},
		{name: "dir with only index.php", path: "/storage/sub/", status: 403},
		{name: "missing php", path: "/storage/nope.php", status: 404},
		{name: "php symlink out", path: "/storage/outphp.php", status: 404},

		// Symlinks leaving the alias directory.
		{name: "relative symlink out", path: "/storage/leak.txt", status: 404},
		{name: "symlink out from subdir", path: "/storage/avatars/up.png", status: 404},
		{name: "dir symlink out", path: "/storage/leakdir/secret.txt", status: 404},
		{name: "absolute symlink", path: "/storage/abs.txt", status: 404},

		// ".." cannot climb out of the alias: it leaves the prefix, and the
		// path is the root's again (the front controller), or above / (400).
		{name: "dotdot to root", path: "/storage/../secret.txt", status: 200, contains: "FRONT /storage/../secret.txt"},
		{name: "dotdot encoded", path: "/storage/%2e%2e/secret.txt", status: 200, contains: "FRONT "},
		{name: "dotdot mixed case", path: "/storage/%2E%2e/%2e%2E/secret.txt", status: 400},
		{name: "dotdot above root", path: "/storage/../../secret.txt", status: 400},
		{name: "dotdot in subdir", path: "/storage/avatars/../../storage/secret.txt", status: 404},
		{name: "dotdot encoded slash", path: "/storage/..%2f..%2fsecret.txt", status: 404},
		{name: "dotdot backslash", path: "/storage/..%5c..%5csecret.txt", status: 404},
		{name: "raw backslash", path: "/storage/..\\secret.txt", status: 400},
		{name: "NUL", path: "/storage/doc.txt%00.png", status: 400},

		// Outside the prefix: the root as before.
		{name: "prefix is a whole segment", path: "/storageX/doc.txt", status: 200, contains: "FRONT /storageX/doc.txt"},
		{name: "root file", path: "/app.css", status: 200, body: "root-css"},
		{name: "root front controller", path: "/users/1", status: 200, body: "FRONT /users/1"},
		{name: "root escaping symlink", path: "/outdir/secret.txt", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			resp, body := app.rawGet(method, tt.path, tt.headers...)
			if resp.StatusCode != tt.status {
				t.Errorf("%s %s: status %d, want %d; body %q", method, tt.path, resp.StatusCode, tt.status, body)
			}
			if tt.body != "" && body != tt.body || tt.body == "" && tt.status == 200 && tt.contains == "" && body != "" {
				t.Errorf("%s %s: body %q, want %q", method, tt.path, body, tt.body)
			}
			if tt.contains != "" && !strings.Contains(body, tt.contains) {
				t.Errorf("%s %s: body %q, want it to contain %q", method, tt.path, body, tt.contains)
			}
			for _, s := range secrets {
				if strings.Contains(body, s) {
					t.Errorf("%s %s: body %q leaks %q", method, tt.path, body, s)
				}
			}
			if resp.StatusCode == 404 && strings.Contains(body, "FRONT") {
				t.Errorf("%s %s: a miss reached the front controller", method, tt.path)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s %s: %s = %q, want %q", method, tt.path, k, got, v)
				}
			}
		})
	}
}

func TestAliasConditional(t *testing.T) {
	app := startAliasApp(t, "/storage=storage/app/public")
	resp, _ := app.rawGet("GET", "/storage/avatars/a.png")
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if etag == "" || lm == "" {
		t.Fatalf("ETag %q, Last-Modified %q: want both", etag, lm)
	}
	for _, h := range [][]string{{"If-None-Match", etag}, {"If-Modified-Since", lm}} {
		resp, body := app.rawGet("GET", "/storage/avatars/a.png", h...)
		if resp.StatusCode != 304 || body != "" {
			t.Errorf("%s: status %d body %q, want 304 and no body", h[0], resp.StatusCode, body)
		}
	}
}

func TestAliasWarnEscapingLink(t *testing.T) {
	for _, tt := range []struct {
		name    string
		aliases []string
		warn    bool
	}{
		{"no alias", nil, true},
		{"alias covers it", []string{"/storage=storage/app/public"}, false},
		{"alias elsewhere", []string{"/files=storage/app/public"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := startAliasApp(t, tt.aliases...)
			target, err := filepath.EvalSymlinks(filepath.Join(app.Dir, "storage/app/public"))
			if err != nil {
				t.Fatal(err)
			}
			fix := `fix="--static-alias /storage=` + target + `"`
			logs := app.Log()
			if got := strings.Count(logs, fix); got != btoi(tt.warn) {
				t.Errorf("lines with %s: %d, want %d; log:\n%s", fix, got, btoi(tt.warn), logs)
			}
			if tt.warn && !strings.Contains(logs, "level=WARN msg=\"symlink in the root leads out of it and will not be served") {
				t.Errorf("no WARN line; log:\n%s", logs)
			}
			// public/outdir is never covered: always one WARN of its own.
			if got := strings.Count(logs, "path=/outdir"); got != 1 {
				t.Errorf("WARN lines for /outdir: %d, want 1; log:\n%s", got, logs)
			}
			if strings.Contains(logs, "path=/app.css") || strings.Contains(logs, "path=/index.php") {
				t.Errorf("WARN for a plain file; log:\n%s", logs)
			}
			// Without a covering alias, the root's escaping symlink stays 404.
			want := 200
			if tt.warn {
				want = 404
			}
			if resp, body := app.rawGet("GET", "/storage/doc.txt"); resp.StatusCode != want {
				t.Errorf("/storage/doc.txt: %d %q, want %d", resp.StatusCode, body, want)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestAliasConfig(t *testing.T) {
	base := t.TempDir()
	writeFiles(t, base, map[string]string{"public/index.php": "", "assets/a.txt": "", "file.txt": ""})
	t.Chdir(base)
	tests := []struct {
		name    string
		aliases []string
		want    []string // the static-alias errors, by substring; none if empty
		abs     []string // the defaulted entries, when checked
	}{
		{name: "none"},
		{name: "relative dir made absolute", aliases: []string{"/assets=assets", "/x/=./assets/"},
			abs: []string{"/assets=" + filepath.Join(base, "assets"), "/x=" + filepath.Join(base, "assets")}},
		{name: "well-known", aliases: []string{"/.well-known/acme-challenge=assets"}},
		{name: "no equals", aliases: []string{"/assets"}, want: []string{`must be URLPREFIX=DIR`}},
		{name: "empty dir", aliases: []string{"/assets="}, want: []string{`must be URLPREFIX=DIR`}},
		{name: "no slash", aliases: []string{"assets=assets"}, want: []string{`must start with "/"`}},
		{name: "root prefix", aliases: []string{"/=assets"}, want: []string{`below "/"`}},
		{name: "dotdot", aliases: []string{"/a/../b=assets"}, want: []string{`".."`}},
		{name: "dot", aliases: []string{"/a/./b=assets"}, want: []string{`".."`}},
		{name: "double slash", aliases: []string{"//a=assets"}, want: []string{`empty`}},
		{name: "dotfile", aliases: []string{"/.git=assets"}, want: []string{"dot segments"}},
		{name: "percent", aliases: []string{"/a%2fb=assets"}, want: []string{"plain decoded path"}},
		{name: "duplicate", aliases: []string{"/a=assets", "/a/=assets"}, want: []string{"more than once"}},
		{name: "missing dir", aliases: []string{"/a=nope"}, want: []string{"not an existing directory"}},
		{name: "file not dir", aliases: []string{"/a=file.txt"}, want: []string{"not an existing directory"}},
		{name: "every problem at once", aliases: []string{"a=assets", "/b=nope"}, want: []string{`"a=assets"`, `/b: DIR "` + filepath.Join(base, "nope")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := append([]string(nil), tt.aliases...)
			c := Config{Root: "public", StaticAliases: tt.aliases}.WithDefaults()
			if !equalStrings(tt.aliases, orig) {
				t.Errorf("WithDefaults changed the caller's slice: %q", tt.aliases)
			}
			if tt.abs != nil && !equalStrings(c.StaticAliases, tt.abs) {
				t.Errorf("defaulted %q, want %q", c.StaticAliases, tt.abs)
			}
			var got []string
			if err := c.Validate(); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					if strings.HasPrefix(line, "static-alias: ") {
						got = append(got, line)
					} else {
						t.Errorf("unrelated error: %s", line)
					}
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("errors %q, want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("error %q does not say %q", got[i], w)
				}
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
