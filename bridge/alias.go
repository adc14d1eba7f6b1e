package bridge

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// staticAlias is one Config.StaticAliases entry, nginx's
//
//	location /storage/ { alias /app/storage/app/public/; }
//
// with the root's rules: the directory is opened as its own os.Root (a
// symlink leaving it is never followed), dotfiles and PHP source are 404,
// PHP never runs, and a missing file is 404 instead of the front controller.
type staticAlias struct {
	prefix   string  // cleaned URL path, no trailing slash: "/storage"
	location string  // prefix percent-encoded, for a redirect's Location
	router   *Router // the alias's Router: no front controller, no PHP
	static   *Static
}

// staticAliases are the aliases of a Server, longest prefix first so that
// "/a/b" wins over "/a" like nginx's longest prefix location. A nil
// *staticAliases (none configured) costs handle one comparison.
type staticAliases struct {
	list []staticAlias
}

// newStaticAliases opens the directories of specs (entries of a validated,
// defaulted Config.StaticAliases); it returns nil when there are none.
func newStaticAliases(specs []string, cacheControl string) (*staticAliases, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	as := &staticAliases{}
	for _, spec := range specs {
		prefix, dir, err := parseStaticAlias(spec)
		if err != nil {
			return nil, fmt.Errorf("static-alias: %q: %w", spec, err)
		}
		rfs, err := newRootFS(dir)
		if err != nil {
			return nil, fmt.Errorf("static-alias: %q: %w", spec, err)
		}
		as.list = append(as.list, staticAlias{
			prefix:   prefix,
			location: escapePath([]byte(prefix), false),
			// No index: the front controller and a directory's index.php
			// are never found, and resolve refuses any PHP route anyway.
			router: &Router{fs: rfs},
			static: NewStatic(dir, cacheControl),
		})
	}
	sort.SliceStable(as.list, func(i, j int) bool { return len(as.list[i].prefix) > len(as.list[j].prefix) })
	return as, nil
}

// resolve is the Server's routing: the alias whose prefix covers the
// cleaned path, else the root. It returns the Static that serves the route.
func (s *Server) resolve(raw []byte) (Route, *Static) {
	if s.aliases != nil {
		if route, st, ok := s.aliases.resolve(raw); ok {
			return route, st
		}
	}
	return s.router.Resolve(raw), s.static
}

// resolve routes raw (as for Router.Resolve) when its cleaned path is an
// alias prefix or below one; ok is false otherwise, malformed paths
// included (the root's Router answers those).
func (as *staticAliases) resolve(raw []byte) (route Route, st *Static, ok bool) {
	if i := bytes.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	var buf [256]byte
	p, valid := cleanPath(buf[:0], raw)
	if !valid {
		return Route{}, nil, false
	}
	for i := range as.list {
		a := &as.list[i]
		if n := len(a.prefix); len(p) >= n && string(p[:n]) == a.prefix && (len(p) == n || p[n] == '/') {
			return a.resolve(p), a.static, true
		}
	}
	return Route{}, nil, false
}

// resolve routes the cleaned path p, which is a.prefix or below it, with the
// alias's Router on the part after the prefix.
func (a *staticAlias) resolve(p []byte) Route {
	if hasHiddenSegment(p) {
		// Checked on the whole path: "/storage/.well-known/x" is a dotfile
		// of the alias, not the root's RFC 8615 directory.
		return Route{Kind: RouteNotFound, Path: string(p)}
	}
	rest := p[len(a.prefix):]
	if len(rest) == 0 {
		return Route{Kind: RouteRedirect, Path: a.location + "/"}
	}
	// Resolve decodes its input once more: p is already decoded and
	// cleaned, so it is re-encoded unless that would change nothing
	// (no '%', nor a '?' or '#' that Resolve would cut at).
	if bytes.IndexAny(rest, "%?#") >= 0 {
		rest = []byte(escapePath(rest, false))
	}
	route := a.router.Resolve(rest)
	switch route.Kind {
	case RouteRedirect:
		route.Path = a.location + route.Path
	case RoutePHP:
		// A script, a directory's index.php: source is not served and
		// never runs from an alias.
		route = Route{Kind: RouteNotFound, Path: string(p)}
	}
	return route
}

