// Push and fan-out modes of phpbridge-load (bench/push.sh). They talk to
// phpbridge's control API (docs/control-api.md) as well as to its
// WebSocket endpoint; the token comes from -token or, better (flags show
// in ps), the environment variable PHPBRIDGE_CONTROL_TOKEN.
//
//	phpbridge-load count  -url ws://127.0.0.1:8080/ws -n 1000
//	    opens n connections and counts the messages they receive; prints
//	    "READY opened=N failed=F seconds=S", then "COUNT received=R
//	    alive=A" on every SIGUSR1, and "DONE opened=N alive=A received=R"
//	    at SIGTERM or -hold. The targets of push runs.
//	phpbridge-load push   -control unix:/path.sock -batch 1 -d 10s
//	    the raw control API from Go: -c callers (default 1), each posting
//	    pushes in a closed loop over one keep-alive connection to every
//	    open connection in turn (the fds come from the "connections"
//	    action); -batch 1 posts one bare push action per call, -batch B
//	    a /v1/actions batch of B push actions. Prints "PUSH batch=B
//	    calls=C pushes=P sent=S seconds=T rate=R call_rate=… p50_ms=…
//	    p99_ms=… max_ms=… errors=E" (rate = pushes/s, latency per call).
//	phpbridge-load fanout -url … -control … -n 10000 -k 20 -interval 1s
//	    opens n connections, then broadcasts k messages (after -warmup-k
//	    unrecorded ones) through the control API, one every -interval,
//	    each carrying its send time in unix ns ("fanout seq=S t=NS …").
//	    Every connection notes when each arrives. Per broadcast it prints
//	    "BCAST seq=… got=G of=N call_ms=… first_ms=… p50_ms=… p99_ms=…
//	    last_ms=… cpu_ms=…" (times from just before the control call),
//	    then "FANOUT n=… k=… expected=… received=… lost=… dup=… …" with
//	    the last-client time over the broadcasts (p50, max), p50/p99 over
//	    every delivery, messages delivered per second (received / sum of
//	    the delivery windows, call to last client) and, with -pid,
//	    phpbridge's CPU use: utime+stime from /proc/PID/stat (clock
//	    ticks) and the sum of /proc/PID/task/*/schedstat (ns), both over
//	    the delivery windows and over the whole run; client_cpu_pct is
//	    this tool's own CPU in the windows (% of one core), to show
//	    whether the receivers kept up.
//
// A broadcast waits for the last connection (or -wait) before the next is
// timed, so the windows do not overlap.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// extraModes are dispatched by main before its own flags are parsed,
// since these modes take flags of their own.
var extraModes = map[string]func(args []string){
	"count":  countMode,
	"push":   pushMode,
	"fanout": fanoutMode,
}

type pushOptions struct {
	options
	control  string
	token    string
	k        int
	warmupK  int
	interval time.Duration
	wait     time.Duration
	batch    int
	pid      int
}

