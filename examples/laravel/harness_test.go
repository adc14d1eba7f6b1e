package laravel_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/bridge"
	"github.com/phpbridge/phpbridge/internal/fpmtest"
	"github.com/phpbridge/phpbridge/internal/testutil"
)

// laravelAutoload is Debian's autoloader of php-laravel-framework, which
// bootstrap/autoload.php requires.
const laravelAutoload = "/usr/share/php/Illuminate/autoload.php"

// copyApp copies the example (which may be read-only) into a temporary
// project and creates the writable directories Laravel needs: storage/ for
// sessions, compiled views and logs, bootstrap/cache for the package and
// service manifests.
func copyApp(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "app")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch {
		case strings.HasSuffix(rel, ".go"), d.Type()&fs.ModeSymlink != 0:
			return nil
		case !d.IsDir() && d.Name() != ".gitignore" &&
			(strings.HasPrefix(rel, "storage/") || strings.HasPrefix(rel, "bootstrap/cache/")):
			// Runtime state of a demo run in place (sessions, compiled
			// views, manifests): the copy starts clean.
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.WriteFile(target, b, info.Mode().Perm()|0o200); err != nil {
			return err
		}
		// Keep mtimes so Last-Modified is that of the committed file.
		return os.Chtimes(target, info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatalf("copying the example app: %v", err)
	}
	for _, d := range []string{
		"storage/app", "storage/framework/cache/data", "storage/framework/sessions",
		"storage/framework/views", "storage/logs", "bootstrap/cache",
	} {
		if err := os.MkdirAll(filepath.Join(dst, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	// What "php artisan storage:link" makes: public/storage is a symlink to
	// storage/app/public (outside the document root), where an app keeps
	// user uploads it serves as static files.
	if err := os.MkdirAll(filepath.Join(dst, "storage/app/public/avatars"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "storage/app/public/avatars/1.txt"), []byte("avatar of user 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dst, "storage/app/public"), filepath.Join(dst, "public/storage")); err != nil {
		t.Fatal(err)
	}
	// A VCS directory that was deployed by mistake; it cannot be committed
	// inside the repository, so the test makes it.
	if err := os.MkdirAll(filepath.Join(dst, "public/.git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "public/.git/HEAD"), []byte("ref: refs/heads/"+canary+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// t.TempDir() is 0700; nginx workers and PHP-FPM children may run as
	// other users when the test is not root.
	for p := dst; p != filepath.Dir(filepath.Dir(dst)); p = filepath.Dir(p) {
		_ = os.Chmod(p, 0o755)
	}
	return dst
}

// front is one front server under test (nginx or phpbridge) with its own
// client and cookie jar, i.e. its own browser.
type front struct {
	name   string
	addr   string // 127.0.0.1:port
	base   string // http://127.0.0.1:port
	client *http.Client
	jar    *cookiejar.Jar
	state  map[string]string // values carried from one step to the next (CSRF token)
}

func newFront(t *testing.T, name, addr string) *front {
	t.Helper()
	f := &front{name: name, addr: addr, base: "http://" + addr, state: map[string]string{}}
	f.resetJar()
	return f
}

// resetJar starts a new visitor: no cookies.
func (f *front) resetJar() {
	f.jar, _ = cookiejar.New(nil)
	f.client = &http.Client{
		Jar: f.jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DisableCompression:  true, // compare what the servers send, not what Go decodes
			MaxIdleConnsPerHost: 4,
			// Go's default dialer, but never a proxy from the environment.
			Proxy: nil,
		},
	}
}

// startBridge runs phpbridge in-process, like bridge/harness_test.go.
func startBridge(t *testing.T, app, fpmAddr string, maxConns int) string {
	t.Helper()
	cfg := bridge.Config{
		Listen:          "127.0.0.1:0",
		Root:            filepath.Join(app, "public"),
		FastCGI:         fpmAddr,
		FastCGIMaxConns: maxConns,
		Control:         "unix:" + filepath.Join(t.TempDir(), "control.sock"),
		ControlToken:    "laravel-test-token-0123456789",
		AccessLog:       "off",
		WSHandler:       filepath.Join(app, "ws.php"),
	}
	// storage:link's symlink leaves the root, which phpbridge never follows;
	// --static-alias names the directory instead.
	cfg.StaticAliases = []string{"/storage=" + filepath.Join(app, "storage/app/public")}
	log := slog.New(slog.NewTextHandler(logWriter{t, "phpbridge"}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := bridge.New(cfg, log)
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("bridge.Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("phpbridge Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("phpbridge did not stop within 60s")
		}
	})
	return srv.Addr().String()
}

// logWriter sends a server's log to t.Log under -v.
type logWriter struct {
	t    *testing.T
	name string
}

func (w logWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Logf("[%s] %s", w.name, bytes.TrimRight(p, "\n"))
	}
	return len(p), nil
}

// nginxConf is the canonical Laravel server block (laravel.com/docs/8.x/
// deployment#nginx, as the task states it) inside a minimal http block
// whose paths all live in the test's prefix directory.
const nginxConf = `# Generated by examples/laravel/harness_test.go
%[1]s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log info;
events { worker_connections 256; }

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/client_body;
    fastcgi_temp_path %[2]s/fastcgi_temp;
    proxy_temp_path %[2]s/proxy_temp;
    scgi_temp_path %[2]s/scgi_temp;
    uwsgi_temp_path %[2]s/uwsgi_temp;
    sendfile on;
    # nginx's default is 1m, which refuses the 3 MB upload with 413 before
    # PHP sees it; phpbridge's --max-body-size default is 100m.
    client_max_body_size 100m;

    server {
        listen %[3]s;
        server_name laravel.test;
        root %[4]s/public;

        index index.php;

        location / {
            try_files $uri $uri/ /index.php?$query_string;
        }

        location ~ \.php$ {
            fastcgi_pass %[5]s;
            fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
            include /etc/nginx/fastcgi_params;
        }

        location ~ /\.(?!well-known).* {
            deny all;
        }
    }
}
`

// startNginx runs nginx in the foreground with its own prefix, pid and
// temp paths, in front of the same PHP-FPM pool.
func startNginx(t *testing.T, bin, app string, fpm *fpmtest.FPM) (addr, conf string) {
	t.Helper()
	prefix := t.TempDir()
	_ = os.Chmod(prefix, 0o755)
	addr = freePort(t)
	user := ""
	if os.Geteuid() == 0 {
		// Workers would drop to nobody, who may not reach the FPM socket.
		user = "user root;"
	}
	pass := fpm.Address // "unix:/path" or host:port: nginx's own syntax for both
	conf = fmt.Sprintf(nginxConf, user, prefix, addr, app, pass)
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", prefix, "-c", confPath, "-e", filepath.Join(prefix, "error.log"))
	var out testutil.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
		return out.String() + string(b)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if testing.Verbose() || t.Failed() {
			t.Logf("nginx error log:\n%s", errorLog())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("nginx exited at start:\n%s", errorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return addr, conf
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nginx did not listen on %s within 10s:\n%s", addr, errorLog())
	return "", ""
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// readAll reads a body and notes when each line arrived, so a test can tell
// a streamed response from a buffered one.
func readAll(r io.Reader, start time.Time) ([]byte, []time.Duration, error) {
	var body []byte
	var lines []time.Duration
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			now := time.Since(start)
			for _, c := range buf[:n] {
				if c == '\n' {
					lines = append(lines, now)
				}
			}
			body = append(body, buf[:n]...)
		}
		if err == io.EOF {
			return body, lines, nil
		}
		if err != nil {
			return body, lines, err
		}
	}
}
