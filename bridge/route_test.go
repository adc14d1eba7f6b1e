package bridge

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// routeTree builds a document root with one example of everything Resolve
// tells apart, plus a directory beside it that symlinks point into. It
// returns the root (symlinks resolved, as the fuzz invariant needs).
func routeTree(t testing.TB) (root string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root = filepath.Join(base, "public")
	files := map[string]string{
		"public/index.php":                    "<?php // front controller",
		"public/info.php":                     "<?php phpinfo();",
		"public/sub/info.php":                 "<?php",
		"public/app.css":                      "body{}",
		"public/app.php.bak":                  "<?php // backup",
		"public/config.inc":                   "<?php $secret = 1;",
		"public/Upper.PHP":                    "<?php",
		"public/tpl.phtml":                    "<?php",
		"public/old.php5":                     "<?php",
		"public/.env":                         "APP_KEY=secret",
		"public/.htaccess":                    "deny from all",
		"public/.git/HEAD":                    "ref: refs/heads/main",
		"public/x/.hidden":                    "hidden",
		"public/x/y.txt":                      "y",
		"public/.well-known/acme-challenge/x": "token",
		"public/dir/index.html":               "<h1>dir</h1>",
		"public/dir/index.php":                "<?php",
		"public/phpdir/index.php":             "<?php",
		"public/lib.php/x":                    "x",
		"public/%2e%2e/y":                     "literal percent name",
		"public/sp ace/ü.txt":                 "unicode",
		"outside/secret.txt":                  "secret",
		"outside/evil.php":                    "<?php",
		"outside/index.html":                  "outside",
	}
	for name, body := range files {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"public/emptydir"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"public/inlink.css":   "app.css",                      // inside: works
		"public/indir":        "dir",                          // inside dir: works
		"public/outlink.txt":  "../outside/secret.txt",        // relative, escapes
		"public/outdir":       "../outside",                   // directory escaping
		"public/outevil.php":  "../outside/evil.php",          // PHP escaping
		"public/abslink.css":  filepath.Join(root, "app.css"), // absolute: refused by os.Root
		"public/dangling.css": "nope.css",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(base, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestRouteResolve(t *testing.T) {
	root := routeTree(t)
	r, err := NewRouter(root, "index.php")
	if err != nil {
		t.Fatal(err)
	}
	fc := func(p string) Route {
		return Route{Kind: RoutePHP, Path: p, File: root + "/index.php", ScriptName: "/index.php"}
	}
	static := func(p string) Route { return Route{Kind: RouteStatic, Path: p, File: root + p} }
	notFound := func(p string) Route { return Route{Kind: RouteNotFound, Path: p} }
	bad := Route{Kind: RouteBadRequest}
	tests := []struct {
		raw  string
		want Route
	}{
		// Static files and the front controller.
		{"/app.css", static("/app.css")},
		{"/app.css?v=1", static("/app.css")},
		{"/%61pp.css", static("/app.css")},
		{"//app.css", static("/app.css")},
		{"/x/../app.css", static("/app.css")},
		{"/./app.css", static("/app.css")},
		{"/app.css/", fc("/app.css/")},
		{"/app.css/more", fc("/app.css/more")},
		{"/app.php.bak", static("/app.php.bak")},
		{"/sp%20ace/%C3%BC.txt", static("/sp ace/ü.txt")},
		{"/users/42/edit", fc("/users/42/edit")},
		{"/missing.css", fc("/missing.css")},
		{"/missing.phtml", fc("/missing.phtml")},

		// PHP scripts and PATH_INFO.
		{"/index.php", Route{Kind: RoutePHP, Path: "/index.php", File: root + "/index.php", ScriptName: "/index.php"}},
		{"/index.php/foo/bar", Route{Kind: RoutePHP, Path: "/index.php/foo/bar", File: root + "/index.php", ScriptName: "/index.php", PathInfo: "/foo/bar"}},
		{"/index.php/", Route{Kind: RoutePHP, Path: "/index.php/", File: root + "/index.php", ScriptName: "/index.php", PathInfo: "/"}},
		{"/sub/info.php", Route{Kind: RoutePHP, Path: "/sub/info.php", File: root + "/sub/info.php", ScriptName: "/sub/info.php"}},
		{"/sub/info.php/x", Route{Kind: RoutePHP, Path: "/sub/info.php/x", File: root + "/sub/info.php", ScriptName: "/sub/info.php", PathInfo: "/x"}},
		{"/info.php/a.php", Route{Kind: RoutePHP, Path: "/info.php/a.php", File: root + "/info.php", ScriptName: "/info.php", PathInfo: "/a.php"}},
		{"/missing.php", notFound("/missing.php")},
		{"/missing.php/x", notFound("/missing.php/x")},
		{"/lib.php/x", notFound("/lib.php/x")}, // a directory is no script
		{"/app.css/x.php", notFound("/app.css/x.php")},

		// PHP source is never static.
		{"/config.inc", notFound("/config.inc")},
		{"/Upper.PHP", notFound("/Upper.PHP")},
		{"/tpl.phtml", notFound("/tpl.phtml")},
		{"/old.php5", notFound("/old.php5")},

		// Dotfiles and dot-directories; /.well-known is allowed.
		{"/.env", notFound("/.env")},
		{"/%2eenv", notFound("/.env")},
		{"/.htaccess", notFound("/.htaccess")},
		{"/.git/HEAD", notFound("/.git/HEAD")},
		{"/.git/", notFound("/.git/")},
		{"/x/.hidden", notFound("/x/.hidden")},
		{"/x/y.txt/../.hidden", notFound("/x/.hidden")},
		{"/.env.php", notFound("/.env.php")},
		{"/.well-known/acme-challenge/x", static("/.well-known/acme-challenge/x")},
		{"/.well-known/.x", notFound("/.well-known/.x")},
		{"/.well-knownx", notFound("/.well-knownx")},
		{"/x/.well-known/y", notFound("/x/.well-known/y")},

		// Directories.
		{"/dir", Route{Kind: RouteRedirect, Path: "/dir/"}},
		{"/dir/", Route{Kind: RouteStatic, Path: "/dir/", File: root + "/dir/index.html"}},
		{"/dir/.", Route{Kind: RouteStatic, Path: "/dir/", File: root + "/dir/index.html"}},
		{"/phpdir/", Route{Kind: RoutePHP, Path: "/phpdir/", File: root + "/phpdir/index.php", ScriptName: "/phpdir/index.php"}},
		{"/emptydir/", Route{Kind: RouteForbidden, Path: "/emptydir/"}},
		{"/emptydir", Route{Kind: RouteRedirect, Path: "/emptydir/"}},
		{"/sp%20ace", Route{Kind: RouteRedirect, Path: "/sp%20ace/"}},
		{"/", Route{Kind: RoutePHP, Path: "/", File: root + "/index.php", ScriptName: "/index.php"}},
		{"/x/..", Route{Kind: RoutePHP, Path: "/", File: root + "/index.php", ScriptName: "/index.php"}},

		// Symlinks: inside works, escaping is 404, absolute is refused.
		{"/inlink.css", static("/inlink.css")},
		{"/indir/", Route{Kind: RouteStatic, Path: "/indir/", File: root + "/indir/index.html"}},
		{"/outlink.txt", notFound("/outlink.txt")},
		{"/outdir/secret.txt", notFound("/outdir/secret.txt")},
		{"/outdir/", notFound("/outdir/")},
		{"/outdir", notFound("/outdir")},
		{"/outevil.php", notFound("/outevil.php")},
		{"/outdir/evil.php", notFound("/outdir/evil.php")},
		{"/abslink.css", notFound("/abslink.css")},
		{"/dangling.css", fc("/dangling.css")},
		{"/fifo", notFound("/fifo")},

		// Traversal and malformed paths.
		{"/../etc/passwd", bad},
		{"/..", bad},
		{"/a/../../etc/passwd", bad},
		{"/%2e%2e/%2e%2e/etc/passwd", bad},
		{"/%2E%2E/etc/passwd", bad},
		{"/.%2e/etc/passwd", bad},
		// Encoded separators are a route parameter for the app, never a
		// file: the front controller, without a filesystem lookup.
		// (A segment starting with "." is hidden: 404, like nginx's
		// "location ~ /\." deny on the decoded path.)
		{"/..%2f..%2fetc/passwd", notFound("/..%2F..%2Fetc/passwd")},
		{"/..%2F..%2Fetc/passwd", notFound("/..%2F..%2Fetc/passwd")},
		{"/%2fetc/passwd", fc("/%2Fetc/passwd")},
		{"/x%2f..%2f..%2fetc/passwd", fc("/x%2F..%2F..%2Fetc/passwd")},
		{"/..%5c..%5cetc/passwd", notFound("/..%5C..%5Cetc/passwd")},
		{"/app.css%2f", fc("/app.css%2F")},
		{"/.env%2fx", notFound("/.env%2Fx")},
		{"/..\\..\\etc\\passwd", bad},
		{"/a\\b", bad},
		{"/a%00.txt", bad},
		{"/a\x00.txt", bad},
		{"/app.css%00.php", bad},
		{"/%", bad},
		{"/%2", bad},
		{"/%zz", bad},
		{"/%g0", bad},
		{"", bad},
		{"app.css", bad},
		{"*", bad},
		{"?/app.css", bad},
		// Double encoding decodes once: a literal name, never "..".
		{"/%252e%252e/", Route{Kind: RouteForbidden, Path: "/%2e%2e/"}}, // exists: a directory named "%2e%2e"
		{"/%252e%252e/y", static("/%2e%2e/y")},
		{"/%252e%252e/%252e%252e/etc/passwd", fc("/%2e%2e/%2e%2e/etc/passwd")},
	}
	for _, tt := range tests {
		got := r.Resolve([]byte(tt.raw))
		if got != tt.want {
			t.Errorf("Resolve(%q)\n got %+v\nwant %+v", tt.raw, got, tt.want)
		}
		// The cached second answer must be the same.
		if again := r.Resolve([]byte(tt.raw)); again != got {
			t.Errorf("Resolve(%q) again = %+v, first %+v", tt.raw, again, got)
		}
	}
}

func TestRouteNoFrontController(t *testing.T) {
	root := routeTree(t)
	r, err := NewRouter(root, "app.php")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Resolve([]byte("/users/1")); got.Kind != RouteNotFound {
		t.Errorf("missing front controller: got %+v, want RouteNotFound", got)
	}
	// The directory index is the configured index's name.
	if got := r.Resolve([]byte("/phpdir/")); got.Kind != RouteForbidden {
		t.Errorf("/phpdir/ with index app.php: got %+v, want RouteForbidden", got)
	}
}

func TestRouteSubdirIndex(t *testing.T) {
	root := routeTree(t)
	r, err := NewRouter(root, "sub/info.php")
	if err != nil {
		t.Fatal(err)
	}
	want := Route{Kind: RoutePHP, Path: "/a/b", File: root + "/sub/info.php", ScriptName: "/sub/info.php"}
	if got := r.Resolve([]byte("/a/b")); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestRouteNewRouterErrors(t *testing.T) {
	root := routeTree(t)
	for _, tt := range []struct{ root, index string }{
		{"relative/public", "index.php"},
		{root + "/missing", "index.php"},
		{root + "/app.css", "index.php"},
		{root, ""},
		{root, "../index.php"},
		{root, "a/../../x.php"},
		{root, "."},
	} {
		if _, err := NewRouter(tt.root, tt.index); err == nil {
			t.Errorf("NewRouter(%q, %q): want an error", tt.root, tt.index)
		}
	}
}

// TestRouteCacheTTL shows that files appearing and vanishing are noticed
// once the cache entry expires, and not before.
func TestRouteCacheTTL(t *testing.T) {
	root := routeTree(t)
	r, err := NewRouter(root, "index.php")
	if err != nil {
		t.Fatal(err)
	}
	now := r.fs.now()
	r.fs.now = func() int64 { return now }
	if got := r.Resolve([]byte("/new.css")); got.Kind != RoutePHP {
		t.Fatalf("before: %+v", got)
	}
	if err := os.WriteFile(filepath.Join(root, "new.css"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := r.Resolve([]byte("/new.css")); got.Kind != RoutePHP {
		t.Fatalf("cached: %+v, want the cached front controller", got)
	}
	now += int64(statCacheTTL)
	if got := r.Resolve([]byte("/new.css")); got.Kind != RouteStatic {
		t.Fatalf("after TTL: %+v, want RouteStatic", got)
	}
}

// TestRouteRootSwitch follows a document root that is a symlink switched to
// another release, as zero-downtime deploy tools do.
func TestRouteRootSwitch(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"r1", "r2"} {
		if err := os.MkdirAll(filepath.Join(base, rel), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, rel, rel+".css"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	current := filepath.Join(base, "current")
	if err := os.Symlink("r1", current); err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(current, "index.php")
	if err != nil {
		t.Fatal(err)
	}
	now := r.fs.now()
	r.fs.now = func() int64 { return now }
	if got := r.Resolve([]byte("/r1.css")); got.Kind != RouteStatic || got.File != current+"/r1.css" {
		t.Fatalf("release 1: %+v", got)
	}
	tmp := filepath.Join(base, "current.tmp")
	if err := os.Symlink("r2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, current); err != nil {
		t.Fatal(err)
	}
	now += int64(statCacheTTL)
	if got := r.Resolve([]byte("/r2.css")); got.Kind != RouteStatic {
		t.Fatalf("release 2: %+v, want RouteStatic", got)
	}
	if got := r.Resolve([]byte("/r1.css")); got.Kind == RouteStatic {
		t.Fatalf("release 1 file after switch: %+v", got)
	}
}

// TestRouteCacheBounded requests many distinct missing paths and checks the
// cache stays within its bound.
func TestRouteCacheBounded(t *testing.T) {
	root := routeTree(t)
	r, err := NewRouter(root, "index.php")
	if err != nil {
		t.Fatal(err)
	}
	for i := range statCacheShards * statCacheShardMax * 3 {
		r.Resolve([]byte("/missing/" + strings.Repeat("x", i%7) + time.Duration(i).String()))
	}
	n := 0
	for i := range r.fs.cache {
		n += len(r.fs.cache[i].m)
	}
	if n > statCacheShards*statCacheShardMax {
		t.Errorf("cache holds %d entries, bound %d", n, statCacheShards*statCacheShardMax)
	}
}

func TestRouteReadOnlyRoot(t *testing.T) {
	root := routeTree(t)
	before := treeSnapshot(t, filepath.Dir(root))
	if err := os.Chmod(root, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(root, 0o755) })
	r, err := NewRouter(root, "index.php")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/app.css", "/dir/", "/x", "/index.php/a"} {
		if got := r.Resolve([]byte(p)); got.Kind == RouteNotFound || got.Kind == RouteBadRequest {
			t.Errorf("Resolve(%q) on a read-only root: %+v", p, got)
		}
	}
	if after := treeSnapshot(t, filepath.Dir(root)); after != before {
		t.Errorf("the tree changed:\nbefore %s\nafter  %s", before, after)
	}
}

// treeSnapshot lists every name under dir, to prove nothing was written.
func treeSnapshot(t testing.TB, dir string) string {
	t.Helper()
	var names []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		names = append(names, strings.TrimPrefix(p, dir)+"@"+fi.ModTime().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, "\n")
}

func TestRouteKindString(t *testing.T) {
	for k := RouteStatic; k <= RouteBadRequest+1; k++ {
		if k.String() == "" {
			t.Errorf("RouteKind(%d) has no name", k)
		}
	}
}

func TestRouteEscapePath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"/dir", "/dir/"},
		{"/sp ace", "/sp%20ace/"},
		{"/a%b", "/a%25b/"},
		{"/x\r\nSet-Cookie: a", "/x%0D%0ASet-Cookie:%20a/"},
		{"/ü", "/%C3%BC/"},
		{"/a?b#c", "/a%3Fb%23c/"},
	} {
		if got := escapePath([]byte(tt.in), true); got != tt.want {
			t.Errorf("escapePath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// It must decode back to the same path.
		back, ok := cleanPath(nil, []byte(tt.want))
		if !ok || string(back) != tt.in+"/" {
			t.Errorf("cleanPath(%q) = %q, %v; want %q", tt.want, back, ok, tt.in+"/")
		}
	}
}

func BenchmarkRouteResolve(b *testing.B) {
	root := routeTree(b)
	r, err := NewRouter(root, "index.php")
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct{ name, path string }{
		{"static", "/app.css"},
		{"static-deep", "/.well-known/acme-challenge/x"},
		{"front-controller", "/users/42/edit"},
		{"php-pathinfo", "/index.php/foo/bar"},
		{"dir-index", "/dir/"},
		{"dotfile", "/.env"},
		{"traversal", "/%2e%2e/etc/passwd"},
	} {
		raw := []byte(bb.path)
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r.Resolve(raw)
				}
			})
		})
	}
}
