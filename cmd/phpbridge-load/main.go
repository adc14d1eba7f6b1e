// Command phpbridge-load is the load generator of phpbridge's WebSocket
// benchmarks (bench/ws.sh). It is bounded in connections and time, speaks
// only to the address it is given, and spreads its connections over
// several loopback source addresses (127.0.0.2, 127.0.0.3, …) because one
// source address has only ~28,000 ephemeral ports.
//
//	phpbridge-load idle   -url ws://127.0.0.1:8080/ws -n 19000
//	    opens n connections, prints "READY opened=N failed=F seconds=S",
//	    holds them (answering pings) until -hold or SIGTERM, then prints
//	    "DONE opened=N alive=A".
//	phpbridge-load accept -url ws://127.0.0.1:8080/ws -n 10000
//	    times opening n connections (each runs the open event in PHP) and
//	    prints "ACCEPT n=N ok=K failed=F seconds=S rate=R p50_ms=… p99_ms=…".
//	phpbridge-load echo   -url ws://127.0.0.1:8080/ws -c 100 -d 10s
//	    c connections, each sends a message and waits for the reply, in a
//	    loop; prints "ECHO conns=C events=N seconds=S rate=R p50_ms=…
//	    p99_ms=… unanswered_at_end=U starved=Z errors=E" (starved: connections
//	    that got no answer at all while measuring).
//	phpbridge-load http   -url http://127.0.0.1:8081/echo.php -c 100 -d 10s
//	    the same closed loop as HTTP POSTs on keep-alive connections
//	    (the AJAX-poll equivalent); prints "HTTP conns=C requests=N …".
//
// Latencies are closed-loop (each connection waits for its reply before the
// next send), so they are not corrected for coordinated omission; a round
// trip still unanswered when the run ends counts with the time it waited
// so far, so a server that starves some connections shows it in p99.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/phpbridge/phpbridge/internal/sourcedial"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// Hard bounds, whatever the flags say.
const (
	maxConns    = 60000
	maxDuration = 10 * time.Minute
)

type options struct {
	url         string
	n           int
	conns       int
	duration    time.Duration
	warmup      time.Duration
	hold        time.Duration
	size        int
	concurrency int
	src         net.IP
	perAddr     int
	timeout     time.Duration
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	mode := os.Args[1]
	if run, ok := extraModes[mode]; ok { // count, push, fanout: fanout.go
		run(os.Args[2:])
		return
	}
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	var o options
	var src string
	fs.StringVar(&o.url, "url", "ws://127.0.0.1:8080/ws", "target URL (ws:// for idle/accept/echo, http:// for http)")
	fs.IntVar(&o.n, "n", 1000, "connections to open (idle, accept)")
	fs.IntVar(&o.conns, "c", 100, "concurrent connections (echo, http)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured duration (echo, http)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before -d (echo, http)")
	fs.DurationVar(&o.hold, "hold", 120*time.Second, "how long idle holds its connections at most")
	fs.IntVar(&o.size, "size", 32, "message / request body size in bytes (echo, http)")
	fs.IntVar(&o.concurrency, "concurrency", 128, "handshakes in flight at once (idle, accept)")
	fs.StringVar(&src, "src", "127.0.0.2", "first source address; further ones count up from it")
	fs.IntVar(&o.perAddr, "per-addr", 10000, "connections per source address")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of one handshake or request")
	_ = fs.Parse(os.Args[2:])
	o.src = net.ParseIP(src).To4()
	switch {
	case o.src == nil:
		fatalf("-src %q is not an IPv4 address", src)
	case o.n <= 0 || o.n > maxConns || o.conns <= 0 || o.conns > maxConns:
		fatalf("-n and -c must be between 1 and %d", maxConns)
	case o.duration <= 0 || o.duration+o.warmup > maxDuration || o.hold > maxDuration:
		fatalf("-d (+ -warmup) and -hold must be positive and at most %s", maxDuration)
	case o.concurrency <= 0 || o.perAddr <= 0 || o.size < 0:
		fatalf("-concurrency and -per-addr must be > 0, -size >= 0")
	}
	switch mode {
	case "idle":
		idle(o)
	case "accept":
		accept(o)
	case "echo":
		echo(o)
	case "http":
		httpLoop(o)
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: phpbridge-load idle|accept|echo|http|count|push|fanout [flags] (-h for flags)")
	os.Exit(2)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "phpbridge-load: "+format+"\n", args...)
	os.Exit(1)
}

