// Package fpmtest starts a real PHP-FPM master for tests, with its own pool
// configuration on a temporary unix socket.
//
// Tests that cross into PHP use it instead of a fake: a missing php-fpm binary
// skips the test on a developer machine but fails it when
// PHPBRIDGE_REQUIRE_PHP=1 (set by .ci/run), so CI can never pass by skipping.
package fpmtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/internal/testutil"
)

// Options tune the pool. The zero value is a static pool of 4 children.
type Options struct {
	// Children is pm.max_children of a static pool. Default 4.
	Children int
	// MaxRequests is pm.max_requests (child recycling). Default 0 (never).
	MaxRequests int
	// TCP listens on 127.0.0.1:<free port> instead of a unix socket.
	TCP bool
	// PHPINI holds extra php.ini directives as "key = value" lines.
	PHPINI []string
	// Listen overrides the address (a socket path, or host:port with TCP).
	// Restart reuses the same address.
	Listen string
}

// FPM is a running php-fpm master.
type FPM struct {
	t       testing.TB
	dir     string
	conf    string
	Address string // "unix:/path" or "127.0.0.1:port", the --fastcgi form
	Network string // "unix" or "tcp"
	Addr    string // the socket path or host:port
	logPath string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Binary returns the php-fpm path, or "" when none is installed.
func Binary() string { return testutil.FindBinary("php-fpm8.2", "php-fpm") }

// Require skips (or, with PHPBRIDGE_REQUIRE_PHP=1, fails) a test when php-fpm
// is missing.
func Require(t testing.TB) string {
	t.Helper()
	bin := Binary()
	testutil.Require(t, "php-fpm", "php8.2-fpm", bin != "")
	return bin
}

// Start launches php-fpm and waits until its socket accepts connections. It is
// stopped by t.Cleanup.
func Start(t testing.TB, opts Options) *FPM {
	t.Helper()
	Require(t)
	if opts.Children <= 0 {
		opts.Children = 4
	}
	dir := t.TempDir()
	f := &FPM{t: t, dir: dir, conf: filepath.Join(dir, "php-fpm.conf"), logPath: filepath.Join(dir, "fpm.log")}
	switch {
	case opts.TCP && opts.Listen != "":
		f.Network, f.Addr = "tcp", opts.Listen
	case opts.TCP:
		f.Network, f.Addr = "tcp", freePort(t)
	case opts.Listen != "":
		f.Network, f.Addr = "unix", opts.Listen
	default:
		f.Network, f.Addr = "unix", filepath.Join(dir, "fpm.sock")
	}
	f.Address = f.Addr
	if f.Network == "unix" {
		f.Address = "unix:" + f.Addr
	}
	var ini strings.Builder
	for _, line := range opts.PHPINI {
		k, v, _ := strings.Cut(line, "=")
		fmt.Fprintf(&ini, "php_admin_value[%s] = %s\n", strings.TrimSpace(k), strings.TrimSpace(v))
	}
	conf := fmt.Sprintf(`[global]
error_log = %s
daemonize = no
log_limit = 65536

[test]
listen = %s
pm = static
pm.max_children = %d
pm.max_requests = %d
catch_workers_output = yes
decorate_workers_output = no
clear_env = no
request_terminate_timeout = 120s
php_admin_flag[log_errors] = on
%s`, f.logPath, f.Addr, opts.Children, opts.MaxRequests, ini.String())
	if err := os.WriteFile(f.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	f.start()
	t.Cleanup(f.Stop)
	return f
}

func (f *FPM) start() {
	f.t.Helper()
	// Debian's php.ini (production values: output_buffering=4096,
	// display_errors=Off) applies, as it would in a real deployment.
	cmd := exec.Command(Binary(), "-F", "-R", "-y", f.conf)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.t.Fatalf("fpmtest: start php-fpm: %v", err)
	}
	f.mu.Lock()
	f.cmd = cmd
	f.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout(f.Network, f.Addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("fpmtest: php-fpm did not listen on %s within 10s; log:\n%s", f.Address, f.Log())
}

// Stop terminates php-fpm (children included) and waits for it.
func (f *FPM) Stop() { f.signal(syscall.SIGKILL) }

// Kill is Stop under the name a fault-injection test reads better with.
func (f *FPM) Kill() { f.signal(syscall.SIGKILL) }

func (f *FPM) signal(sig syscall.Signal) {
	f.mu.Lock()
	cmd := f.cmd
	f.cmd = nil
	f.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	_ = cmd.Wait()
	if f.Network == "unix" {
		_ = os.Remove(f.Addr)
	}
}

// Restart kills php-fpm and starts it again on the same address.
func (f *FPM) Restart() {
	f.t.Helper()
	f.Kill()
	f.start()
}

// Log returns what php-fpm wrote to its error log so far.
func (f *FPM) Log() string {
	b, _ := os.ReadFile(f.logPath)
	return string(bytes.TrimSpace(b))
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
