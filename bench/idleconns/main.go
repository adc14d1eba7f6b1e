// Command idleconns opens many keep-alive HTTP/1.1 connections to a server,
// sends one request on each, reads the response, and then holds every
// connection open and idle, so that bench/run.sh can measure the server's
// resident memory per idle client.
//
// Connections are spread round-robin over several loopback source addresses
// (127.0.0.2, 127.0.0.3, ...), -per-addr connections at most on each, because
// one source address only has ~28,000 ephemeral ports: 19,000 connections fit
// on one, but the spread keeps the tool usable for larger counts and avoids
// TIME_WAIT collisions with the load generator on 127.0.0.1.
//
// Protocol with the calling script: once every connection is open (or has
// failed), it prints one line "READY opened=N failed=F" on stdout, then idles
// until -hold elapses or it gets SIGTERM/SIGINT. Before exiting it checks each
// connection without sending anything (a read with a short deadline: a timeout
// means still open, EOF means the server closed it) and prints
// "DONE opened=N alive=A closed_by_server=C". The exit status is 1 when any
// connection failed to open, so the caller never mistakes a half-done run for
// a full one.
//
// It does not speak WebSocket yet; the idle WebSocket memory scenario will add
// a -mode ws that sends an Upgrade request and expects 101.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/phpbridge/phpbridge/internal/sourcedial"
)

func main() {
	target := flag.String("target", "127.0.0.1:8080", "server address host:port")
	n := flag.Int("n", 1000, "number of connections")
	path := flag.String("path", "/static-4k.txt", "request path sent once on each connection")
	host := flag.String("host", "localhost", "Host header")
	hold := flag.Duration("hold", 60*time.Second, "how long to hold the idle connections at most (SIGTERM ends earlier)")
	perAddr := flag.Int("per-addr", 10000, "at most this many connections per source address")
	firstSrc := flag.String("src", "127.0.0.2", "first source address; further ones count up from it")
	concurrency := flag.Int("concurrency", 64, "connections being opened at the same time")
	timeout := flag.Duration("timeout", 10*time.Second, "dial and first-response timeout per connection")
	flag.Parse()

	if *n <= 0 || *perAddr <= 0 || *concurrency <= 0 {
		fatalf("-n, -per-addr and -concurrency must be > 0")
	}
	base := net.ParseIP(*firstSrc).To4()
	if base == nil {
		fatalf("-src %q is not an IPv4 address", *firstSrc)
	}
	nAddrs := (*n + *perAddr - 1) / *perAddr
	srcs := make([]net.IP, nAddrs)
	for i := range srcs {
		if int(base[3])+i > 254 {
			fatalf("%d source addresses do not fit after %s: raise -per-addr", nAddrs, base)
		}
		ip := make(net.IP, 4)
		copy(ip, base)
		ip[3] += byte(i)
		srcs[i] = ip
	}

	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: phpbridge-bench-idleconns\r\nAccept: */*\r\n\r\n", *path, *host)

	conns := make([]net.Conn, *n)
	var failed atomic.Int64
	var firstErr atomic.Value
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				c, err := open(*target, srcs[i%nAddrs], req, *timeout)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("conn %d from %s: %v", i, srcs[i%nAddrs], err))
					continue
				}
				conns[i] = c
			}
		}()
	}
	start := time.Now()
	for i := 0; i < *n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	opened := *n - int(failed.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "idleconns: first failure: %s\n", e)
	}
	fmt.Printf("READY opened=%d failed=%d sources=%d took=%s\n", opened, failed.Load(), nAddrs, time.Since(start).Round(time.Millisecond))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case <-time.After(*hold):
	}

	alive, closed := 0, 0
	buf := make([]byte, 1)
	for _, c := range conns {
		if c == nil {
			continue
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			alive++
		} else {
			closed++
		}
		c.Close()
	}
	fmt.Printf("DONE opened=%d alive=%d closed_by_server=%d\n", opened, alive, closed)
	if failed.Load() > 0 {
		os.Exit(1)
	}
}

// open dials from src, sends one request and reads the whole response, leaving
// the connection idle and reusable (keep-alive).
func open(target string, src net.IP, req string, timeout time.Duration) (net.Conn, error) {
	c, err := sourcedial.Dialer(src, timeout).Dial("tcp", target)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if resp.Close {
		c.Close()
		return nil, errors.New("server answered Connection: close")
	}
	if br.Buffered() > 0 {
		c.Close()
		return nil, errors.New("unexpected bytes after the response")
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "idleconns: "+format+"\n", args...)
	os.Exit(2)
}
