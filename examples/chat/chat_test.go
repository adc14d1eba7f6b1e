// Package chat_test runs the chat example (examples/chat) end to end: real
// PHP-FPM, the real bridge in-process, and two pages in headless Chromium
// talking to each other through PHP.
package chat_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/fasthttp/websocket"
)

// TestChatInBrowser is the seeds' chat, for real: two people join with a
// nickname, see each other online, talk, get an announcement pushed by an
// ordinary PHP request, and one leaves.
func TestChatInBrowser(t *testing.T) {
	bin := requireChromium(t)
	app := startChat(t)
	browser := startBrowser(t, bin)
	start := time.Now()

	alice := openPage(t, browser, "alice", app.URL+"/")
	join(alice, "alice")
	alice.waitJS("alice sees 1 online", onlineIs(1))

	bob := openPage(t, browser, "bob", app.URL+"/")
	join(bob, "bob")
	bob.waitJS("bob sees 2 online", onlineIs(2))
	alice.waitJS("alice sees 2 online", onlineIs(2))
	alice.waitJS("alice sees bob join", hasLine("presence", "", "bob joined"))

	// A message from alice reaches bob, as text (never as HTML), with the
	// nickname the server keeps in the connection's session.
	text := "你好 bob, <i>not html</i> & more"
	alice.do("alice sends", chromedp.SendKeys(chromedp.CSS("#input"), text), chromedp.Click(chromedp.CSS("#send-button")))
	bob.waitJS("bob gets alice's message", hasLine("message", "alice", text))
	alice.waitJS("alice gets her own message back", hasLine("message", "alice", text))
	bob.waitJS("no markup from a message", `document.querySelector('#messages i') === null`)

	bob.do("bob answers", chromedp.SendKeys(chromedp.CSS("#input"), "hi alice"), chromedp.Click(chromedp.CSS("#send-button")))
	alice.waitJS("alice gets bob's answer", hasLine("message", "bob", "hi alice"))

	// An announcement from a plain PHP-FPM request reaches both pages.
	status, answer := app.announce(t, url.Values{"message": {"Server restarts at 22:00"}})
	if status != http.StatusOK || answer["ok"] != true || answer["delivered"] != true || answer["online"] != float64(2) {
		t.Fatalf("POST /api/announce = %d %v, want 200 ok delivered online 2", status, answer)
	}
	alice.waitJS("alice gets the announcement", hasLine("announce", "", "Announcement: Server restarts at 22:00"))
	bob.waitJS("bob gets the announcement", hasLine("announce", "", "Announcement: Server restarts at 22:00"))

	// to= goes to one person only (sendToUid: pages bind their nickname).
	// Pushes to a connection keep their order, so once bob has the next
	// announcement he would have had the private one before it.
	status, answer = app.announce(t, url.Values{"message": {"your order shipped"}, "to": {"alice"}})
	if status != http.StatusOK || answer["delivered"] != true {
		t.Fatalf("POST /api/announce to=alice = %d %v, want 200 delivered", status, answer)
	}
	alice.waitJS("alice gets her private notice", hasLine("announce", "", "To you: your order shipped"))
	if status, answer = app.announce(t, url.Values{"message": {"second announcement"}}); status != http.StatusOK {
		t.Fatalf("POST /api/announce = %d %v", status, answer)
	}
	bob.waitJS("bob gets the second announcement", hasLine("announce", "", "Announcement: second announcement"))
	bob.waitJS("bob did not get alice's notice", `!document.getElementById('messages').textContent.includes('your order shipped')`)

	// bob closes his tab: the close event runs PHP, alice sees him leave.
	bob.cancel()
	alice.waitJS("alice sees 1 online", onlineIs(1))
	alice.waitJS("alice sees bob leave", hasLine("presence", "", "bob left"))

	for _, p := range []*page{alice, bob} {
		if errs := p.exceptions(); len(errs) > 0 {
			t.Errorf("page %s threw: %s", p.name, strings.Join(errs, "; "))
		}
	}
	t.Logf("browser part took %s", time.Since(start).Round(time.Millisecond))
}

