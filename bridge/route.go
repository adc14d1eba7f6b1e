package bridge

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// RouteKind says what the public listener does with a request path, as
// decided by Router.Resolve.
type RouteKind uint8

const (
	// RouteStatic serves Route.File as a static file (see Static).
	RouteStatic RouteKind = iota
	// RoutePHP runs Route.File over FastCGI with Route.ScriptName and
	// Route.PathInfo.
	RoutePHP
	// RouteRedirect answers 301 with Location Route.Path (plus the query).
	RouteRedirect
	// RouteNotFound answers 404: a dotfile, PHP source, a missing *.php,
	// a symlink leaving the root, or no front controller.
	RouteNotFound
	// RouteForbidden answers 403: a directory without an index, like
	// nginx's "directory index is forbidden".
	RouteForbidden
	// RouteBadRequest answers 400: a path that is malformed or tries to
	// leave the root (NUL, backslash, bad escapes, ".." above /). Paths with
	// an encoded separator (%2f, %5c) go to the front controller instead.
	RouteBadRequest
)

// String returns a short lowercase name for logs.
func (k RouteKind) String() string {
	switch k {
	case RouteStatic:
		return "static"
	case RoutePHP:
		return "php"
	case RouteRedirect:
		return "redirect"
	case RouteNotFound:
		return "not-found"
	case RouteForbidden:
		return "forbidden"
	case RouteBadRequest:
		return "bad-request"
	}
	return fmt.Sprintf("RouteKind(%d)", uint8(k))
}

// Route is the outcome of Router.Resolve. Its strings may be shared with the
// Router's cache and with other Routes: treat them as read-only.
type Route struct {
	Kind RouteKind
	// Path is the decoded, cleaned URI path ("/css/app.css"), without a
	// ".." segment or NUL; "" for RouteBadRequest. For RouteRedirect it is
	// the Location path instead: the cleaned path plus "/", percent-encoded
	// again so that it is safe in a header and names the same directory
	// (the caller appends "?"+query when there is one).
	Path string
	// File is the absolute path of the static file or PHP script, under the
	// Router's root (symlinks inside the root are not resolved).
	File string
	// ScriptName is, for RoutePHP, the URI path of the script
	// ("/index.php", "/sub/info.php").
	ScriptName string
	// PathInfo is, for RoutePHP, the part of Path after ScriptName
	// ("/foo/bar" for "/index.php/foo/bar"); "" otherwise.
	PathInfo string
}

// Router makes nginx's try_files decision for a request path:
//
//	location / { try_files $uri $uri/ /index.php?$query_string; }
//	location ~ [^/]\.php(/|$) {
//	    fastcgi_split_path_info ^(.+?\.php)(/.*)$;
//	    try_files $fastcgi_script_name =404;
//	}
//	index index.html index.php;
//	location ~ /\. { deny all; }   # but /.well-known/ is allowed
//
// It only looks at the filesystem with stat, through os.Root so that a
// symlink leading out of the root is never followed, and it caches what it
// saw for statCacheTTL so a static hit costs no system call (see rootFS).
// A Router is safe for concurrent use.
type Router struct {
	fs *rootFS
	// Precomputed pieces of the routes that do not depend on the request.
	indexRel    string // Config.Index, relative to the root: "index.php"
	indexScript string // "/" + indexRel
	indexFile   string // root + "/" + indexRel
	dirIndexPHP string // the file name tried in a directory: path.Base(index)
}

// dirIndexHTML is tried before the PHP index in a directory, like nginx's
// "index index.html index.php".
const dirIndexHTML = "index.html"

// NewRouter returns a Router for the document root (an absolute path, as
// Config.WithDefaults makes it) and the front controller index, relative to
// root ("index.php"). It fails if root cannot be opened as a directory or
// index is not a plain relative path.
func NewRouter(root, index string) (*Router, error) {
	if !strings.HasPrefix(root, "/") {
		return nil, fmt.Errorf("bridge: router: root %q is not an absolute path", root)
	}
	idx := strings.TrimPrefix(index, "/")
	if idx == "" || path.Clean(idx) != idx || idx == "." || strings.HasPrefix(idx, "../") || idx == ".." {
		return nil, fmt.Errorf("bridge: router: index %q is not a file name relative to the root", index)
	}
	rfs, err := newRootFS(root)
	if err != nil {
		return nil, fmt.Errorf("bridge: router: %w", err)
	}
	return &Router{
		fs:          rfs,
		indexRel:    idx,
		indexScript: "/" + idx,
		indexFile:   rfs.fileOf(idx),
		dirIndexPHP: path.Base(idx),
	}, nil
}