// source returns the source address of connection i.
func (o options) source(i int) net.IP {
	ip := slices.Clone(o.src)
	ip[3] += byte(i / o.perAddr)
	return ip
}

// dialer returns a WebSocket dialer binding connection i to its source
// address, with small buffers so the client side stays light too.
func (o options) dialer(i int) *websocket.Dialer {
	nd := sourcedial.Dialer(o.source(i), o.timeout)
	return &websocket.Dialer{
		NetDialContext:   nd.DialContext,
		HandshakeTimeout: o.timeout,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
		WriteBufferPool:  &writePool,
	}
}

var writePool sync.Pool

// openAll opens n connections, concurrency at a time, and returns them
// (nil where the handshake failed), each handshake's duration, and the
// first error seen.
func openAll(o options) ([]*websocket.Conn, []time.Duration, error) {
	conns := make([]*websocket.Conn, o.n)
	lat := make([]time.Duration, o.n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range min(o.concurrency, o.n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= o.n {
					return
				}
				start := time.Now()
				c, resp, err := o.dialer(i).Dial(o.url, nil)
				if err != nil {
					if resp != nil {
						err = fmt.Errorf("%w (status %d)", err, resp.StatusCode)
					}
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				lat[i] = time.Since(start)
				conns[i] = c
			}
		})
	}
	wg.Wait()
	err, _ := firstErr.Load().(error)
	return conns, lat, err
}

func idle(o options) {
	start := time.Now()
	conns, _, err := openAll(o)
	opened := 0
	var alive atomic.Int64
	for _, c := range conns {
		if c == nil {
			continue
		}
		opened++
		alive.Add(1)
		go func() { // answers the server's pings; notices a close
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					alive.Add(-1)
					return
				}
			}
		}()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", err)
	}
	fmt.Printf("READY opened=%d failed=%d seconds=%.2f\n", opened, o.n-opened, time.Since(start).Seconds())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case <-time.After(o.hold):
	}
	fmt.Printf("DONE opened=%d alive=%d\n", opened, alive.Load())
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	if opened < o.n {
		os.Exit(1)
	}
}

