package bridge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
)

// These tests run the PHP SDK (php-sdk/) for real: its Dispatcher is the
// WebSocket handler inside PHP-FPM, a controller pushes from an ordinary
// FPM request, and a CLI script (cron, a queue worker) pushes with only the
// two environment variables — all through the bridge's real control API.

func sdkAutoload(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "php-sdk", "autoload.php")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("php-sdk/autoload.php: %v", err)
	}
	return p
}

// sdkHandlerPHP is a LaravelS-style handler (only its use lines differ
// from a LaravelS one) plus a GatewayWorker-style facade call, run by the
// SDK's Dispatcher.
const sdkHandlerPHP = `<?php
declare(strict_types=1);
require %q;

use PhpBridge\LaravelS\WebSocketHandlerInterface;
use PhpBridge\{Dispatcher, Frame, Gateway, Request, Server};

final class ChatHandler implements WebSocketHandlerInterface
{
    public function onOpen(Server $server, Request $request)
    {
        if (($request->get['token'] ?? '') !== 'let-me-in') {
            $request->reject(401, 'bad token');
            return;
        }
        $server->joinGroup($request->fd, 'room');
        $server->bindUid($request->fd, $request->get['uid']);
        $server->push($request->fd, 'hello ' . $request->get['uid']);
    }

    public function onMessage(Server $server, Frame $frame)
    {
        if ($frame->data === 'count') {
            $server->push($frame->fd, 'count=' . $server->getClientCountByGroup('room'));
            return;
        }
        Gateway::sendToGroup('room', 'said: ' . $frame->data, [$frame->fd]);
    }

    public function onClose(Server $server, $fd, $reactorId)
    {
        $server->sendToGroup('room', "gone $fd");
    }
}

Dispatcher::handle(new ChatHandler());
`

// sdkControllerPHP pushes from a plain HTTP request, as a Laravel
// controller would.
const sdkControllerPHP = `<?php
declare(strict_types=1);
require %q;
$server = PhpBridge\Server::fromEnvironment();
header('Content-Type: application/json');
echo json_encode([
    'online' => $server->isUidOnline($_GET['uid']),
    'pushed' => $server->sendToUid($_GET['uid'], 'from controller: ' . $_GET['msg']),
]);
`

// sdkCronPHP is run by the php CLI with PHPBRIDGE_CONTROL/TOKEN in its
// environment, as cron or a queue worker would run it.
const sdkCronPHP = `<?php
declare(strict_types=1);
require %q;
$server = PhpBridge\Server::fromEnvironment();
$server->broadcast('from cron');
try {
    (new PhpBridge\Server(getenv('PHPBRIDGE_CONTROL'), 'wrong-token-000000000'))->broadcast('x');
    echo "no exception\n";
} catch (PhpBridge\Exception\AuthenticationException $e) {
    echo "auth: ", $e->getMessage(), "\n";
}
`

func TestSDKEndToEnd(t *testing.T) {
	autoload := sdkAutoload(t)
	hdir := t.TempDir()
	handler := filepath.Join(hdir, "ws.php")
	writeFiles(t, hdir, map[string]string{
		"ws.php":   fmt.Sprintf(sdkHandlerPHP, autoload),
		"cron.php": fmt.Sprintf(sdkCronPHP, autoload),
	})
	a := startWSApp(t, 4, func(c *Config) { c.WSHandler = handler })
	writeFiles(t, a.Server.cfg.Root, map[string]string{"push.php": fmt.Sprintf(sdkControllerPHP, autoload)})

	dial := func(q string) (*websocket.Conn, *http.Response, error) {
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		return d.Dial(a.url(q), nil)
	}
	// Refusal through $request->reject().
	if _, resp, err := dial("token=nope&uid=1"); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("refusal: %v %v", err, resp)
	}
	conns := map[string]*websocket.Conn{}
	for _, uid := range []string{"ann", "bob"} {
		c, _, err := dial("token=let-me-in&uid=" + uid)
		if err != nil {
			t.Fatalf("dial %s: %v", uid, err)
		}
		t.Cleanup(func() { c.Close() })
		if got := readText(t, c); got != "hello "+uid {
			t.Fatalf("greeting %q", got)
		}
		conns[uid] = c
	}
	// A query from inside a handler reaches the control API. (bob's
	// joinGroup runs just after his greeting is queued: ask until it shows.)
	got := ""
	for i := 0; i < 50 && got != "count=2"; i++ {
		conns["ann"].WriteMessage(websocket.TextMessage, []byte("count"))
		got = readText(t, conns["ann"])
	}
	if got != "count=2" {
		t.Fatalf("count: %q", got)
	}
	// Gateway facade inside a handler: to the group, excluding the sender.
	conns["ann"].WriteMessage(websocket.TextMessage, []byte("hi all"))
	if got := readText(t, conns["bob"]); got != "said: hi all" {
		t.Fatalf("bob got %q", got)
	}
	// A controller (plain FPM request) pushes to a uid.
	resp, err := http.Get("http://" + a.Addr + "/push.php?uid=bob&msg=" + url.QueryEscape("new order"))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Online, Pushed bool }
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if !out.Online || !out.Pushed {
		t.Fatalf("controller answer %+v", out)
	}
	if got := readText(t, conns["bob"]); got != "from controller: new order" {
		t.Fatalf("bob got %q", got)
	}
	// cron: the php CLI with only the environment variables.
	php, err := exec.LookPath("php")
	if err != nil {
		t.Fatal("php CLI not found (apt-get install php8.2-cli)")
	}
	cmd := exec.Command(php, filepath.Join(hdir, "cron.php"))
	cmd.Env = append(os.Environ(), "PHPBRIDGE_CONTROL="+a.Server.cfg.Control, "PHPBRIDGE_TOKEN="+a.Server.cfg.ControlToken)
	cronOut, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cron.php: %v\n%s", err, cronOut)
	}
	if !strings.Contains(string(cronOut), "auth: ") || !strings.Contains(string(cronOut), "token") {
		t.Fatalf("wrong token did not raise a clear AuthenticationException: %s", cronOut)
	}
	for _, uid := range []string{"ann", "bob"} {
		if got := readText(t, conns[uid]); got != "from cron" {
			t.Fatalf("%s got %q", uid, got)
		}
	}
	// onClose runs in PHP and its push reaches the others.
	conns["ann"].Close()
	if got := readText(t, conns["bob"]); !strings.HasPrefix(got, "gone ") {
		t.Fatalf("bob got %q", got)
	}
}