// Resolve decides what to do with rawPath, the request path exactly as the
// client sent it: still percent-encoded, without query (fasthttp's
// URI().PathOriginal(); anything from '?' or '#' on is ignored anyway).
//
// Percent-encoding is decoded exactly once here, so that the name checked
// is the name opened: "%2e%2e" counts as "..", while "%252e%252e" is the
// harmless literal name "%2e%2e". The order of the rules is nginx's:
// malformed → 400; dotfile → 404; first "*.php" segment → PHP if that script
// exists, else 404; file → static (PHP source → 404); directory → redirect
// to "dir/" or its index.html / index.php or 403; else the front controller.
func (r *Router) Resolve(rawPath []byte) Route {
	if i := bytes.IndexByte(rawPath, '?'); i >= 0 {
		rawPath = rawPath[:i]
	}
	if i := bytes.IndexByte(rawPath, '#'); i >= 0 {
		rawPath = rawPath[:i]
	}
	var buf [256]byte
	p, ok := cleanPath(buf[:0], rawPath)
	if !ok {
		return Route{Kind: RouteBadRequest}
	}
	if hasHiddenSegment(p) {
		return Route{Kind: RouteNotFound, Path: string(p)}
	}
	if hasEncodedSeparator(p) {
		// "/files/docs%2Freport.pdf": a route parameter for the app (nginx
		// passes it on too), never a file: the path is not looked up on
		// disk at all, so an encoded separator cannot reach outside the root.
		return r.frontController(p)
	}

	if end := phpScriptEnd(p); end > 0 {
		e := r.fs.stat(p[1:end])
		if e.kind != statFile {
			return Route{Kind: RouteNotFound, Path: string(p)}
		}
		ps := string(p)
		return Route{Kind: RoutePHP, Path: ps, File: e.file, ScriptName: e.uri, PathInfo: ps[end:]}
	}

	trailingSlash := p[len(p)-1] == '/'
	rel := p[1:]
	if trailingSlash && len(rel) > 0 {
		rel = rel[:len(rel)-1]
	}
	e := r.fs.stat(rel)
	switch e.kind {
	case statFile:
		if trailingSlash {
			break // "/app.css/": not a directory, so like a missing path
		}
		if notServable(e.uri) {
			return Route{Kind: RouteNotFound, Path: e.uri}
		}
		return Route{Kind: RouteStatic, Path: e.uri, File: e.file}
	case statDir:
		if !trailingSlash {
			return Route{Kind: RouteRedirect, Path: escapePath(p, true)}
		}
		return r.dirIndex(p, rel)
	case statBlocked:
		return Route{Kind: RouteNotFound, Path: string(p)}
	}
	return r.frontController(p)
}

// dirIndex serves a directory path p ("/dir/", rel "dir") like nginx's
// index module: index.html as a static file, else the PHP index, else 403.
func (r *Router) dirIndex(p, rel []byte) Route {
	var buf [256]byte
	name := buf[:0]
	if len(rel) > 0 {
		name = append(append(name, rel...), '/')
	}
	n := len(name)
	if e := r.fs.stat(append(name, dirIndexHTML...)); e.kind == statFile {
		return Route{Kind: RouteStatic, Path: string(p), File: e.file}
	}
	if e := r.fs.stat(append(name[:n], r.dirIndexPHP...)); e.kind == statFile {
		return Route{Kind: RoutePHP, Path: string(p), File: e.file, ScriptName: e.uri}
	}
	return Route{Kind: RouteForbidden, Path: string(p)}
}

// frontController is the last try_files fallback, /index.php: the original
// path is kept in Route.Path (REQUEST_URI is the caller's business), and a
// missing front controller is a plain 404 rather than an error page.
func (r *Router) frontController(p []byte) Route {
	if e := r.fs.statString(r.indexRel); e.kind != statFile {
		return Route{Kind: RouteNotFound, Path: string(p)}
	}
	return Route{Kind: RoutePHP, Path: string(p), File: r.indexFile, ScriptName: r.indexScript}
}