// parsePushFlags parses the flags of count/push/fanout: the shared ones
// with main's names and defaults, plus the control API's.
func parsePushFlags(mode string, args []string) pushOptions {
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	var o pushOptions
	var src string
	fs.StringVar(&o.url, "url", "ws://127.0.0.1:8080/ws", "WebSocket URL (count, fanout)")
	fs.IntVar(&o.n, "n", 1000, "connections to open (count, fanout)")
	fs.IntVar(&o.conns, "c", 1, "concurrent callers of the control API (push)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured duration (push)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before -d (push)")
	fs.DurationVar(&o.hold, "hold", 300*time.Second, "how long count holds its connections at most")
	fs.IntVar(&o.size, "size", 32, "message size in bytes (push, fanout; fanout's is at least its header)")
	fs.IntVar(&o.concurrency, "concurrency", 128, "handshakes in flight at once")
	fs.StringVar(&src, "src", "127.0.0.2", "first source address; further ones count up from it")
	fs.IntVar(&o.perAddr, "per-addr", 10000, "connections per source address")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "timeout of one handshake or control call")
	fs.StringVar(&o.control, "control", "", "control API address: unix:/path.sock or 127.0.0.1:port (push, fanout)")
	fs.StringVar(&o.token, "token", "", "control token (default: env PHPBRIDGE_CONTROL_TOKEN)")
	fs.IntVar(&o.k, "k", 20, "broadcasts measured (fanout)")
	fs.IntVar(&o.warmupK, "warmup-k", 1, "unrecorded broadcasts before the k (fanout)")
	fs.DurationVar(&o.interval, "interval", time.Second, "time between broadcast starts (fanout)")
	fs.DurationVar(&o.wait, "wait", 10*time.Second, "longest wait for the last connection of one broadcast (fanout)")
	fs.IntVar(&o.batch, "batch", 1, "pushes per control call (push); 1 = a bare action")
	fs.IntVar(&o.pid, "pid", 0, "phpbridge's pid, to measure its CPU (fanout)")
	_ = fs.Parse(args)
	o.src = net.ParseIP(src).To4()
	if o.token == "" {
		o.token = os.Getenv("PHPBRIDGE_CONTROL_TOKEN")
	}
	switch {
	case o.src == nil:
		fatalf("-src %q is not an IPv4 address", src)
	case o.n <= 0 || o.n > maxConns || o.conns <= 0 || o.conns > 1000:
		fatalf("-n must be between 1 and %d, -c between 1 and 1000", maxConns)
	case o.duration <= 0 || o.duration+o.warmup > maxDuration || o.hold > maxDuration:
		fatalf("-d (+ -warmup) and -hold must be positive and at most %s", maxDuration)
	case o.concurrency <= 0 || o.perAddr <= 0 || o.size < 0 || o.size > 1<<20:
		fatalf("-concurrency and -per-addr must be > 0, 0 <= -size <= 1 MiB")
	case o.k <= 0 || o.k > 1000 || o.warmupK < 0 || o.warmupK > 100:
		fatalf("-k must be between 1 and 1000, -warmup-k between 0 and 100")
	case time.Duration(o.k+o.warmupK)*max(o.interval, o.wait) > maxDuration:
		fatalf("(-k + -warmup-k) × max(-interval, -wait) must stay under %s", maxDuration)
	case o.batch <= 0 || o.batch > 10000:
		fatalf("-batch must be between 1 and 10000")
	}
	if mode != "count" {
		if o.control == "" {
			fatalf("-control is required (unix:/path.sock or 127.0.0.1:port)")
		}
		if o.token == "" {
			fatalf("no control token: set PHPBRIDGE_CONTROL_TOKEN or -token")
		}
	}
	raiseNofile()
	return o
}

// raiseNofile lifts the soft open-files limit to the hard one.
func raiseNofile() {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}

// ---------------------------------------------------------------- control API

// controlClient posts to the control API over one keep-alive connection per
// caller (unix socket or loopback TCP).
type controlClient struct {
	hc    *fasthttp.HostClient
	auth  string
	url   string
	calls atomic.Int64
}

func newControlClient(o pushOptions) *controlClient {
	network, addr := "tcp", o.control
	if p, ok := strings.CutPrefix(o.control, "unix:"); ok {
		network, addr = "unix", p
	}
	return &controlClient{
		hc: &fasthttp.HostClient{
			Addr:         "phpbridge-control",
			MaxConns:     o.conns + 1,
			Dial:         func(string) (net.Conn, error) { return net.DialTimeout(network, addr, o.timeout) },
			ReadTimeout:  o.timeout,
			WriteTimeout: o.timeout,
		},
		auth: "Bearer " + o.token,
		url:  "http://phpbridge-control/v1/actions",
	}
}

