package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/phpbridge/phpbridge/bridge"
	"github.com/phpbridge/phpbridge/internal/fpmtest"
	"github.com/phpbridge/phpbridge/internal/testutil"
)

// stepTimeout bounds every wait on a page: generous for a loaded CI machine,
// short enough that a broken chat fails in seconds, not minutes.
const stepTimeout = 15 * time.Second

// chatApp is the example served by a real bridge in front of a real PHP-FPM.
type chatApp struct {
	URL     string // http://127.0.0.1:port
	Addr    string // 127.0.0.1:port
	FPM     *fpmtest.FPM
	logs    *testutil.Buffer
	Control string
	Token   string
}

// startChat runs PHP-FPM and phpbridge in-process on 127.0.0.1:0 with the
// example's public/ and ws.php, in place: ws.php finds the SDK at
// ../../php-sdk, and nothing is written into the example directory (the
// control socket lives in a temporary directory).
func startChat(t *testing.T) *chatApp {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	fpm := fpmtest.Start(t, fpmtest.Options{Children: 6})
	app := &chatApp{
		FPM:     fpm,
		logs:    &testutil.Buffer{},
		Control: "unix:" + filepath.Join(t.TempDir(), "control.sock"),
		Token:   "chat-test-token-0123456789",
	}
	cfg := bridge.Config{
		Listen:          "127.0.0.1:0",
		Root:            filepath.Join(dir, "public"),
		FastCGI:         fpm.Address,
		FastCGIMaxConns: 6,
		WSHandler:       filepath.Join(dir, "ws.php"),
		Control:         app.Control,
		ControlToken:    app.Token,
		AccessLog:       "off",
	}
	log := slog.New(slog.NewTextHandler(app.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := bridge.New(cfg, log)
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("bridge.Listen: %v", err)
	}
	app.Addr = srv.Addr().String()
	app.URL = "http://" + app.Addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("phpbridge did not stop within 30s")
		}
		if t.Failed() {
			t.Logf("phpbridge log:\n%s", app.logs.String())
			t.Logf("php-fpm log:\n%s", fpm.Log())
		}
	})
	return app
}

// announce POSTs a form to /api/announce (a plain PHP-FPM request through
// the bridge) and returns the status and the decoded JSON answer.
func (a *chatApp) announce(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	client := &http.Client{Timeout: stepTimeout}
	resp, err := client.PostForm(a.URL+"/api/announce", form)
	if err != nil {
		t.Fatalf("POST /api/announce: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("POST /api/announce: %d, not JSON: %q", resp.StatusCode, body)
	}
	return resp.StatusCode, answer
}

// requireChromium finds Debian's Chromium (or another Chrome on PATH); see
// testutil.Require for why CI fails rather than skips without it.
func requireChromium(t *testing.T) string {
	t.Helper()
	bin := testutil.FindBinary("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
	testutil.Require(t, "chromium", "chromium", bin != "")
	return bin
}

// startBrowser launches headless Chromium with a fresh profile; it is
// stopped by t.Cleanup.
func startBrowser(t *testing.T, bin string) context.Context {
	t.Helper()
	out := &testutil.Buffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox, // we may run as root (containers, CI)
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.CombinedOutput(out),
	)
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, browserCancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		browserCancel()
		allocCancel()
	})
	// The first Run starts the browser; its context must have no timeout
	// (it would stop the browser), so the start is bounded by a watchdog.
	began := time.Now()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v\n%s", bin, err, out.String())
		}
		t.Logf("%s started in %s", filepath.Base(bin), time.Since(began).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		browserCancel()
		t.Fatalf("%s did not start within 30s\n%s", bin, out.String())
	}
	return browserCtx
}

// page is one chat page in its own browser context (its own cookies and
// localStorage: another person).
type page struct {
	t      *testing.T
	name   string
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	console []string
	errors  []string // uncaught exceptions
}

// openPage opens url in a new tab of its own browser context and records
// what the page writes to its console.
func openPage(t *testing.T, browser context.Context, name, url string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	p := &page{t: t, name: name, ctx: ctx, cancel: cancel}
	t.Cleanup(cancel)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m.String())
			if m.IsException() {
				p.errors = append(p.errors, m.String())
			}
			p.mu.Unlock()
		}
	}()
	p.do("open "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#nick")))
	return p
}

// do runs steps on the page within stepTimeout, failing the test with the
// page's state when they do not finish.
func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %s: %v\n%s", p.name, what, err, p.state())
	}
}

// waitJS waits until the JavaScript expression is truthy on the page. It
// polls on a timer rather than on animation frames, which a tab in the
// background may not get.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	p.do("waiting for "+what, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(25*time.Millisecond),
		chromedp.WithPollingTimeout(stepTimeout)))
}

// state describes the page for a failure message: status, counter, the
// message list and the console.
func (p *page) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	dom, err := chromedp.Run(ctx, chromedp.Evaluate[string](`
		'status: ' + document.getElementById('status').textContent +
		' | online: ' + document.getElementById('online').textContent + '\n' +
		Array.from(document.querySelectorAll('#messages li'), (li) => '  [' + li.dataset.type + '] ' + Array.from(li.children, (c) => c.textContent).join(' ')).join('\n')`))
	if err != nil {
		dom = "(page not readable: " + err.Error() + ")"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("page %s:\n%s\nconsole:\n  %s", p.name, dom, strings.Join(p.console, "\n  "))
}

// exceptions returns the page's uncaught JavaScript exceptions so far.
func (p *page) exceptions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