// cleanPath appends to dst the decoded and cleaned form of the raw request
// path: percent-escapes decoded once, "//" merged, "." dropped, ".."
// applied. It reports false for anything nginx would answer 400 to or that
// could mean something else on another OS or to another decoder: no
// leading '/', NUL (raw or %00), a raw '\', a malformed escape, or ".."
// climbing above the root (refused rather than clamped, since such a
// request is an attack, not a typo). An encoded '/' (%2f) or '\' (%5c)
// stays encoded as "%2F" / "%5C" inside its segment (see
// hasEncodedSeparator). A path
// ending in "/", "/." or "/.." keeps a trailing slash, as in nginx.
func cleanPath(dst, raw []byte) ([]byte, bool) {
	if len(raw) == 0 || raw[0] != '/' {
		return dst, false
	}
	dst = append(dst, '/')
	segStart := len(dst)
	for i := 1; ; {
		if i == len(raw) || raw[i] == '/' {
			// End of a segment: dst[segStart:] holds it, decoded.
			switch seg := dst[segStart:]; {
			case len(seg) == 1 && seg[0] == '.':
				dst = dst[:segStart]
			case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
				if segStart == 1 {
					return dst, false
				}
				// Drop the segment before, keeping its leading '/'.
				dst = dst[:bytes.LastIndexByte(dst[:segStart-1], '/')+1]
			case len(seg) > 0 && i < len(raw):
				dst = append(dst, '/')
			}
			if i == len(raw) {
				return dst, true
			}
			segStart = len(dst)
			i++
			continue
		}
		c := raw[i]
		switch c {
		case '%':
			if i+2 >= len(raw) {
				return dst, false
			}
			hi, lo := unhex(raw[i+1]), unhex(raw[i+2])
			if hi > 15 || lo > 15 {
				return dst, false
			}
			c = hi<<4 | lo
			if c == 0 {
				return dst, false
			}
			i += 3
			if c == '/' || c == '\\' {
				// Kept encoded (upper case): part of a name, not a
				// separator; Resolve sends such paths to the front
				// controller without touching the filesystem.
				dst = append(dst, '%', '2', 'F')
				if c == '\\' {
					dst[len(dst)-2], dst[len(dst)-1] = '5', 'C'
				}
				continue
			}
		case 0, '\\':
			return dst, false
		default:
			i++
		}
		dst = append(dst, c)
	}
}

// unhex returns the value of a hex digit, or 255 if c is none.
func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// hasHiddenSegment reports whether the cleaned path p has a segment
// starting with '.' (/.env, /.git/HEAD, /x/.htaccess). The first segment
// ".well-known" is exempt: RFC 8615 puts ACME challenges and
// security.txt there.
func hasHiddenSegment(p []byte) bool {
	for i := 0; i+1 < len(p); i++ {
		if p[i] != '/' || p[i+1] != '.' {
			continue
		}
		if i == 0 && bytes.HasPrefix(p[1:], []byte(".well-known")) &&
			(len(p) == 12 || p[12] == '/') {
			continue
		}
		return true
	}
	return false
}

// phpScriptEnd returns the length of the script part of p when a segment
// ends in ".php" with something before it (nginx's `[^/]\.php(/|$)` and
// fastcgi_split_path_info `^(.+?\.php)(/.*)$`): the first such segment is
// the script, the rest is PATH_INFO. It returns 0 when there is none. The
// match is case-sensitive like nginx's `~`; other spellings are refused as
// PHP source by notServable instead.
func phpScriptEnd(p []byte) int {
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		// p[:i] ends a segment; it needs a non-'/' before ".php".
		if i >= 6 && p[i-5] != '/' && string(p[i-4:i]) == ".php" {
			return i
		}
	}
	return 0
}

// notServableExt lists extensions (lowercase) of PHP source that must never
// be sent as a static file: PHP-FPM may be configured to run some of them,
// and all of them may hold secrets. Checked case-insensitively.
var notServableExt = []string{
	".php", ".phtml", ".pht", ".phar", ".phps", ".phpt", ".inc",
	".php3", ".php4", ".php5", ".php6", ".php7", ".php8",
}

// notServable reports whether the last segment of p has a PHP source
// extension, in any letter case.
func notServable(p string) bool {
	dot := strings.LastIndexByte(p, '.')
	if dot < 0 || len(p)-dot < 4 || len(p)-dot > 6 {
		return false
	}
	ext := p[dot:]
	// Every listed extension starts with ".p" or ".i": skip the loop for
	// the usual ".css", ".js", ".png".
	if c := ext[1] | 0x20; c != 'p' && c != 'i' {
		return false
	}
	for _, x := range notServableExt {
		if strings.EqualFold(ext, x) {
			return true
		}
	}
	return false
}