// post sends one body and returns the answer's body (a copy) or an error
// for a transport failure or a status other than 200.
func (cc *controlClient) post(body []byte) ([]byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(cc.url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(fasthttp.HeaderAuthorization, cc.auth)
	req.SetBodyRaw(body)
	if err := cc.hc.Do(req, resp); err != nil {
		return nil, err
	}
	cc.calls.Add(1)
	if resp.StatusCode() != 200 {
		return nil, fmt.Errorf("control API: status %d: %s", resp.StatusCode(), bytes.TrimSpace(resp.Body()))
	}
	return bytes.Clone(resp.Body()), nil
}

// connections asks for the open connection ids.
func (cc *controlClient) connections() ([]uint64, error) {
	b, err := cc.post([]byte(`{"op":"connections"}`))
	if err != nil {
		return nil, err
	}
	var r struct {
		OK  bool     `json:"ok"`
		FDs []uint64 `json:"fds"`
	}
	if err := json.Unmarshal(b, &r); err != nil || !r.OK {
		return nil, fmt.Errorf("connections: %s", bytes.TrimSpace(b))
	}
	return r.FDs, nil
}

type sentResult struct {
	OK    bool   `json:"ok"`
	Sent  int    `json:"sent"`
	Error string `json:"error"`
}

// ---------------------------------------------------------------- receivers

// receivers holds n WebSocket connections, each read by its own goroutine
// that hands every data message to onMessage(i, data, arrival).
type receivers struct {
	conns    []*websocket.Conn
	opened   int
	alive    atomic.Int64
	received atomic.Int64
	seconds  float64
}

func openReceivers(o options, onMessage func(i int, data []byte, at time.Time)) *receivers {
	start := time.Now()
	conns, _, err := openAll(o)
	r := &receivers{conns: conns, seconds: time.Since(start).Seconds()}
	for i, c := range conns {
		if c == nil {
			continue
		}
		r.opened++
		r.alive.Add(1)
		go func() {
			for {
				_, data, err := c.ReadMessage() // answers pings by itself
				if err != nil {
					r.alive.Add(-1)
					return
				}
				at := time.Now()
				r.received.Add(1)
				if onMessage != nil {
					onMessage(i, data, at)
				}
			}
		}()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "first error: %v\n", err)
	}
	fmt.Printf("READY opened=%d failed=%d seconds=%.2f\n", r.opened, o.n-r.opened, r.seconds)
	return r
}

func (r *receivers) close() {
	for _, c := range r.conns {
		if c != nil {
			c.Close()
		}
	}
}

// ---------------------------------------------------------------- count

func countMode(args []string) {
	o := parsePushFlags("count", args)
	r := openReceivers(o.options, nil)
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	deadline := time.After(o.hold)
loop:
	for {
		select {
		case s := <-sig:
			if s != syscall.SIGUSR1 {
				break loop
			}
			fmt.Printf("COUNT received=%d alive=%d\n", r.received.Load(), r.alive.Load())
		case <-deadline:
			break loop
		}
	}
	fmt.Printf("DONE opened=%d alive=%d received=%d\n", r.opened, r.alive.Load(), r.received.Load())
	r.close()
	if r.opened < o.n {
		os.Exit(1)
	}
}

// ---------------------------------------------------------------- push