// parseStaticAlias splits "URLPREFIX=DIR" and checks the prefix; it
// returns the prefix without a trailing slash.
func parseStaticAlias(spec string) (prefix, dir string, err error) {
	prefix, dir, found := strings.Cut(spec, "=")
	prefix, dir = strings.TrimSpace(prefix), strings.TrimSpace(dir)
	if !found || prefix == "" || dir == "" {
		return "", "", fmt.Errorf("must be URLPREFIX=DIR, like \"/storage=../storage/app/public\"")
	}
	if !strings.HasPrefix(prefix, "/") {
		return "", "", fmt.Errorf("URL prefix %q must start with \"/\"", prefix)
	}
	if len(prefix) > 1 {
		prefix = strings.TrimSuffix(prefix, "/")
	}
	if prefix == "/" {
		return "", "", fmt.Errorf("URL prefix must name a path below \"/\", like \"/storage\" (the root is --root)")
	}
	if strings.ContainsAny(prefix, "%?#\\\x00") {
		return "", "", fmt.Errorf("URL prefix %q must be a plain decoded path, without %%, ?, #, \\ or NUL", prefix)
	}
	for i, seg := range strings.Split(prefix[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", "", fmt.Errorf("URL prefix %q must not have empty, \".\" or \"..\" segments", prefix)
		}
		if seg[0] == '.' && (i > 0 || seg != ".well-known") {
			return "", "", fmt.Errorf("URL prefix %q must not have dot segments (dotfiles are never served; only a leading /.well-known is allowed)", prefix)
		}
	}
	return prefix, dir, nil
}

// absStaticAliases returns specs with each DIR made absolute (relative to
// the working directory), in a new slice; malformed entries are kept as
// they are for staticAliasProblems to report.
func absStaticAliases(specs []string) []string {
	if len(specs) == 0 {
		return specs
	}
	out := make([]string, len(specs))
	for i, spec := range specs {
		out[i] = spec
		if prefix, dir, err := parseStaticAlias(spec); err == nil {
			if abs, err := filepath.Abs(dir); err == nil {
				out[i] = prefix + "=" + abs
			}
		}
	}
	return out
}

// staticAliasProblems returns what is wrong with each entry of a defaulted
// Config.StaticAliases, for Validate.
func staticAliasProblems(specs []string) []string {
	var msgs []string
	seen := make(map[string]bool, len(specs))
	for _, spec := range specs {
		prefix, dir, err := parseStaticAlias(spec)
		switch {
		case err != nil:
			msgs = append(msgs, fmt.Sprintf("%q: %v", spec, err))
		case seen[prefix]:
			msgs = append(msgs, fmt.Sprintf("%q: URL prefix %s is given more than once", spec, prefix))
		default:
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				msgs = append(msgs, fmt.Sprintf("%s: DIR %q is not an existing directory", prefix, dir))
			}
		}
		seen[prefix] = true
	}
	return msgs
}

// warnEscapingLinks logs, once at start, each top-level symlink of the root
// that leads out of it (Laravel's public/storage) and that no alias serves:
// the Router refuses it with 404, which is otherwise a mystery.
func (s *Server) warnEscapingLinks() {
	entries, err := os.ReadDir(s.cfg.Root)
	if err != nil {
		return
	}
	root, err := filepath.EvalSymlinks(s.cfg.Root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Type()&os.ModeSymlink == 0 {
			continue
		}
		url := "/" + e.Name()
		if s.aliases.covers(url) {
			continue
		}
		target, err := filepath.EvalSymlinks(filepath.Join(s.cfg.Root, e.Name()))
		if err != nil {
			continue // dangling: a 404 like any missing file
		}
		if rel, err := filepath.Rel(root, target); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			continue
		}
		if st, err := os.Stat(target); err == nil && st.IsDir() {
			s.log.Warn("symlink in the root leads out of it and will not be served; serve it with static-alias",
				"path", url, "target", target, "fix", "--static-alias "+url+"="+target)
		} else {
			s.log.Warn("symlink in the root leads out of it and will not be served; copy the file into the root",
				"path", url, "target", target)
		}
	}
}

// covers reports whether an alias serves the URL path url exactly.
func (as *staticAliases) covers(url string) bool {
	if as == nil {
		return false
	}
	for _, a := range as.list {
		if a.prefix == url {
			return true
		}
	}
	return false
}
