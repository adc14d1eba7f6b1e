package bridge

import (
	"mime"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// Static serves the files Router.Resolve routes as RouteStatic, the way
// nginx's static and gzip_static modules do: MIME type by extension,
// Last-Modified and a weak ETag with 304 answers, a single byte Range (206,
// 416), HEAD, 405 for other methods, a configurable Cache-Control, and
// precompressed siblings ("app.js.br", "app.js.gz") chosen by the client's
// Accept-Encoding.
//
// The bytes are sent by fasthttp.FS, which keeps small files in memory and
// sends big ones with sendfile, and opens every file through os.Root, so a
// symlink leaving the root is not followed even if the tree changes after
// Resolve looked. FS's own compression is off: it would write
// ".fasthttp.gz" copies into the document root, which may be read-only and
// must never be written. Static re-checks every route it gets, so calling
// it directly with a dotfile, PHP source or a path outside the root is a
// 404, not a leak.
//
// Multi-range requests ("bytes=0-1,5-6") get the whole file with 200, which
// RFC 9110 allows; nginx would answer multipart/byteranges.
//
// A Static is safe for concurrent use.
type Static struct {
	root         string  // without trailing slash, except "/"
	prefix       string  // root + "/" (or "/"): what every route File starts with
	cacheControl []byte  // nil: no Cache-Control
	files        *rootFS // confined, cached stat of the file and its .br/.gz siblings
	serve        fasthttp.RequestHandler
}

// staticCacheDuration is how long fasthttp.FS keeps a file open (or, up to
// 8 KiB, in memory). It matches the Router's stat cache, so a changed file
// is served within about a second or two, like the route decision.
const staticCacheDuration = statCacheTTL

// staticPathKey is the user value key under which Serve passes the file to
// send to fasthttp.FS's PathRewrite. A private zero-size type costs no
// allocation and cannot collide with anyone else's key.
type staticPathKey struct{}

// staticPath holds the URI-style path ("/css/app.css.br") of the file FS
// opens; pooled so that Serve allocates nothing.
type staticPath struct{ b []byte }

var staticPathPool = sync.Pool{New: func() any { return &staticPath{b: make([]byte, 0, 128)} }}

// Header names and values set on every response, as bytes for
// ResponseHeader.SetCanonical, which skips re-normalizing them.
var (
	strVary           = []byte(fasthttp.HeaderVary)
	strAcceptEncoding = []byte("Accept-Encoding")
	strCacheControl   = []byte(fasthttp.HeaderCacheControl)
)

// staticNoPath is what PathRewrite returns when it is somehow called
// without Serve: FS refuses a NUL with 400.
var staticNoPath = []byte("/\x00")

// NewStatic returns a Static for the document root (absolute, as
// Config.WithDefaults makes it) that sends cacheControl as Cache-Control
// with files and 304s when it is not empty.
func NewStatic(root, cacheControl string) *Static {
	if len(root) > 1 {
		root = strings.TrimRight(root, "/")
	}
	s := &Static{
		root:   root,
		prefix: strings.TrimSuffix(root, "/") + "/",
		files:  newRootFSLazy(root),
	}
	s.files.siblings = true
	if cacheControl != "" {
		s.cacheControl = []byte(cacheControl)
	}
	fsys := &fasthttp.FS{
		Root:            root,
		AcceptByteRange: true,
		GenerateETag:    true,
		CacheDuration:   staticCacheDuration,
		PathRewrite: func(ctx *fasthttp.RequestCtx) []byte {
			if p, ok := ctx.UserValue(staticPathKey{}).(*staticPath); ok {
				return p.b
			}
			return staticNoPath
		},
	}
	s.serve = fsys.NewRequestHandler()
	return s
}

// Serve sends route.File. Anything that is not a servable static file
// under the root (wrong Kind, dotfile, PHP source, a name with "." or ".."
// segments, another tree) gets 404; methods other than GET and HEAD get
// 405 with Allow, as nginx's static module answers.
func (s *Static) Serve(ctx *fasthttp.RequestCtx, route Route) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Error("405 Method Not Allowed\n", fasthttp.StatusMethodNotAllowed)
		ctx.Response.Header.Set(fasthttp.HeaderAllow, "GET, HEAD")
		return
	}
	rel, ok := s.relOf(route)
	if !ok {
		ctx.Error("404 Not Found\n", fasthttp.StatusNotFound)
		return
	}

	// The file must be a regular file: opening a FIFO would block this
	// request forever, and a directory is not ours to list or redirect.
	// The same cached, confined lookup says which precompressed siblings
	// exist.
	var buf [256]byte
	e := s.files.stat(append(buf[:0], rel...))
	if e.kind != statFile {
		ctx.Error("404 Not Found\n", fasthttp.StatusNotFound)
		return
	}
	hasBr, hasGz := e.br, e.gz
	var enc, suffix string
	switch {
	case hasBr && ctx.Request.Header.HasAcceptEncoding("br"):
		enc, suffix = "br", ".br"
	case hasGz && ctx.Request.Header.HasAcceptEncoding("gzip"):
		enc, suffix = "gzip", ".gz"
	}

	p := staticPathPool.Get().(*staticPath)
	p.b = append(append(append(p.b[:0], '/'), rel...), suffix...)
	ctx.SetUserValue(staticPathKey{}, p)
	s.serve(ctx)
	ctx.RemoveUserValue(staticPathKey{})
	staticPathPool.Put(p)

	hdr := &ctx.Response.Header
	switch ctx.Response.StatusCode() {
	case fasthttp.StatusOK, fasthttp.StatusPartialContent:
		// The original's type, also for a sibling (FS would say gzip).
		hdr.SetContentType(contentTypeOf(rel))
		if enc != "" {
			hdr.Set(fasthttp.HeaderContentEncoding, enc)
		}
	case fasthttp.StatusNotModified:
	default:
		return
	}
	if hasBr || hasGz {
		// Caches must key on Accept-Encoding for every variant, also
		// the uncompressed one and the 304s.
		hdr.AddBytesKV(strVary, strAcceptEncoding)
	}
	if len(s.cacheControl) > 0 {
		hdr.SetCanonical(strCacheControl, s.cacheControl)
	}
}