// join fills in the nickname form (empty: each page has a fresh browser
// context) and waits until the page is connected under that name.
func join(p *page, nick string) {
	p.t.Helper()
	p.do("join as "+nick,
		chromedp.SendKeys(chromedp.CSS("#nick"), nick),
		chromedp.Click(chromedp.CSS("#join-button")),
	)
	p.waitJS("connected as "+nick, `document.getElementById('status').dataset.state === 'open' &&
		document.getElementById('status').textContent === `+jsString("connected as "+nick))
	p.do("chat visible", chromedp.WaitVisible(chromedp.CSS("#input")))
}

// onlineIs is true when the page's counter shows n.
func onlineIs(n int) string {
	return fmt.Sprintf(`document.getElementById('online').textContent === %s`, jsString(fmt.Sprint(n)))
}

// hasLine is true when the message list has a line of that type (and
// nickname, when given) whose text is text.
func hasLine(typ, nick, text string) string {
	return fmt.Sprintf(`Array.from(document.querySelectorAll('#messages li[data-type=%s]')).some((li) =>
		(%s === '' || li.dataset.nick === %s) && li.querySelector('.text').textContent === %s)`,
		jsString(typ), jsString(nick), jsString(nick), jsString(text))
}

// TestAnnounceRequests checks /api/announce's answers without a browser:
// wrong method, missing or bad fields, and nobody online.
func TestAnnounceRequests(t *testing.T) {
	app := startChat(t)
	client := &http.Client{Timeout: stepTimeout}

	resp, err := client.Get(app.URL + "/api/announce")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET /api/announce = %d Allow %q, want 405 Allow POST", resp.StatusCode, resp.Header.Get("Allow"))
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		want   map[string]any
	}{
		{"no message", url.Values{}, 422, map[string]any{"ok": false}},
		{"blank message", url.Values{"message": {"   "}}, 422, map[string]any{"ok": false}},
		{"too long", url.Values{"message": {strings.Repeat("x", 501)}}, 422, map[string]any{"ok": false}},
		{"bad to", url.Values{"message": {"hi"}, "to": {"\x01"}}, 422, map[string]any{"ok": false}},
		{"nobody online", url.Values{"message": {"hello?"}}, 200, map[string]any{"ok": true, "delivered": false, "online": float64(0)}},
		{"user offline", url.Values{"message": {"hello?"}, "to": {"carol"}}, 200, map[string]any{"ok": true, "delivered": false, "to": "carol"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, answer := app.announce(t, tc.form)
			if status != tc.status {
				t.Errorf("status %d, want %d (%v)", status, tc.status, answer)
			}
			for k, v := range tc.want {
				if answer[k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, answer[k], v, answer)
				}
			}
		})
	}

	resp, err = client.Get(app.URL + "/api/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/nothing = %d, want 404", resp.StatusCode)
	}
}

// TestHandshakeNeedsNickname checks that onOpen refuses a page without a
// valid nickname before the handshake (the client gets the 400), and that
// a plain-text frame from a non-browser client is a chat line too.
func TestHandshakeNeedsNickname(t *testing.T) {
	app := startChat(t)
	dialer := websocket.Dialer{HandshakeTimeout: stepTimeout}
	for _, q := range []string{"", "?nick=", "?nick=%20%20", "?nick=" + strings.Repeat("n", 25), "?nick=a%00b"} {
		conn, resp, err := dialer.Dial("ws://"+app.Addr+"/ws"+q, nil)
		if err == nil {
			conn.Close()
			t.Errorf("/ws%s: connected, want refused", q)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("/ws%s: %v, want 400", q, err)
		}
	}

	conn, _, err := dialer.Dial("ws://"+app.Addr+"/ws?nick=%20dave%20%20cli%20", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(stepTimeout))
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != `{"type":"presence","event":"join","nick":"dave cli","online":1}` {
		t.Fatalf("first message %s, %v; want dave cli's join", msg, err)
	}
	if err := conn.WriteMessage(websocket.TextMessage, []byte("plain text works")); err != nil {
		t.Fatal(err)
	}
	_, msg, err := conn.ReadMessage()
	if err != nil || !strings.HasPrefix(string(msg), `{"type":"message","nick":"dave cli","text":"plain text works","at":`) {
		t.Fatalf("echo %s, %v; want dave cli's message", msg, err)
	}
	if err := conn.WriteMessage(websocket.BinaryMessage, []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	if _, msg, err = conn.ReadMessage(); err != nil || string(msg) != `{"type":"error","text":"send text, not binary"}` {
		t.Fatalf("binary answered %s, %v; want an error message", msg, err)
	}
}
