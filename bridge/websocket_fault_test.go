package bridge

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/phpbridge/phpbridge/internal/fpmtest"
)

// PHP-FPM killed and restarted mid-stream: message events fail and are
// logged, the connection stays, and everything works again once FPM is
// back.
func TestWebSocketFPMRestart(t *testing.T) {
	a := startWSApp(t, 2, func(c *Config) { c.WSCloseRetry = 10 * time.Second })
	c, fd := a.dial("", nil)
	echo := func(s string) (string, error) {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := c.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			return "", err
		}
		_, msg, err := c.ReadMessage()
		return string(msg), err
	}
	if got, err := echo("before"); err != nil || got != "before" {
		t.Fatalf("before: %q %v", got, err)
	}

	a.FPM.Kill()
	_ = c.WriteMessage(websocket.TextMessage, []byte("lost while FPM is down"))
	waitUntil(t, 10*time.Second, "the failure to be logged", func() bool {
		return strings.Contains(a.logs.String(), "websocket event failed in php-fpm")
	})

	a.FPM.Restart()
	if got, err := echo("after"); err != nil || got != "after" {
		t.Fatalf("after restart: %q %v (the connection must survive FPM)", got, err)
	}

	// A close event while FPM is down is retried until FPM is back.
	c2, fd2 := a.dial("", nil)
	a.FPM.Kill()
	c2.Close()
	waitUntil(t, 10*time.Second, "the close retry", func() bool {
		return strings.Contains(a.logs.String(), "websocket close event failed; retrying")
	})
	a.FPM.Restart()
	a.waitClose(fd2, closeAbnormal, "")
	if !strings.Contains(a.logs.String(), "delivered after retries") {
		t.Error("no log of the retried close")
	}

	c.Close()
	a.waitClose(fd, closeAbnormal, "")
	a.checkOneClosePerOpen()
}

// The open event needs PHP: with FPM down the handshake fails like an
// HTTP request would (502), and nothing opens.
func TestWebSocketOpenWithFPMDown(t *testing.T) {
	a := startWSApp(t, 2, nil)
	a.FPM.Kill()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	_, resp, err := d.Dial(a.url(""), nil)
	if err == nil {
		t.Fatal("handshake succeeded without PHP")
	}
	if resp == nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %v, want 502", resp)
	}
}

// A PHP fatal error (500) is logged with PHP's stderr; by default the
// connection stays, with ws-on-php-error=close it closes with 1011.
func TestWebSocketPHPFatal(t *testing.T) {
	for _, mode := range []string{"keep", "close"} {
		t.Run(mode, func(t *testing.T) {
			a := startWSApp(t, 2, func(c *Config) { c.WSOnPHPError = mode })
			c, fd := a.dial("", nil)
			_ = c.WriteMessage(websocket.TextMessage, []byte("fatal"))
			waitUntil(t, 10*time.Second, "the failure to be logged", func() bool {
				l := a.logs.String()
				return strings.Contains(l, "php failed a websocket event") && strings.Contains(l, "undefined_function_on_purpose")
			})
			if mode == "keep" {
				_ = c.WriteMessage(websocket.TextMessage, []byte("still here"))
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				if _, msg, err := c.ReadMessage(); err != nil || string(msg) != "still here" {
					t.Fatalf("after the fatal: %q %v", msg, err)
				}
			} else {
				if code, _ := readCloseCode(t, c); code != closeInternalError {
					t.Errorf("close %d, want 1011", code)
				}
				a.waitClose(fd, closeInternalError, "internal error")
			}
			a.checkOneClosePerOpen()
		})
	}
}

// Shutdown: clients get 1001, PHP gets every close event before Run
// returns, and new handshakes are refused meanwhile.
func TestWebSocketShutdown(t *testing.T) {
	a := startWSApp(t, 2, nil)
	var fds []string
	var conns []*websocket.Conn
	for range 8 {
		c, fd := a.dial("", nil)
		conns = append(conns, c)
		fds = append(fds, fd)
	}
	codes := make(chan int, len(conns))
	for _, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
			for {
				_, _, err := c.ReadMessage()
				if ce, ok := err.(*websocket.CloseError); ok {
					codes <- ce.Code
					return
				}
				if err != nil {
					codes <- -1
					return
				}
			}
		}()
	}
	if err := a.Stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Run has returned: every close event must already be in the log.
	for _, fd := range fds {
		cs := a.closes(fd)
		if len(cs) != 1 || cs[0].Code != "1001" {
			t.Errorf("fd %s: close events %+v, want one with 1001", fd, cs)
		}
	}
	for range conns {
		if code := <-codes; code != closeGoingAway {
			t.Errorf("client got close %d, want 1001", code)
		}
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Messages above one FastCGI record (written by the client's body
// goroutine) over TCP to a pool that recycles its child after every
// request (pm.max_requests = 1): every pooled connection goes stale, and
// every message must still reach PHP whole, once, and be answered.
func TestWebSocketLargeMessagesOverRecycledChildren(t *testing.T) {
	a := startWSAppFPM(t, fpmtest.Options{Children: 1, MaxRequests: 1, TCP: true}, func(c *Config) {
		c.FastCGIReadTimeout = 5 * time.Second
	})
	c, fd := a.dial("", nil)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 200<<10/16)
	for i := 0; i < 10; i++ {
		msg[0] = byte('a' + i)
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("message %d: PHP echoed %d bytes that differ from the %d sent", i, len(got), len(msg))
		}
	}
	n := 0
	for _, e := range a.events() {
		if e.FD == fd && e.Event == "message" {
			n++
		}
	}
	if n != 10 {
		t.Errorf("PHP ran %d message events for 10 messages", n)
	}
}

// A close handler that ran but answered garbage (an invalid status) is not
// run again: retrying is for a PHP-FPM that could not be reached.
func TestWebSocketBrokenCloseHandlerRunsOnce(t *testing.T) {
	a := startWSApp(t, 2, func(c *Config) { c.WSCloseRetry = 3 * time.Second })
	c, fd := a.dial("badstatus=1", nil)
	c.Close()
	waitUntil(t, 10*time.Second, "the failed close event to be logged", func() bool {
		return strings.Contains(a.logs.String(), "close event failed in php-fpm and is not retried")
	})
	time.Sleep(500 * time.Millisecond) // a retry would come within the 50 ms backoff
	if got := a.closes(fd); len(got) != 1 {
		t.Errorf("the close handler ran %d times for one connection", len(got))
	}
	if n := a.Server.ws.closesFailed(); n != 1 {
		t.Errorf("close_events_failed = %d, want 1", n)
	}
}
