package bridge

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// fakeClock is a settable clock for the id generator; sleeping advances it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestFDGenerator(t *testing.T) {
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

	t.Run("unique and increasing under concurrency", func(t *testing.T) {
		g := newFDGenerator(5, nil)
		const workers, each = 8, 5000
		ids := make(chan uint64, workers*each)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				last := uint64(0)
				for range each {
					id := g.next()
					if id <= last {
						t.Errorf("id %d after %d", id, last)
					}
					last = id
					ids <- id
				}
			})
		}
		wg.Wait()
		close(ids)
		seen := map[uint64]bool{}
		for id := range ids {
			if seen[id] {
				t.Fatalf("id %d handed out twice", id)
			}
			seen[id] = true
			if id >= 1<<53 {
				t.Fatalf("id %d is not below 2^53", id)
			}
			if fdNode(id) != 5 {
				t.Fatalf("id %d has node %d, want 5", id, fdNode(id))
			}
		}
	})

	t.Run("bursts borrow at most fdMaxBorrow, then wait for the clock", func(t *testing.T) {
		clk := &fakeClock{t: start}
		g := newFDGenerator(0, clk.now)
		slept := time.Duration(0)
		g.sleep = func(d time.Duration) { slept += d; clk.advance(d) }
		var last uint64
		for range 200000 { // ~3 s worth of 64/ms
			id := g.next()
			if id <= last {
				t.Fatalf("not increasing: %d after %d", id, last)
			}
			last = id
			if ahead := fdTime(id).Sub(clk.now()); ahead > fdMaxBorrow*time.Millisecond {
				t.Fatalf("id runs %s ahead of the clock", ahead)
			}
		}
		if slept == 0 {
			t.Error("never waited for the clock")
		}
	})

	t.Run("a restart never reuses ids", func(t *testing.T) {
		clk := &fakeClock{t: start}
		g1 := newFDGenerator(3, clk.now)
		g1.sleep = func(d time.Duration) { clk.advance(d) }
		var max1 uint64
		for range 100000 {
			max1 = g1.next()
		}
		clk.advance(time.Millisecond) // the restart takes a moment
		g2 := newFDGenerator(3, clk.now)
		if first := g2.next(); first <= max1 {
			t.Fatalf("after restart id %d <= %d of the previous process", first, max1)
		}
	})

	t.Run("nodes never collide", func(t *testing.T) {
		clk := &fakeClock{t: start}
		a, b := newFDGenerator(1, clk.now), newFDGenerator(2, clk.now)
		a.sleep = func(d time.Duration) { clk.advance(d) }
		b.sleep = a.sleep
		seen := map[uint64]bool{}
		for range 1000 {
			for _, id := range []uint64{a.next(), b.next()} {
				if seen[id] {
					t.Fatalf("collision on %d", id)
				}
				seen[id] = true
			}
		}
	})

	t.Run("a clock stepping back does not stall", func(t *testing.T) {
		clk := &fakeClock{t: start}
		g := newFDGenerator(0, clk.now)
		g.sleep = func(time.Duration) { t.Fatal("waited although the clock stepped back") }
		first := g.next()
		clk.advance(-time.Hour)
		for range 1000 {
			if id := g.next(); id <= first {
				t.Fatalf("id %d after %d", id, first)
			}
		}
	})

	t.Run("layout", func(t *testing.T) {
		id := fdCompose(1<<fdTimeBits-1, 63, 63)
		if id != 1<<53-1 {
			t.Errorf("largest id %d, want 2^53-1", id)
		}
		if got := fdTime(fdCompose(0, 0, 0)); !got.Equal(time.UnixMilli(fdEpoch)) {
			t.Errorf("epoch %s", got)
		}
	})
}

