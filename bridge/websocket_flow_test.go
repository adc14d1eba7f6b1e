package bridge

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// Tens of connections × tens of messages through a handler that sleeps at
// random: every reply arrives, in order, and none is lost.
func TestWebSocketOrderingUnderLoad(t *testing.T) {
	const conns, msgs = 40, 40
	a := startWSApp(t, 4, nil)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		c, _ := a.dial("", nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			go func() { // pipeline: send everything at once
				for j := range msgs {
					_ = c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "rand:%d-%d", i, j))
				}
			}()
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			for j := range msgs {
				_, msg, err := c.ReadMessage()
				if err != nil {
					errs <- fmt.Errorf("conn %d: after %d replies: %w", i, j, err)
					return
				}
				if want := fmt.Sprintf("%d-%d", i, j); string(msg) != want {
					errs <- fmt.Errorf("conn %d: reply %q, want %q", i, msg, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// PHP saw each connection's messages in order too.
	next := map[string]int{}
	for _, r := range a.events() {
		if r.Event == "message" {
			next[r.FD]++
		}
	}
	for fd, n := range next {
		if n != msgs {
			t.Errorf("fd %s: PHP saw %d messages, want %d", fd, n, msgs)
		}
	}
	a.checkOneClosePerOpen()
}

// A client that floods while PHP is slow: the queue stays bounded, the
// reader pauses (TCP backpressure), and every message is still delivered
// in order.
func TestWebSocketBackpressure(t *testing.T) {
	const queue, msgs = 4, 120
	a := startWSApp(t, 2, func(c *Config) { c.WSQueueSize = queue })
	c, _ := a.dial("", nil)
	pad := strings.Repeat("p", 8<<10)
	sent := make(chan int, 1)
	go func() {
		for j := range msgs {
			// "sleep:2:<n>|pad": PHP sleeps 2 ms and echoes "<n>|pad".
			if err := c.WriteMessage(websocket.TextMessage, []byte("sleep:2:"+strconv.Itoa(j)+"|"+pad)); err != nil {
				break
			}
		}
		sent <- msgs
	}()
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	for j := range msgs {
		_, msg, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %d replies: %v", j, err)
		}
		n, _, _ := strings.Cut(string(msg), "|")
		if n != strconv.Itoa(j) {
			t.Fatalf("reply %q, want %d", n, j)
		}
	}
	<-sent
	st := &a.Server.ws.stats
	if m := st.maxQueued.Load(); m > queue {
		t.Errorf("queue reached %d messages, bound is %d", m, queue)
	}
	if st.pauses.Load() == 0 {
		t.Error("the reader never paused on a full queue")
	}
	t.Logf("max queued %d, reader pauses %d", st.maxQueued.Load(), st.pauses.Load())
	a.checkOneClosePerOpen()
}

// A client that never reads is disconnected (1008) once its send queue is
// full or a write times out, instead of buffering for it.
func TestWebSocketSlowReader(t *testing.T) {
	a := startWSApp(t, 2, func(c *Config) {
		c.WSSendQueueSize = 4
		c.WSWriteTimeout = 500 * time.Millisecond
	})
	c, fd := a.dial("", nil)
	go func() {
		for range 200 { // 200 × 256 KB replies it never reads
			if err := c.WriteMessage(websocket.TextMessage, []byte("big:262144")); err != nil {
				return
			}
		}
	}()
	rec := a.waitClose(fd, closePolicy, "*")
	if rec.Reason != "send queue full" && rec.Reason != "write timeout" {
		t.Errorf("reason %q", rec.Reason)
	}
	a.checkOneClosePerOpen()
}

// A slow PHP call for one connection does not hold up another connection's
// events while the pool has room: B's replies come back while A's message
// is still in PHP.
func TestWebSocketSlowPHPDoesNotBlockOthers(t *testing.T) {
	a := startWSApp(t, 2, nil)
	ca, _ := a.dial("", nil)
	cb, _ := a.dial("", nil)
	if err := ca.WriteMessage(websocket.TextMessage, []byte("sleep:3000:slow")); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		_, msg, _ := ca.ReadMessage()
		done <- string(msg)
	}()
	time.Sleep(100 * time.Millisecond) // A is in PHP now
	for i := range 5 {
		_ = cb.WriteMessage(websocket.TextMessage, []byte("fast"))
		_ = cb.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, msg, err := cb.ReadMessage(); err != nil || string(msg) != "fast" {
			t.Fatalf("B's reply %d: %q %v", i, msg, err)
		}
		select {
		case m := <-done:
			t.Fatalf("A's slow reply %q came before B's reply %d: B waited for A", m, i)
		default:
		}
	}
	if m := <-done; m != "slow" {
		t.Errorf("A got %q", m)
	}
	a.checkOneClosePerOpen()
}
