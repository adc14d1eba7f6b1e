package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// controlHandlerPHP answers open with an envelope (reply + joinGroup +
// bindUid + setSession), reports WS_UID/WS_SESSION on "whoami", and tells
// the lobby who left in its close envelope.
const controlHandlerPHP = `<?php
declare(strict_types=1);
$ev = $_SERVER['WS_EVENT']; $fd = (int) $_SERVER['WS_FD']; $body = (string) file_get_contents('php://input');
$envelope = function (array $e): void { header('Content-Type: application/vnd.phpbridge+json'); echo json_encode($e); };
if ($ev === 'open') {
    $actions = [['op' => 'joinGroup', 'fd' => $fd, 'group' => 'lobby']];
    if (isset($_GET['uid'])) { $actions[] = ['op' => 'bindUid', 'fd' => $fd, 'uid' => (int) $_GET['uid']]; }
    $actions[] = ['op' => 'setSession', 'fd' => $fd, 'session' => ['name' => $_GET['name'] ?? 'anon']];
    $envelope(['reply' => ['data' => "fd:$fd"], 'actions' => $actions]);
} elseif ($ev === 'message') {
    if ($body === 'whoami') {
        echo json_encode(['uid' => $_SERVER['WS_UID'] ?? null, 'session' => json_decode($_SERVER['WS_SESSION'] ?? 'null', true)]);
    } elseif ($body === 'shout') {
        $envelope(['actions' => [['op' => 'sendToGroup', 'group' => 'lobby', 'data' => "shout from $fd", 'exclude' => [$fd]]]]);
    } elseif ($body === 'bin') {
        $envelope(['reply' => ['data_base64' => base64_encode("\x00\x01\xff")]]);
    } else {
        echo $body;
    }
} else {
    file_put_contents(__DIR__ . '/closes.log', json_encode(['fd' => $fd, 'code' => (int) $_SERVER['WS_CLOSE_CODE'],
        'uid' => $_SERVER['WS_UID'] ?? null]) . "\n", FILE_APPEND | LOCK_EX);
    $envelope(['actions' => [['op' => 'sendToGroup', 'group' => 'lobby', 'data' => "left $fd"]]]);
}
`

type controlApp struct {
	*wsApp
	handlerDir string
	client     *http.Client
	socket     string
}

func startControlApp(t *testing.T) *controlApp {
	t.Helper()
	hdir := t.TempDir()
	handler := filepath.Join(hdir, "ctl.php")
	if err := os.WriteFile(handler, []byte(controlHandlerPHP), 0o644); err != nil {
		t.Fatal(err)
	}
	var socket string
	a := startWSApp(t, 4, func(c *Config) {
		c.WSHandler = handler
		socket = strings.TrimPrefix(c.Control, "unix:")
	})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	return &controlApp{wsApp: a, handlerDir: hdir, client: client, socket: socket}
}

