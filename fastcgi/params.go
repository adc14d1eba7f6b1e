package fastcgi

import "sync"

// Params is an ordered list of FastCGI params (CGI variables), kept in wire
// encoding so building them allocates nothing and sending them is one copy.
// Reuse one with Reset, or take one from AcquireParams on hot paths.
type Params struct {
	buf []byte
}

var paramsPool = sync.Pool{New: func() any { return &Params{buf: make([]byte, 0, 2048)} }}

// AcquireParams returns an empty Params from a pool.
func AcquireParams() *Params { return paramsPool.Get().(*Params) }

// ReleaseParams returns p to the pool; p must not be used afterwards.
func ReleaseParams(p *Params) {
	p.Reset()
	paramsPool.Put(p)
}

// Reset empties p, keeping its memory.
func (p *Params) Reset() { p.buf = p.buf[:0] }

// Add appends name=value. Names are not deduplicated: add each once.
func (p *Params) Add(name, value string) { p.buf = appendNameValue(p.buf, name, value) }

// AddBytes appends name=value from a byte slice without converting it to a
// string first.
func (p *Params) AddBytes(name string, value []byte) {
	p.buf = appendNameValue(p.buf, name, value)
}

// Get returns the value of the first param called name. It scans the
// encoding; meant for tests and diagnostics, not hot paths.
func (p *Params) Get(name string) (value string, ok bool) {
	p.Each(func(n, v string) {
		if !ok && n == name {
			value, ok = v, true
		}
	})
	return value, ok
}

// Each calls fn for every param in order.
func (p *Params) Each(fn func(name, value string)) { parseNameValues(p.buf, fn) }

// encoded is the params' wire form (the content of FCGI_PARAMS records).
func (p *Params) encoded() []byte { return p.buf }

// Encoded returns the params in wire encoding. The slice aliases p's
// memory: copy it (bytes.Clone) to keep a snapshot beyond p's next change,
// e.g. the upgrade request's params that every WebSocket event reuses.
func (p *Params) Encoded() []byte { return p.buf }

// AppendEncoded appends params already in wire encoding (from Encoded), so
// a stored snapshot costs one copy per request instead of re-encoding.
func (p *Params) AppendEncoded(b []byte) { p.buf = append(p.buf, b...) }