func accept(o options) {
	start := time.Now()
	conns, lat, err := openAll(o)
	secs := time.Since(start).Seconds()
	var ok []time.Duration
	for i, c := range conns {
		if c != nil {
			ok = append(ok, lat[i])
			c.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", err)
	}
	p50, p99 := percentiles(ok)
	fmt.Printf("ACCEPT n=%d ok=%d failed=%d seconds=%.3f rate=%.0f p50_ms=%.3f p99_ms=%.3f\n",
		o.n, len(ok), o.n-len(ok), secs, float64(len(ok))/secs, p50, p99)
	if len(ok) < o.n {
		os.Exit(1)
	}
}

// closedLoop runs worker(i) on o.conns goroutines for warm-up plus the
// measured duration; a worker calls record for each completed round trip,
// and once more, with the time waited so far, for one the end of the run
// cut short (ctx is done then). It returns the latencies, the number of
// completed round trips, the measured seconds, the errors, and how many
// connections got no answer at all while measuring (starved).
func closedLoop(o options, work func(ctx context.Context, i int, record func(d time.Duration, answered bool)) error) ([]time.Duration, int, float64, int64, int) {
	ctx, cancel := context.WithTimeout(context.Background(), o.warmup+o.duration)
	defer cancel()
	var completed, starved atomic.Int64
	var measuring atomic.Bool
	var mu sync.Mutex
	var all []time.Duration
	var errs atomic.Int64
	var wg sync.WaitGroup
	time.AfterFunc(o.warmup, func() { measuring.Store(true) })
	for i := range o.conns {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1<<14)
			answers := 0
			err := work(ctx, i, func(d time.Duration, answered bool) {
				if !measuring.Load() {
					return
				}
				if answered {
					answers++
				}
				local = append(local, d)
			})
			completed.Add(int64(answers))
			if answers == 0 {
				starved.Add(1)
			}
			if err != nil && ctx.Err() == nil {
				if errs.Add(1) <= 5 { // the first few say enough
					fmt.Fprintf(os.Stderr, "connection %d: %v\n", i, err)
				}
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, int(completed.Load()), o.duration.Seconds(), errs.Load(), int(starved.Load())
}

func payload(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

func echo(o options) {
	o.n = o.conns
	conns, _, err := openAll(o)
	for _, c := range conns {
		if c == nil {
			fatalf("could not open %d connections: %v", o.conns, err)
		}
	}
	msg := payload(o.size)
	lat, done, secs, errs, starved := closedLoop(o, func(ctx context.Context, i int, record func(time.Duration, bool)) error {
		c := conns[i]
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { _ = c.SetReadDeadline(time.Now()) })
		defer stop()
		for ctx.Err() == nil {
			start := time.Now()
			if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
				return err
			}
			_, got, err := c.ReadMessage()
			if err != nil {
				if ctx.Err() != nil {
					record(time.Since(start), false) // still waiting at the end
					return nil
				}
				return err
			}
			if len(got) != len(msg) {
				return fmt.Errorf("reply of %d bytes, want %d", len(got), len(msg))
			}
			if ctx.Err() == nil {
				record(time.Since(start), true)
			}
		}
		return nil
	})
	p50, p99 := percentiles(lat)
	fmt.Printf("ECHO conns=%d events=%d seconds=%.1f rate=%.0f p50_ms=%.3f p99_ms=%.3f unanswered_at_end=%d starved=%d errors=%d\n",
		o.conns, done, secs, float64(done)/secs, p50, p99, len(lat)-done, starved, errs)
}

func httpLoop(o options) {
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "http" {
		fatalf("-url %q: want http://host:port/path", o.url)
	}
	var dialed atomic.Int64
	hc := &fasthttp.HostClient{
		Addr:     u.Host,
		MaxConns: o.conns,
		Dial: func(addr string) (net.Conn, error) {
			i := int(dialed.Add(1) - 1)
			return sourcedial.Dialer(o.source(i), o.timeout).Dial("tcp", addr)
		},
		ReadTimeout:  o.timeout,
		WriteTimeout: o.timeout,
	}
	body := payload(o.size)
	deadline := time.Now().Add(o.warmup + o.duration)
	lat, done, secs, errs, starved := closedLoop(o, func(ctx context.Context, _ int, record func(time.Duration, bool)) error {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		for ctx.Err() == nil {
			req.SetRequestURI(o.url)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/octet-stream")
			req.SetBody(body)
			start := time.Now()
			if err := hc.DoDeadline(req, resp, deadline); err != nil {
				if ctx.Err() != nil || errors.Is(err, fasthttp.ErrTimeout) && !time.Now().Before(deadline) {
					record(time.Since(start), false) // still waiting at the end
					return nil
				}
				return err
			}
			if resp.StatusCode() != 200 || len(resp.Body()) != len(body) {
				return fmt.Errorf("status %d, %d bytes", resp.StatusCode(), len(resp.Body()))
			}
			if ctx.Err() == nil {
				record(time.Since(start), true)
			}
		}
		return nil
	})
	p50, p99 := percentiles(lat)
	fmt.Printf("HTTP conns=%d requests=%d seconds=%.1f rate=%.0f p50_ms=%.3f p99_ms=%.3f unanswered_at_end=%d starved=%d errors=%d\n",
		o.conns, done, secs, float64(done)/secs, p50, p99, len(lat)-done, starved, errs)
}

// percentiles returns p50 and p99 in milliseconds.
func percentiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(d)-1))
		return float64(d[i]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.99)
}
