package bridge

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzResolve checks Resolve's safety invariants on any input: it never
// panics; a file it hands out (static or PHP) is inside the root even after
// resolving symlinks; no Path holds NUL or a ".." segment; and a redirect
// Location stays a local path ("/…", never "//host").
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"/", "/app.css", "/index.php/foo/bar", "/sub/info.php/x", "/dir", "/dir/",
		"/.env", "/.git/HEAD", "/.htaccess", "/.well-known/acme-challenge/x",
		"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd",
		"/%252e%252e/", "/a%00.txt", "/a\x00b", "/..%5c..%5c", "/..\\..\\",
		"/outlink.txt", "/outdir/secret.txt", "/outdir/evil.php", "/outevil.php",
		"/inlink.css", "/indir/", "/abslink.css", "/fifo", "/config.inc",
		"/Upper.PHP", "/missing.php", "/.%2e/", "/%2e/", "//evil.com", "/%2F%2Fevil.com",
		"/x/../../", "/%", "/%%", "/%C0%AE%C0%AE/", "/sp%20ace", "?", "#", "",
	} {
		f.Add([]byte(s))
	}
	root := routeTree(f)
	r, err := NewRouter(root, "index.php")
	if err != nil {
		f.Fatal(err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Longer paths add nothing (a segment over 255 bytes is already
		// ENAMETOOLONG) but make the fuzzer spend a minute minimizing each.
		if len(raw) > 512 {
			return
		}
		got := r.Resolve(raw)
		for _, s := range []string{got.Path, got.File, got.ScriptName, got.PathInfo} {
			if strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("Resolve(%q) = %+v: NUL in a result", raw, got)
			}
		}
		if hasDotDot(got.Path) || hasDotDot(got.ScriptName) || hasDotDot(got.PathInfo) {
			t.Fatalf("Resolve(%q) = %+v: a \"..\" segment", raw, got)
		}
		switch got.Kind {
		case RouteStatic, RoutePHP:
			if !strings.HasPrefix(got.Path, "/") || !strings.HasPrefix(got.File, root) {
				t.Fatalf("Resolve(%q) = %+v: not under %s", raw, got, root)
			}
			real, err := filepath.EvalSymlinks(got.File)
			if err != nil {
				t.Fatalf("Resolve(%q) = %+v: %v", raw, got, err)
			}
			if real != realRoot && !strings.HasPrefix(real, realRoot+"/") {
				t.Fatalf("Resolve(%q) = %+v: file %s is outside the root %s", raw, got, real, realRoot)
			}
			if got.Kind == RouteStatic && notServable(got.File) {
				t.Fatalf("Resolve(%q) = %+v: PHP source as static", raw, got)
			}
			if hasHiddenSegment([]byte(got.Path)) {
				t.Fatalf("Resolve(%q) = %+v: a dotfile", raw, got)
			}
		case RouteRedirect:
			if !strings.HasPrefix(got.Path, "/") || strings.HasPrefix(got.Path, "//") ||
				strings.ContainsAny(got.Path, "\r\n\\") {
				t.Fatalf("Resolve(%q) = %+v: unsafe Location", raw, got)
			}
		case RouteNotFound, RouteForbidden, RouteBadRequest:
		default:
			t.Fatalf("Resolve(%q) = %+v: unknown kind", raw, got)
		}
	})
}

// hasDotDot reports whether the slash-separated p has a ".." segment.
func hasDotDot(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}