// escapePath percent-encodes the cleaned path p for a Location header,
// adding a trailing '/' if slash is set. Everything outside RFC 3986's
// pchar and '/' is encoded, so the result round-trips through cleanPath to
// the same name and can carry no CR/LF into the header.
func escapePath(p []byte, slash bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p) + 1)
	for _, c := range p {
		if isPathChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	if slash {
		b.WriteByte('/')
	}
	return b.String()
}

// isPathChar reports whether c may appear unencoded in a URI path:
// unreserved, sub-delims, ':', '@' and '/'.
func isPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// statCacheTTL is how long rootFS trusts what it saw: a file created,
// deleted or replaced under the root, or the root itself being switched
// (a `current -> releases/N` deploy symlink), is noticed within this time.
// It is what makes a static hit cost no system call; one second is far
// below any deploy's granularity and a hot path stats once per second.
const statCacheTTL = time.Second

// statCacheMax bounds the entries of one rootFS cache, so that requests for
// endless distinct missing paths (the front controller's URLs, or a scan)
// cannot grow memory: a full shard drops its expired entries, or all of
// them. 64 shards × 256 entries × ~100 bytes ≈ 1.6 MB at most.
const (
	statCacheShards   = 64
	statCacheShardMax = 256
)

// statKind is what a path under the root is, as far as routing cares.
type statKind uint8

const (
	statMissing statKind = iota // does not exist (ENOENT, ENOTDIR, ENAMETOOLONG)
	statFile                    // a regular file (after symlinks inside the root)
	statDir                     // a directory
	statBlocked                 // leaves the root, a loop, unreadable, or not a file or directory
)

// statEntry is a cached stat result with the strings routes need, built
// once per entry so that a cache hit allocates nothing.
type statEntry struct {
	kind statKind
	// br and gz say that a regular file has a regular "rel.br" / "rel.gz"
	// sibling; only filled in by a rootFS with siblings set (Static's).
	br, gz bool
	uri    string // "/" + rel: the URI path of the entry
	file   string // root + "/" + rel
}

// rootFS answers stat questions about paths under one directory, confined
// by os.Root (a symlink that leaves the root, or any absolute symlink, is
// statBlocked, whatever races happen meanwhile), with a short TTL cache.
//
// The os.Root is held open, but every statCacheTTL rootFS checks that the
// directory at dir is still the same one (device and inode) and reopens it
// if not, so a root that is a symlink switched by a deploy is followed. The
// old handle is left to the garbage collector (os.Root closes itself) rather
// than closed, so a stat that raced with the switch still works.
type rootFS struct {
	dir   string
	cur   atomic.Pointer[rootHandle]
	check atomic.Int64 // monotonic ns of the next identity check
	cache [statCacheShards]statShard
	seed  maphash.Seed
	now   func() int64 // monotonic ns; a field so tests can move time
	// siblings makes fill look for precompressed siblings of regular
	// files, so Static needs one lookup per request instead of three.
	siblings bool
}

type rootHandle struct {
	r  *os.Root // nil while dir cannot be opened
	id os.FileInfo
}

type statShard struct {
	mu sync.RWMutex
	m  map[string]statItem
	_  [40]byte // keep shards on separate cache lines
}

type statItem struct {
	e   statEntry
	exp int64
}

// monoEpoch anchors monotonicNow: time.Since reads the monotonic clock, so
// the cache's expiry is immune to wall-clock jumps.
var monoEpoch = time.Now()

func monotonicNow() int64 { return int64(time.Since(monoEpoch)) }

// newRootFS opens dir, which must be an absolute directory path.
func newRootFS(dir string) (*rootFS, error) {
	rf := newRootFSLazy(dir)
	if rf.cur.Load().r == nil {
		r, err := os.OpenRoot(dir)
		if err == nil {
			r.Close()
			err = fmt.Errorf("cannot stat root %q", dir)
		}
		return nil, err
	}
	return rf, nil
}

// newRootFSLazy is newRootFS for callers that cannot fail (NewStatic): if
// dir cannot be opened now, every path is statMissing until it can.
func newRootFSLazy(dir string) *rootFS {
	if len(dir) > 1 {
		dir = strings.TrimRight(dir, "/")
	}
	rf := &rootFS{dir: dir, seed: maphash.MakeSeed(), now: monotonicNow}
	for i := range rf.cache {
		rf.cache[i].m = make(map[string]statItem)
	}
	rf.cur.Store(openRootHandle(dir))
	rf.check.Store(rf.now() + int64(statCacheTTL))
	return rf
}