// relOf returns route.File relative to the root after checking, again,
// everything Router guarantees: a static route, under the root, made of
// plain segments, no dotfile (but .well-known), no PHP source. Symlinks are
// left to os.Root when the file is opened.
func (s *Static) relOf(route Route) (string, bool) {
	if route.Kind != RouteStatic {
		return "", false
	}
	rel, ok := strings.CutPrefix(route.File, s.prefix)
	if !ok || rel == "" || notServable(rel) {
		return "", false
	}
	if strings.ContainsAny(rel, "\x00\\") {
		return "", false
	}
	for i, rest := 0, rel; ; i++ {
		seg, after, more := strings.Cut(rest, "/")
		if seg == "" || seg[0] == '.' && (i > 0 || seg != ".well-known") {
			return "", false // empty, ".", "..", or a dotfile
		}
		if !more {
			return rel, true
		}
		rest = after
	}
}

// staticTypes are the MIME types of common web files, fixed here rather
// than taken from the host's /etc/mime.types (which Go's mime package
// reads and which differs between distributions, e.g. for .js). Text
// types carry charset=utf-8, as Go's own table does; other extensions fall
// back to mime.TypeByExtension, then to application/octet-stream like
// nginx's default_type (never sniffed: a sniffed upload could become HTML).
var staticTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".txt":         "text/plain; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".xml":         "text/xml; charset=utf-8",
	".ics":         "text/calendar; charset=utf-8",
	".vtt":         "text/vtt; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".webmanifest": "application/manifest+json",
	".rss":         "application/rss+xml",
	".atom":        "application/atom+xml",
	".wasm":        "application/wasm",
	".pdf":         "application/pdf",
	".zip":         "application/zip",
	".gz":          "application/gzip",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/x-icon",
	".bmp":         "image/bmp",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".eot":         "application/vnd.ms-fontobject",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
}

// contentTypeOf returns the MIME type for the file name (its extension,
// case-insensitively).
func contentTypeOf(name string) string {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 || strings.IndexByte(name[dot:], '/') >= 0 {
		return "application/octet-stream"
	}
	ext := name[dot:]
	if t, ok := staticTypes[ext]; ok {
		return t
	}
	var lower [16]byte
	if len(ext) <= len(lower) {
		l := lower[:len(ext)]
		for i := range len(ext) {
			c := ext[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			l[i] = c
		}
		if t, ok := staticTypes[string(l)]; ok {
			return t
		}
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}