func TestParseCloseHeader(t *testing.T) {
	tests := []struct {
		in     string
		code   int
		reason string
		ok     bool
	}{
		{"4000 bye", 4000, "bye", true},
		{"1000", 1000, "", true},
		{" 1008  policy  ", 1008, "policy", true},
		{"4001 two words", 4001, "two words", true},
		{"abc", 1000, "abc", false},
		{"", 1000, "", false},
		{"1005 no", 1000, "no", false},
		{"1006", 1000, "", false},
		{"999 low", 1000, "low", false},
		{"5000 high", 1000, "high", false},
		{"4000 caf\xc3", 4000, "caf\uFFFD", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			code, reason, ok := parseCloseHeader(tt.in)
			if code != tt.code || reason != tt.reason || ok != tt.ok {
				t.Errorf("got %d %q %v, want %d %q %v", code, reason, ok, tt.code, tt.reason, tt.ok)
			}
		})
	}
	long := "4000 " + string(make([]byte, 50)) + "ééééééééééééééééééééééééééééééééééééééééééé"
	if _, r, _ := parseCloseHeader(long); len(r) > maxCloseReason {
		t.Errorf("reason of %d bytes", len(r))
	}
}

func TestWSOrigins(t *testing.T) {
	list := newWSOrigins([]string{"https://app.example.com", "admin.example.org", "*.example.net"})
	tests := []struct {
		origin, host string
		want         bool
	}{
		{"", "h", true},
		{"http://localhost:8080", "localhost:8080", true},
		{"http://LOCALHOST:8080", "localhost:8080", true},
		{"http://localhost:9999", "localhost:8080", false},
		{"https://app.example.com", "ws.example.com", true},
		{"http://app.example.com", "ws.example.com", false},
		{"https://admin.example.org:8443", "ws.example.com", true},
		{"https://a.b.example.net", "ws.example.com", true},
		{"https://example.net", "ws.example.com", false},
		{"https://evilexample.net", "ws.example.com", false},
		{"null", "ws.example.com", false},
		{"file://", "ws.example.com", false},
		{"%zz", "ws.example.com", false},
	}
	for _, tt := range tests {
		if got := list.allowed(tt.origin, tt.host); got != tt.want {
			t.Errorf("allowed(%q, %q) = %v, want %v", tt.origin, tt.host, got, tt.want)
		}
	}
	if !newWSOrigins([]string{"*"}).allowed("https://anything.example", "h") {
		t.Error("* must allow any origin")
	}
	if newWSOrigins(nil).allowed("https://evil.example", "good.example") {
		t.Error("the default must refuse a foreign origin")
	}
}

func TestWSHandlerScript(t *testing.T) {
	tests := []struct {
		handler        string
		name, filename string
	}{
		{"/app/ws.php", "/ws", "/app/ws.php"},
		{"/app/public/ws.php", "/ws.php", "/var/www/public/ws.php"},
		{"/app/public/sub/ws.php", "/sub/ws.php", "/var/www/public/sub/ws.php"},
		{"/app/publicity/ws.php", "/ws", "/app/publicity/ws.php"},
	}
	for _, tt := range tests {
		cfg := &Config{Root: "/app/public", PHPRoot: "/var/www/public", WSPath: "/ws", WSHandler: tt.handler}
		sc := wsHandlerScript(cfg)
		if sc.Name != tt.name || sc.Filename != tt.filename {
			t.Errorf("%s: got %q %q, want %q %q", tt.handler, sc.Name, sc.Filename, tt.name, tt.filename)
		}
	}
}

func TestClassifyReadError(t *testing.T) {
	tests := []struct {
		err      error
		code     int
		mustSend bool
	}{
		{&websocket.CloseError{Code: 4000, Text: "x"}, 4000, false},
		{&websocket.CloseError{Code: 1005}, 1005, false},
		{&websocket.CloseError{Code: 1006, Text: "unexpected EOF"}, 1006, false},
		{websocket.ErrReadLimit, 1009, false},
		{errWSTooBig, 1009, true},
		{errWSInvalidUTF8, 1007, true},
		{fmt.Errorf("wrapped: %w", errWSInvalidUTF8), 1007, true},
		{errors.New("websocket: bad MASK"), 1002, false},
		{errors.New("flate: corrupt input before offset 3"), 1007, true},
		{&net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, 1006, false},
		{net.ErrClosed, 1006, false},
		{io.EOF, 1006, false},
		{timeoutErr{}, 1001, true},
	}
	for _, tt := range tests {
		code, _, send := classifyReadError(tt.err)
		if code != tt.code || send != tt.mustSend {
			t.Errorf("%v: got %d send=%v, want %d send=%v", tt.err, code, send, tt.code, tt.mustSend)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
