package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/internal/fpmtest"
	"github.com/phpbridge/phpbridge/internal/testutil"
)

// TestBinaryServesAndDrainsOnSIGTERM runs the real binary in front of a real
// PHP-FPM: a static file and a PHP page are served, the access log line is
// nginx's combined format, and SIGTERM lets an in-flight request finish
// before the process exits 0.
func TestBinaryServesAndDrainsOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	fpm := fpmtest.Start(t, fpmtest.Options{Children: 2})
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	root := filepath.Join(dir, "public")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "app.css"), []byte("body{}"), 0o644)
	os.WriteFile(filepath.Join(root, "index.php"), []byte(`<?php
if (($_GET['slow'] ?? '') === '1') { $d = microtime(true) + 20; while (!file_exists('`+gate+`') && microtime(true) < $d) usleep(10000); }
echo "php ok";`), 0o644)

	bin := filepath.Join(t.TempDir(), "phpbridge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr, "--root", root, "--fastcgi", fpm.Address,
		"--fastcgi-max-conns", "2", "--control", "unix:"+filepath.Join(dir, "control.sock"),
		"--control-token", "binary-test-token-0123")
	var stdout, stderr testutil.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary did not listen; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/app.css"); code != 200 || body != "body{}" {
		t.Fatalf("static: %d %q", code, body)
	}
	if code, body := get("/some/route"); code != 200 || body != "php ok" {
		t.Fatalf("php: %d %q", code, body)
	}
	slow := make(chan string, 1)
	go func() {
		code, body := get("/?slow=1")
		slow <- strings.TrimSpace(body) + " " + http.StatusText(code)
	}()
	time.Sleep(300 * time.Millisecond) // the slow request reaches PHP
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	os.WriteFile(gate, nil, 0o644)
	if got := <-slow; got != "php ok OK" {
		t.Fatalf("in-flight request during shutdown: %q", got)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v (want 0)\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("did not exit after SIGTERM; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("no shutdown log line:\n%s", stderr.String())
	}
	// nginx "combined": addr - user [time] "request" status bytes "referer" "ua"
	if !strings.Contains(stdout.String(), `"GET /app.css HTTP/1.1" 200 6 "-" "Go-http-client/1.1"`) {
		t.Errorf("access log line missing or not combined format:\n%s", stdout.String())
	}
}