func openRootHandle(dir string) *rootHandle {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return &rootHandle{}
	}
	id, err := r.Stat(".")
	if err != nil {
		r.Close()
		return &rootHandle{}
	}
	return &rootHandle{r: r, id: id}
}

// fileOf returns the absolute file name of rel.
func (rf *rootFS) fileOf(rel string) string {
	switch {
	case rel == "":
		return rf.dir
	case rf.dir == "/":
		return "/" + rel
	}
	return rf.dir + "/" + rel
}

// stat returns what rel ("css/app.css", "" for the root itself; cleaned,
// no leading or trailing '/') is. It allocates only on a cache miss.
func (rf *rootFS) stat(rel []byte) statEntry {
	now := rf.now()
	rf.refresh(now)
	sh := &rf.cache[maphash.Bytes(rf.seed, rel)%statCacheShards]
	sh.mu.RLock()
	it, ok := sh.m[string(rel)]
	sh.mu.RUnlock()
	if ok && now < it.exp {
		return it.e
	}
	return rf.fill(sh, string(rel), now)
}

// statString is stat for a string, without converting it.
func (rf *rootFS) statString(rel string) statEntry {
	now := rf.now()
	rf.refresh(now)
	sh := &rf.cache[maphash.String(rf.seed, rel)%statCacheShards]
	sh.mu.RLock()
	it, ok := sh.m[rel]
	sh.mu.RUnlock()
	if ok && now < it.exp {
		return it.e
	}
	return rf.fill(sh, rel, now)
}

// fill stats rel for real and caches the result.
func (rf *rootFS) fill(sh *statShard, rel string, now int64) statEntry {
	e := statEntry{kind: rf.statUncached(rel), uri: "/" + rel, file: rf.fileOf(rel)}
	if rf.siblings && e.kind == statFile {
		e.br = rf.statUncached(rel+".br") == statFile
		e.gz = rf.statUncached(rel+".gz") == statFile
	}
	sh.mu.Lock()
	if len(sh.m) >= statCacheShardMax {
		for k, it := range sh.m {
			if now >= it.exp {
				delete(sh.m, k)
			}
		}
		if len(sh.m) >= statCacheShardMax {
			clear(sh.m)
		}
	}
	sh.m[rel] = statItem{e: e, exp: now + int64(statCacheTTL)}
	sh.mu.Unlock()
	return e
}

func (rf *rootFS) statUncached(rel string) statKind {
	h := rf.cur.Load()
	if h.r == nil {
		return statMissing
	}
	if rel == "" {
		rel = "."
	}
	fi, err := h.r.Stat(rel)
	switch {
	case err == nil && fi.Mode().IsRegular():
		return statFile
	case err == nil && fi.IsDir():
		return statDir
	case err == nil:
		return statBlocked // FIFO, socket, device: opening one could hang
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, syscall.ENAMETOOLONG):
		return statMissing
	}
	// Escapes from the root, symlink loops, EACCES: never served, and
	// not handed to the front controller either.
	return statBlocked
}

// refresh checks, at most once per statCacheTTL, that dir still is the
// directory held open; if it was replaced, it reopens it and drops the
// cache.
func (rf *rootFS) refresh(now int64) {
	next := rf.check.Load()
	if now < next || !rf.check.CompareAndSwap(next, now+int64(statCacheTTL)) {
		return
	}
	h := rf.cur.Load()
	if h.r != nil {
		if fi, err := os.Stat(rf.dir); err != nil || os.SameFile(fi, h.id) {
			return // same directory, or gone for a moment: keep serving
		}
	}
	nh := openRootHandle(rf.dir)
	if nh.r == nil && h.r != nil {
		return
	}
	rf.cur.Store(nh)
	for i := range rf.cache {
		sh := &rf.cache[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.mu.Unlock()
	}
}

// hasEncodedSeparator reports whether cleanPath kept an encoded '/' or '\\'
// ("%2F", "%5C") in p. A literal "%" in a name is itself encoded as "%25" in
// a well-formed request, so after one decoding "%2F" can only come from one.
func hasEncodedSeparator(p []byte) bool {
	return bytes.Contains(p, []byte("%2F")) || bytes.Contains(p, []byte("%5C"))
}