func pushMode(args []string) {
	o := parsePushFlags("push", args)
	cc := newControlClient(o)
	fds, err := cc.connections()
	if err != nil {
		fatalf("%v", err)
	}
	if len(fds) == 0 {
		fatalf("no open connections to push to (start `phpbridge-load count` first)")
	}
	data, _ := json.Marshal(string(payload(o.size)))
	// Calls are prebuilt: B push actions to consecutive fds, cycling over
	// every fd, so the client spends its time on the wire, not on JSON.
	ncalls := max(1, len(fds)/o.batch)
	if len(fds)%o.batch != 0 {
		ncalls = len(fds) // cycle fully, whatever B
	}
	bodies := make([][]byte, ncalls)
	for j := range bodies {
		var b bytes.Buffer
		if o.batch > 1 {
			b.WriteString(`{"actions":[`)
		}
		for m := range o.batch {
			if m > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"op":"push","fd":%d,"data":%s}`, fds[(j*o.batch+m)%len(fds)], data)
		}
		if o.batch > 1 {
			b.WriteString(`]}`)
		}
		bodies[j] = b.Bytes()
	}
	var sent, pushes, errs atomic.Int64
	var measuring atomic.Bool
	var mu sync.Mutex
	var lat []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), o.warmup+o.duration)
	defer cancel()
	time.AfterFunc(o.warmup, func() { measuring.Store(true) })
	var wg sync.WaitGroup
	for i := range o.conns {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1<<16)
			defer func() {
				mu.Lock()
				lat = append(lat, local...)
				mu.Unlock()
			}()
			for j := i; ctx.Err() == nil; j += o.conns {
				start := time.Now()
				b, err := cc.post(bodies[j%len(bodies)])
				d := time.Since(start)
				if err == nil {
					var n int
					n, err = countSent(b, o.batch)
					sent.Add(int64(n))
				}
				pushes.Add(int64(o.batch))
				if measuring.Load() && ctx.Err() == nil {
					local = append(local, d)
				}
				if err != nil { // counted, timed, and the loop goes on
					fmt.Fprintf(os.Stderr, "caller %d: call failed after %.3f s: %v\n", i, d.Seconds(), err)
					if errs.Add(1) > 20 {
						fmt.Fprintln(os.Stderr, "more than 20 failed calls; giving up")
						return
					}
				}
			}
		})
	}
	wg.Wait()
	secs := o.duration.Seconds()
	p50, p99 := msPercentiles(lat)
	calls := len(lat)
	worst := 0.0
	if calls > 0 {
		worst = float64(lat[calls-1]) / 1e6 // sorted by msPercentiles
	}
	// total_pushes and total_sent include the warm-up: they are what the
	// receivers must have got. rate and latency are over the measured calls.
	fmt.Printf("PUSH batch=%d callers=%d fds=%d calls=%d pushes=%d seconds=%.1f rate=%.0f call_rate=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d total_pushes=%d total_sent=%d\n",
		o.batch, o.conns, len(fds), calls, calls*o.batch, secs, float64(calls*o.batch)/secs, float64(calls)/secs,
		p50, p99, worst, errs.Load(), pushes.Load(), sent.Load())
}

// msPercentiles returns p50 and p99 of d in milliseconds (sorting d).
func msPercentiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	at := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))]) / 1e6 }
	return at(0.50), at(0.99)
}

// countSent adds up "sent" over a bare result or a batch's results.
func countSent(body []byte, batch int) (int, error) {
	if batch == 1 {
		var r sentResult
		if err := json.Unmarshal(body, &r); err != nil || !r.OK {
			return 0, fmt.Errorf("push: %s", bytes.TrimSpace(body))
		}
		return r.Sent, nil
	}
	var r struct {
		OK      bool         `json:"ok"`
		Results []sentResult `json:"results"`
	}
	if err := json.Unmarshal(body, &r); err != nil || !r.OK || len(r.Results) != batch {
		return 0, fmt.Errorf("batch: %.200s", bytes.TrimSpace(body))
	}
	n := 0
	for _, x := range r.Results {
		n += x.Sent
	}
	if n != batch {
		return n, fmt.Errorf("batch: %d of %d pushes sent", n, batch)
	}
	return n, nil
}

// ---------------------------------------------------------------- fanout

// cpuSample is phpbridge's CPU time so far: utime+stime in clock ticks
// (/proc/PID/stat) and the sum of its threads' run time in ns
// (/proc/PID/task/*/schedstat, first field).
type cpuSample struct {
	ticks int64 // utime + stime
	sys   int64 // stime
	ns    int64
}

func readCPU(pid int) cpuSample {
	var s cpuSample
	if pid <= 0 {
		return s
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 13 { // f[0] is the state (field 3); utime, stime are fields 14, 15
				u, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				s.ticks = u + st
				s.sys = st
			}
		}
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, t := range tasks {
		if b, err := os.ReadFile(t); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				s.ns += v
			}
		}
	}
	return s
}

func (a cpuSample) sub(b cpuSample) cpuSample {
	return cpuSample{a.ticks - b.ticks, a.sys - b.sys, a.ns - b.ns}
}

// clkTck is USER_HZ; Linux reports /proc times in it, 100 on every
// mainstream architecture.
const clkTck = 100

func fanoutMode(args []string) {
	o := parsePushFlags("fanout", args)
	total := o.warmupK + o.k
	// got[s][i]: arrival latency of broadcast s at connection i, ns (0 =
	// not arrived); count[s]: arrivals so far.
	got := make([][]int64, total)
	for s := range got {
		got[s] = make([]int64, o.n)
	}
	count := make([]atomic.Int64, total)
	done := make([]chan struct{}, total)
	for s := range done {
		done[s] = make(chan struct{})
	}
	var dup, foreign atomic.Int64
	var expect atomic.Int64 // connections alive when the broadcast left
	r := openReceivers(o.options, func(i int, data []byte, at time.Time) {
		seq, sentNS, ok := parseFanout(data)
		if !ok || seq < 0 || seq >= total {
			foreign.Add(1)
			return
		}
		if got[seq][i] != 0 {
			dup.Add(1)
			return
		}
		got[seq][i] = max(1, at.UnixNano()-sentNS)
		if c := count[seq].Add(1); c == expect.Load() {
			close(done[seq])
		}
	})
	if r.opened < o.n {
		r.close()
		fatalf("only %d of %d connections opened", r.opened, o.n)
	}
	cc := newControlClient(o)
	// The bridge registers a connection once its open event is through;
	// wait until it counts them all, so every broadcast has n targets.
	for i := 0; ; i++ {
		fds, err := cc.connections()
		if err != nil {
			fatalf("%v", err)
		}
		if len(fds) >= o.n {
			break
		}
		if i == 100 {
			fatalf("the bridge lists %d connections, want %d", len(fds), o.n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	type bcast struct {
		seq                   int
		alive                 int64
		sent                  int
		got                   int
		call                  time.Duration
		window                time.Duration
		first, p50, p99, last float64 // ms
		cpu, self             cpuSample
	}
	var results []bcast
	cpuStart := readCPU(o.pid)
	runStart := time.Now()
	for s := range total {
		next := time.Now().Add(o.interval)
		alive := r.alive.Load()
		if alive == 0 {
			fatalf("every connection closed")
		}
		expect.Store(alive)
		c0, m0 := readCPU(o.pid), readCPU(os.Getpid())
		t0 := time.Now()
		head := fmt.Sprintf("fanout seq=%d t=%d ", s, t0.UnixNano())
		body, _ := json.Marshal(map[string]any{"op": "broadcast", "data": head + string(payload(max(0, o.size-len(head))))})
		b, err := cc.post(body)
		call := time.Since(t0)
		if err != nil {
			fatalf("broadcast %d: %v", s, err)
		}
		var res sentResult
		if err := json.Unmarshal(b, &res); err != nil || !res.OK {
			fatalf("broadcast %d: %s", s, bytes.TrimSpace(b))
		}
		select {
		case <-done[s]:
		case <-time.After(o.wait):
		}
		window := time.Since(t0)
		c1, m1 := readCPU(o.pid), readCPU(os.Getpid())
		if s < o.warmupK {
			time.Sleep(time.Until(next))
			continue
		}
		var lat []time.Duration
		for _, v := range got[s] {
			if v != 0 {
				lat = append(lat, time.Duration(v))
			}
		}
		slices.Sort(lat)
		x := bcast{seq: s, alive: alive, sent: res.Sent, got: len(lat), call: call, cpu: c1.sub(c0), self: m1.sub(m0)}
		if len(lat) > 0 {
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			x.first, x.last = ms(lat[0]), ms(lat[len(lat)-1])
			x.p50, x.p99 = ms(lat[int(0.50*float64(len(lat)-1))]), ms(lat[int(0.99*float64(len(lat)-1))])
			// The window ends at the last arrival, not when we noticed it.
			window = min(window, lat[len(lat)-1])
		}
		x.window = window
		results = append(results, x)
		fmt.Printf("BCAST seq=%d got=%d of=%d sent=%d call_ms=%.3f first_ms=%.3f p50_ms=%.3f p99_ms=%.3f last_ms=%.3f cpu_ms=%.1f cpu_ticks=%d\n",
			s, x.got, alive, x.sent, float64(call)/1e6, x.first, x.p50, x.p99, x.last, float64(x.cpu.ns)/1e6, x.cpu.ticks)
		if s < total-1 {
			time.Sleep(time.Until(next))
		}
	}
	runTime := time.Since(runStart)
	cpuRun := readCPU(o.pid).sub(cpuStart)
	time.Sleep(200 * time.Millisecond) // stragglers after -wait still count as received late, not lost
	// Totals over the measured broadcasts.
	var expected, received, windowNS int64
	var cpuWin, selfWin cpuSample
	var lasts, calls []float64
	var all []time.Duration
	for _, x := range results {
		expected += x.alive
		cpuWin.ticks += x.cpu.ticks
		cpuWin.sys += x.cpu.sys
		selfWin.ns += x.self.ns
		cpuWin.ns += x.cpu.ns
		windowNS += int64(x.window)
		lasts = append(lasts, x.last)
		calls = append(calls, float64(x.call)/1e6)
		for _, v := range got[x.seq] {
			if v != 0 {
				all = append(all, time.Duration(v))
			}
		}
	}
	received = int64(len(all))
	slices.Sort(lasts)
	slices.Sort(calls)
	p50, p99 := msPercentiles(all)
	med := func(v []float64) float64 { return v[(len(v)-1)/2] }
	winSecs := float64(windowNS) / 1e9
	fmt.Printf("FANOUT n=%d k=%d size=%d expected=%d received=%d lost=%d dup=%d foreign=%d alive_end=%d "+
		"last_p50_ms=%.3f last_max_ms=%.3f p50_ms=%.3f p99_ms=%.3f call_p50_ms=%.3f "+
		"window_s=%.3f rate=%.0f cpu_s=%.3f cpu_pct=%.0f cpu_ticks_s=%.2f cpu_sys_ticks_s=%.2f client_cpu_pct=%.0f "+
		"run_s=%.1f run_cpu_s=%.3f run_cpu_ticks_s=%.2f\n",
		o.n, o.k, max(o.size, 0), expected, received, expected-received, dup.Load(), foreign.Load(), r.alive.Load(),
		med(lasts), lasts[len(lasts)-1], p50, p99, med(calls),
		winSecs, float64(received)/winSecs, float64(cpuWin.ns)/1e9, float64(cpuWin.ns)/float64(windowNS)*100,
		float64(cpuWin.ticks)/clkTck, float64(cpuWin.sys)/clkTck, float64(selfWin.ns)/float64(windowNS)*100, runTime.Seconds(), float64(cpuRun.ns)/1e9, float64(cpuRun.ticks)/clkTck)
	r.close()
	if expected != received {
		os.Exit(1)
	}
}

// parseFanout reads "fanout seq=S t=NS …".
func parseFanout(b []byte) (seq int, ns int64, ok bool) {
	rest, ok := bytes.CutPrefix(b, []byte("fanout seq="))
	if !ok {
		return 0, 0, false
	}
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return 0, 0, false
	}
	s, err := strconv.Atoi(string(rest[:sp]))
	if err != nil {
		return 0, 0, false
	}
	rest, ok = bytes.CutPrefix(rest[sp+1:], []byte("t="))
	if !ok {
		return 0, 0, false
	}
	if sp = bytes.IndexByte(rest, ' '); sp >= 0 {
		rest = rest[:sp]
	}
	t, err := strconv.ParseInt(string(rest), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return s, t, true
}
