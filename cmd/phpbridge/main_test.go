package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/phpbridge/phpbridge/bridge"
)

// runCLI runs the command in-process and returns its exit code and output.
func runCLI(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, environ, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

var versionRE = regexp.MustCompile(`^phpbridge \S+ go\S+ ` + runtime.GOOS + "/" + runtime.GOARCH + "\n$")

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring
		stderr     string // substring
		noStdout   bool
		stdoutLike *regexp.Regexp
	}{
		{name: "version", args: []string{"version"}, code: 0, stdoutLike: versionRE},
		{name: "--version", args: []string{"--version"}, code: 0, stdoutLike: versionRE},
		{name: "help", args: []string{"help"}, code: 0, stdout: "phpbridge serve [flags]"},
		{name: "help serve", args: []string{"help", "serve"}, code: 0, stdout: "--max-body-size SIZE"},
		{name: "serve -h", args: []string{"serve", "-h"}, code: 0, stdout: "--fastcgi ADDR"},
		{name: "no command", args: nil, code: 2, stderr: "Usage:", noStdout: true},
		{name: "unknown command", args: []string{"start"}, code: 2, stderr: `unknown command "start"`, noStdout: true},
		{name: "unknown flag prints usage", args: []string{"serve", "--nope"}, code: 2, stderr: "unknown flag --nope", noStdout: true},
		{name: "bad value", args: []string{"serve", "--fastcgi-read-timeout=abc"}, code: 2,
			stderr: `fastcgi-read-timeout: "abc" is not a duration`, noStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, nil, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d; want %d\nstderr: %s", code, tt.code, stderr)
			}
			if tt.stdoutLike != nil && !tt.stdoutLike.MatchString(stdout) {
				t.Errorf("stdout %q does not match %v", stdout, tt.stdoutLike)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdout, stdout)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, stderr)
			}
			if tt.noStdout && stdout != "" {
				t.Errorf("stdout should be empty on error, got %q", stdout)
			}
		})
	}
	if _, _, stderr := runCLI(t, nil, "serve", "--nope"); !strings.Contains(stderr, "Usage: phpbridge serve") {
		t.Errorf("unknown flag: usage missing from stderr:\n%s", stderr)
	}
}

func TestServeValidateErrorsNameTheSource(t *testing.T) {
	path := writeConfig(t, "root: /nonexistent-root\n")
	code, _, stderr := runCLI(t, []string{"PHPBRIDGE_LOG_LEVEL=loud"},
		"serve", "--config", path, "--log-format=xml", "--ws-path", "ws")
	if code != 2 {
		t.Fatalf("exit %d; want 2", code)
	}
	for _, want := range []string{
		"invalid configuration",
		`log-format: "xml" is not one of text, json (from flag --log-format)`,
		`log-level: "loud" is not one of debug, info, warn, error (from env PHPBRIDGE_LOG_LEVEL)`,
		`root: "/nonexistent-root" is not a readable directory (from ` + path + ":1)",
		`ws-path: "ws" must start with "/" (from flag --ws-path)`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestServeValidateErrorOnDefaultSaysHowToSet(t *testing.T) {
	t.Chdir(t.TempDir()) // no ./public here
	code, _, stderr := runCLI(t, nil, "serve")
	if code != 2 || !strings.Contains(stderr, "root:") || !strings.Contains(stderr, "the default; set --root, PHPBRIDGE_ROOT or root: in the config file") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// fakeServer stands in for *bridge.Server.
type fakeServer struct{ err error }

func (f fakeServer) Run(ctx context.Context) error { return f.err }

func TestServeWiring(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name           string
		newErr, runErr error
		code           int
		stderr         string
	}{
		{"runs and stops cleanly", nil, nil, 0, ""},
		{"New fails", errors.New("fastcgi: dial refused"), nil, 1, "cannot start"},
		{"Run fails", nil, errors.New("listen: address in use"), 1, "address in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bridge.Config
			orig := newServer
			t.Cleanup(func() { newServer = orig })
			newServer = func(cfg bridge.Config, log *slog.Logger) (runner, error) {
				got = cfg
				if tt.newErr != nil {
					return nil, tt.newErr
				}
				return fakeServer{tt.runErr}, nil
			}
			code, _, stderr := runCLI(t, []string{"PHPBRIDGE_LOG_FORMAT=json"}, "serve", "--root", root, "--max-body-size", "8m")
			if code != tt.code {
				t.Fatalf("exit %d; want %d\nstderr: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, stderr)
			}
			if tt.stderr != "" && !strings.HasPrefix(stderr, "{") {
				t.Errorf("log-format json not honoured: %s", stderr)
			}
			// The server gets the defaulted, validated config.
			if got.Root != root || got.MaxBodySize != 8<<20 || got.Listen != bridge.DefaultListen || got.ControlToken == "" {
				t.Errorf("server got %+v", got)
			}
		})
	}
}

// TestBinary builds the real binary and checks what a shell sees: the
// ldflags version, exit codes and stderr.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "phpbridge")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "phpbridge v9.9.9-test go") || !versionRE.Match(out) {
		t.Fatalf("version: %q, %v", out, err)
	}
	for _, tc := range []struct {
		args   []string
		env    string
		stderr string
	}{
		{[]string{"serve", "--bogus"}, "", "unknown flag --bogus"},
		{[]string{"serve"}, "PHPBRIDGE_MAX_BODY_SIZE=lots", "(from env PHPBRIDGE_MAX_BODY_SIZE)"},
		{[]string{"frobnicate"}, "", `unknown command "frobnicate"`},
	} {
		cmd := exec.Command(bin, tc.args...)
		if tc.env != "" {
			cmd.Env = append(cmd.Environ(), tc.env)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("%v: err %v; want exit status 2", tc.args, err)
		}
		if !strings.Contains(stderr.String(), tc.stderr) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.stderr, stderr.String())
		}
	}
}