// call posts body to /v1/actions with token and decodes the JSON answer.
func (a *controlApp) call(token, body string) (int, map[string]any) {
	a.t.Helper()
	req, _ := http.NewRequest("POST", "http://phpbridge/v1/actions", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("control call: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		a.t.Fatalf("control answer is not JSON: %q", b)
	}
	return resp.StatusCode, out
}

const ctlToken = "ws-test-token-0123456789"

// act runs one action and returns its result.
func (a *controlApp) act(action string) map[string]any {
	a.t.Helper()
	status, out := a.call(ctlToken, action)
	if status != 200 {
		a.t.Fatalf("%s: status %d %v", action, status, out)
	}
	return out
}

// connect opens a connection with query and returns it with its fd.
func (a *controlApp) connect(query string) (*websocket.Conn, uint64) {
	a.t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial(a.url(query), nil)
	if err != nil {
		a.t.Fatalf("dial: %v", err)
	}
	a.t.Cleanup(func() { c.Close() })
	var fd uint64
	if _, err := fmt.Sscanf(readText(a.t, c), "fd:%d", &fd); err != nil {
		a.t.Fatalf("greeting: %v", err)
	}
	return c, fd
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(msg)
}

func fdsOf(v any) []uint64 {
	var out []uint64
	for _, x := range v.([]any) {
		out = append(out, uint64(x.(float64)))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func TestControlAPIAuth(t *testing.T) {
	a := startControlApp(t)
	for _, tok := range []string{"", "wrong-token-0123456789", ctlToken + "x"} {
		status, out := a.call(tok, `{"op":"count"}`)
		if status != 401 || out["ok"] != false || !strings.Contains(out["error"].(string), "token") {
			t.Fatalf("token %q: %d %v", tok, status, out)
		}
	}
	st, err := os.Stat(a.socket)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("control socket mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	req, _ := http.NewRequest("GET", "http://phpbridge/v1/stats", nil)
	req.Header.Set("Authorization", "Bearer "+ctlToken)
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var stats map[string]any
	json.NewDecoder(resp.Body).Decode(&stats)
	resp.Body.Close()
	if stats["unauthorized"] != float64(3) || stats["close_events_failed"] != float64(0) {
		t.Fatalf("stats %v, want 3 unauthorized calls counted and no failed close event", stats)
	}
	if status, out := a.call(ctlToken, `not json`); status != 400 || out["ok"] != false {
		t.Fatalf("malformed body: %d %v", status, out)
	}
	// The control API is not on the public listener.
	pub, err := http.Post("http://"+a.Addr+"/v1/actions", "application/json", strings.NewReader(`{"op":"count"}`))
	if err == nil {
		b, _ := io.ReadAll(pub.Body)
		pub.Body.Close()
		if strings.Contains(string(b), `"count"`) {
			t.Fatal("the public listener answered a control action")
		}
	}
}

func TestControlAPIGroupsUidsSessions(t *testing.T) {
	a := startControlApp(t)
	c1, fd1 := a.connect("uid=7&name=ann")
	c2, fd2 := a.connect("uid=8&name=bob")
	c3, fd3 := a.connect("uid=8&name=bob2")

	// An envelope's actions run right after its reply is queued, so the
	// last greeting can arrive a moment before its joinGroup is done.
	// setSession is each open envelope's last action.
	waitFor(t, 5*time.Second, "every open envelope applied", func() bool {
		for _, fd := range []uint64{fd1, fd2, fd3} {
			if fmt.Sprint(a.act(fmt.Sprintf(`{"op":"getSession","fd":%d}`, fd))["session"]) == "map[]" {
				return false
			}
		}
		return true
	})
	if r := a.act(`{"op":"groupCount","group":"lobby"}`); r["count"] != float64(3) {
		t.Fatalf("groupCount %v", r)
	}
	if got := fdsOf(a.act(`{"op":"uidFds","uid":"8"}`)["fds"]); fmt.Sprint(got) != fmt.Sprint([]uint64{fd2, fd3}) {
		t.Fatalf("uidFds(8) = %v, want [%d %d]", got, fd2, fd3)
	}
	if r := a.act(`{"op":"isUidOnline","uid":8}`); r["online"] != true {
		t.Fatalf("isUidOnline %v", r)
	}
	if r := a.act(`{"op":"isUidOnline","uid":"9"}`); r["online"] != false {
		t.Fatalf("isUidOnline(9) %v", r)
	}

	// sendToUid reaches both connections of uid 8 and not uid 7.
	if r := a.act(`{"op":"sendToUid","uid":"8","data":"for bob"}`); r["sent"] != float64(2) {
		t.Fatalf("sendToUid %v", r)
	}
	for _, c := range []*websocket.Conn{c2, c3} {
		if got := readText(t, c); got != "for bob" {
			t.Fatalf("got %q", got)
		}
	}
	// A batch: unknown fd answers not found and the batch goes on.
	status, out := a.call(ctlToken, fmt.Sprintf(`{"actions":[
		{"op":"push","fd":999999,"data":"nobody"},
		{"op":"push","fd":%d,"data":"just ann"},
		{"op":"broadcast","data":"all but ann","exclude":[%d]},
		{"op":"bogus"}]}`, fd1, fd1))
	results := out["results"].([]any)
	if status != 200 || len(results) != 4 {
		t.Fatalf("batch: %d %v", status, out)
	}
	if r := results[0].(map[string]any); r["ok"] != false || r["error"] != "not found" {
		t.Fatalf("unknown fd: %v", r)
	}
	if r := results[3].(map[string]any); r["ok"] != false {
		t.Fatalf("bogus op: %v", r)
	}
	if got := readText(t, c1); got != "just ann" {
		t.Fatalf("ann got %q", got)
	}
	for _, c := range []*websocket.Conn{c2, c3} {
		if got := readText(t, c); got != "all but ann" {
			t.Fatalf("got %q", got)
		}
	}

	// The session set on open travels with every event; updateSession merges.
	a.act(fmt.Sprintf(`{"op":"updateSession","fd":%d,"session":{"room":"42"}}`, fd1))
	c1.WriteMessage(websocket.TextMessage, []byte("whoami"))
	var who struct {
		UID     string            `json:"uid"`
		Session map[string]string `json:"session"`
	}
	json.Unmarshal([]byte(readText(t, c1)), &who)
	if who.UID != "7" || who.Session["name"] != "ann" || who.Session["room"] != "42" {
		t.Fatalf("whoami = %+v", who)
	}
	if r := a.act(fmt.Sprintf(`{"op":"getSession","fd":%d}`, fd1)); fmt.Sprint(r["session"]) != "map[name:ann room:42]" {
		t.Fatalf("getSession %v", r)
	}
	info := a.act(fmt.Sprintf(`{"op":"info","fd":%d}`, fd1))
	if info["uid"] != "7" || fmt.Sprint(info["groups"]) != "[lobby]" || !strings.HasPrefix(info["remote_addr"].(string), "127.0.0.1:") ||
		info["connect_time"].(float64) < float64(time.Now().Add(-time.Minute).Unix()) || info["last_activity"].(float64) == 0 {
		t.Fatalf("info %v", info)
	}

	// A handler envelope can push to the others without a control call.
	c2.WriteMessage(websocket.TextMessage, []byte("shout"))
	for _, c := range []*websocket.Conn{c1, c3} {
		if got := readText(t, c); got != fmt.Sprintf("shout from %d", fd2) {
			t.Fatalf("got %q", got)
		}
	}
	// Binary reply from an envelope.
	c1.WriteMessage(websocket.TextMessage, []byte("bin"))
	_ = c1.SetReadDeadline(time.Now().Add(10 * time.Second))
	op, msg, err := c1.ReadMessage()
	if err != nil || op != websocket.BinaryMessage || string(msg) != "\x00\x01\xff" {
		t.Fatalf("binary reply: %d %q %v", op, msg, err)
	}

	// disconnect from the control API: the client gets the code, PHP's
	// close event runs (with the uid still known) and tells the lobby.
	a.act(fmt.Sprintf(`{"op":"disconnect","fd":%d,"code":4000,"reason":"kicked"}`, fd3))
	if code, reason := readCloseCode(t, c3); code != 4000 || reason != "kicked" {
		t.Fatalf("close %d %q", code, reason)
	}
	for _, c := range []*websocket.Conn{c1, c2} {
		if got := readText(t, c); got != fmt.Sprintf("left %d", fd3) {
			t.Fatalf("got %q", got)
		}
	}
	waitFor(t, 10*time.Second, "the close event", func() bool {
		b, _ := os.ReadFile(filepath.Join(a.handlerDir, "closes.log"))
		return strings.Contains(string(b), fmt.Sprintf(`{"fd":%d,"code":4000,"uid":"8"}`, fd3))
	})
	waitFor(t, 10*time.Second, "the registry to forget the closed fd", func() bool {
		return a.act(`{"op":"groupCount","group":"lobby"}`)["count"] == float64(2)
	})
	if r := a.act(fmt.Sprintf(`{"op":"exist","fd":%d}`, fd3)); r["exist"] != false {
		t.Fatalf("exist after close: %v", r)
	}
	if r := a.act(fmt.Sprintf(`{"op":"exist","fd":%d}`, fd1)); r["exist"] != true || r["established"] != true {
		t.Fatalf("exist: %v", r)
	}
	if r := a.act(`{"op":"uidCount"}`); r["count"] != float64(2) {
		t.Fatalf("uidCount %v", r)
	}
	if r := a.act(`{"op":"count"}`); r["count"] != float64(2) {
		t.Fatalf("count %v", r)
	}
	// Bad input answers clearly.
	for _, bad := range []string{
		`{"op":"push","fd":1}`,
		`{"op":"push","fd":1,"data":"x","opcode":"weird"}`,
		`{"op":"disconnect","fd":1,"code":1006}`,
		`{"op":"setSession","fd":1,"session":[1,2]}`,
		`{"op":"bindUid","fd":1}`,
	} {
		if r := a.act(bad); r["ok"] != false || r["error"] == "" {
			t.Errorf("%s: %v", bad, r)
		}
	}
}

// One call carries at most maxBatchActions actions: a runaway batch is
// refused whole rather than held as millions of results.
func TestControlAPIBatchIsBounded(t *testing.T) {
	a := startControlApp(t)
	many := `{"actions":[` + strings.TrimSuffix(strings.Repeat(`{"op":"count"},`, maxBatchActions+1), ",") + `]}`
	status, out := a.call(ctlToken, many)
	if status != 413 || out["ok"] != false || !strings.Contains(fmt.Sprint(out["error"]), "split the batch") {
		t.Fatalf("%d actions: %d %v", maxBatchActions+1, status, out)
	}
	ok := `{"actions":[` + strings.TrimSuffix(strings.Repeat(`{"op":"count"},`, maxBatchActions), ",") + `]}`
	if status, out := a.call(ctlToken, ok); status != 200 || out["ok"] != true {
		t.Fatalf("%d actions: %d %v", maxBatchActions, status, out)
	}
}

// Without the token a request cannot make the bridge read a large body; with
// it, a large batch goes through.
func TestControlAPIUnauthorizedBodyIsSmall(t *testing.T) {
	a := startControlApp(t)
	big := `{"op":"broadcast","data":"` + strings.Repeat("x", 1<<20) + `"}`
	req, _ := http.NewRequest("POST", "http://phpbridge/v1/actions", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer wrong-token-0123456789")
	resp, err := a.client.Do(req)
	if err == nil {
		resp.Body.Close()
		// fasthttp answers 400 for a body over the per-request limit.
		if resp.StatusCode != 413 && resp.StatusCode != 400 {
			t.Errorf("1 MiB without the token: %d, want it refused before reading (400/413)", resp.StatusCode)
		}
	} // or the connection is closed mid-upload: refused either way
	if status, out := a.call(ctlToken, big); status != 200 || out["ok"] != true {
		t.Errorf("1 MiB with the token: %d %v", status, out)
	}
}
