package bridge

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/internal/fpmtest"
	"github.com/phpbridge/phpbridge/internal/testutil"
)

// testApp is a document root with PHP files, served by a real Server in
// front of a real PHP-FPM.
type testApp struct {
	t       *testing.T
	Dir     string // project dir (public/ is the root)
	Root    string
	FPM     *fpmtest.FPM
	Server  *Server
	URL     string // http://127.0.0.1:port
	logBuf  *testutil.Buffer
	stop    context.CancelFunc
	stopped chan error
}

// writeFiles creates files (path → content) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// startApp writes files into a fresh project's public/ dir, starts PHP-FPM
// (unless fpm is given) and a Server configured by mutate.
func startApp(t *testing.T, files map[string]string, fpmOpts *fpmtest.Options, mutate func(*Config)) *testApp {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "public")
	writeFiles(t, root, files)
	a := &testApp{t: t, Dir: dir, Root: root, logBuf: &testutil.Buffer{}}
	opts := fpmtest.Options{Children: 4}
	if fpmOpts != nil {
		opts = *fpmOpts
	}
	a.FPM = fpmtest.Start(t, opts)
	cfg := Config{
		Listen:          "127.0.0.1:0",
		Root:            root,
		FastCGI:         a.FPM.Address,
		FastCGIMaxConns: opts.Children,
		Control:         "unix:" + filepath.Join(dir, "control.sock"),
		ControlToken:    "test-token-0123456789",
		AccessLog:       "off",
		WSHandler:       filepath.Join(dir, "ws.php"),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	a.start(cfg)
	return a
}

func (a *testApp) start(cfg Config) {
	t := a.t
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.MultiWriter(a.logBuf, testLogWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	a.Server = srv
	a.URL = "http://" + srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	a.stopped = make(chan error, 1)
	go func() { a.stopped <- srv.Run(ctx) }()
	t.Cleanup(func() { a.Stop() })
}

// Stop shuts the server down gracefully and returns Run's result.
func (a *testApp) Stop() error {
	if a.stop == nil {
		return nil
	}
	a.stop()
	a.stop = nil
	select {
	case err := <-a.stopped:
		return err
	case <-time.After(60 * time.Second):
		a.t.Error("server did not stop within 60s")
		return nil
	}
}

// Log is what the server logged so far.
func (a *testApp) Log() string { return a.logBuf.String() }

// testLogWriter sends server logs to t.Log when -v is on.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(string(bytes.TrimRight(p, "\n")))
	}
	return len(p), nil
}

// get performs a request and returns status, headers and body.
func (a *testApp) do(req *http.Request) (*http.Response, string) {
	a.t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("reading body: %v", err)
	}
	return resp, string(b)
}

func (a *testApp) get(path string) (*http.Response, string) {
	a.t.Helper()
	req, err := http.NewRequest("GET", a.URL+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.do(req)
}

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       60 * time.Second,
}

// waitFor polls cond every 20ms for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}
