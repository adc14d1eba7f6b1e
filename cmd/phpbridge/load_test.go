package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/phpbridge/phpbridge/bridge"
)

// writeConfig writes a YAML config file and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "phpbridge.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// field returns the Config field of key, as an interface for comparison.
func field(t *testing.T, cfg bridge.Config, key string) any {
	t.Helper()
	o, ok := lookupOption(key)
	if !ok {
		t.Fatalf("no option %q", key)
	}
	return reflect.ValueOf(cfg).Field(o.field).Interface()
}

func TestLoadPrecedence(t *testing.T) {
	// Each key gets a distinct value per layer; every combination of layers
	// must yield the value of the strongest one present.
	tests := []struct {
		key                  string
		file, env, flag      string // as written in each layer
		wantFile, wantEnv, w any    // parsed values (w: from the flag)
	}{
		{"fastcgi", "unix:/run/file.sock", "127.0.0.1:9001", "unix:/run/flag.sock",
			"unix:/run/file.sock", "127.0.0.1:9001", "unix:/run/flag.sock"},
		{"control-allow-remote", "true", "false", "true", true, false, true},
		{"fastcgi-max-conns", "8", "16", "32", 8, 16, 32},
		{"max-body-size", "1g", "512k", "100m", int64(1 << 30), int64(512 << 10), int64(100 << 20)},
		{"fastcgi-read-timeout", "300", "90s", "1m30s", 300 * time.Second, 90 * time.Second, 90 * time.Second},
		{"trusted-proxies", "[10.0.0.0/8, 192.168.0.0/16]", "172.16.0.0/12", "127.0.0.1/32,::1/128",
			[]string{"10.0.0.0/8", "192.168.0.0/16"}, []string{"172.16.0.0/12"}, []string{"127.0.0.1/32", "::1/128"}},
	}
	for _, tt := range tests {
		o, _ := lookupOption(tt.key)
		for _, layers := range []struct {
			name            string
			file, env, flag bool
			want            any
			from            string
		}{
			{"default", false, false, false, reflect.Zero(reflect.TypeOf(tt.wantFile)).Interface(), ""},
			{"file", true, false, false, tt.wantFile, "phpbridge.yaml:1"},
			{"env over file", true, true, false, tt.wantEnv, "env " + o.env},
			{"flag over env and file", true, true, true, tt.w, "flag --" + tt.key},
			{"flag over file", true, false, true, tt.w, "flag --" + tt.key},
			{"env alone", false, true, false, tt.wantEnv, "env " + o.env},
		} {
			t.Run(tt.key+"/"+layers.name, func(t *testing.T) {
				var args, environ []string
				if layers.file {
					args = append(args, "--config", writeConfig(t, tt.key+": "+tt.file+"\n"))
				}
				if layers.env {
					environ = append(environ, o.env+"="+tt.env)
				}
				if layers.flag {
					args = append(args, "--"+tt.key+"="+tt.flag)
				}
				ld, err := load(args, environ)
				if err != nil {
					t.Fatal(err)
				}
				got := field(t, ld.cfg, tt.key)
				if tt.key == "trusted-proxies" && got == nil {
					got = []string(nil)
				}
				if !reflect.DeepEqual(got, layers.want) && !(isEmpty(got) && isEmpty(layers.want)) {
					t.Errorf("%s = %#v; want %#v", tt.key, got, layers.want)
				}
				if from := ld.from[tt.key]; !strings.HasSuffix(from, layers.from) || (layers.from == "") != (from == "") {
					t.Errorf("from = %q; want suffix %q", from, layers.from)
				}
			})
		}
	}
}

func isEmpty(v any) bool {
	rv := reflect.ValueOf(v)
	return !rv.IsValid() || (rv.Kind() == reflect.Slice && rv.Len() == 0)
}

func TestLoadConfigFromEnv(t *testing.T) {
	path := writeConfig(t, "listen: 127.0.0.1:8081\n")
	ld, err := load(nil, []string{configEnv + "=" + path})
	if err != nil {
		t.Fatal(err)
	}
	if ld.cfg.Listen != "127.0.0.1:8081" {
		t.Fatalf("listen = %q; want the file's", ld.cfg.Listen)
	}
}

func TestLoadDetails(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		environ []string
		file    string
		check   func(t *testing.T, cfg bridge.Config)
	}{
		{"repeated list flag accumulates", []string{"--trusted-proxies", "10.0.0.0/8", "--trusted-proxies=::1/128, 127.0.0.1/32"}, nil, "",
			func(t *testing.T, c bridge.Config) {
				if want := []string{"10.0.0.0/8", "::1/128", "127.0.0.1/32"}; !reflect.DeepEqual(c.TrustedProxies, want) {
					t.Errorf("got %q; want %q", c.TrustedProxies, want)
				}
			}},
		{"list as a YAML scalar is comma-separated", nil, nil, "trusted-proxies: 10.0.0.0/8, 127.0.0.1/32\n",
			func(t *testing.T, c bridge.Config) {
				if len(c.TrustedProxies) != 2 {
					t.Errorf("got %q", c.TrustedProxies)
				}
			}},
		{"bare bool flag is true", []string{"--control-allow-remote"}, nil, "",
			func(t *testing.T, c bridge.Config) {
				if !c.ControlAllowRemote {
					t.Error("want true")
				}
			}},
		{"bool words", nil, []string{"PHPBRIDGE_CONTROL_ALLOW_REMOTE=yes"}, "",
			func(t *testing.T, c bridge.Config) {
				if !c.ControlAllowRemote {
					t.Error("want true")
				}
			}},
		{"empty env means unset", nil, []string{"PHPBRIDGE_LISTEN=", "PHPBRIDGE_MAX_BODY_SIZE="}, "listen: :9999\n",
			func(t *testing.T, c bridge.Config) {
				if c.Listen != ":9999" || c.MaxBodySize != 0 {
					t.Errorf("listen %q, max-body-size %d; want file's and unset", c.Listen, c.MaxBodySize)
				}
			}},
		{"YAML null leaves the default", nil, nil, "max-body-size:\nlisten: ~\n",
			func(t *testing.T, c bridge.Config) {
				if c.MaxBodySize != 0 || c.Listen != "" {
					t.Errorf("got %d %q", c.MaxBodySize, c.Listen)
				}
			}},
		{"YAML keeps strings verbatim", nil, nil, "control-token: 0012345678901234567\nlisten: \":8081\"\n",
			func(t *testing.T, c bridge.Config) {
				if c.ControlToken != "0012345678901234567" || c.Listen != ":8081" {
					t.Errorf("got %q %q", c.ControlToken, c.Listen)
				}
			}},
		{"empty file", nil, nil, "# nothing\n", func(*testing.T, bridge.Config) {}},
		{"double dash and single dash", []string{"-listen", ":1", "--root", "/srv"}, nil, "",
			func(t *testing.T, c bridge.Config) {
				if c.Listen != ":1" || c.Root != "/srv" {
					t.Errorf("got %q %q", c.Listen, c.Root)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeConfig(t, tt.file)}, args...)
			}
			ld, err := load(args, tt.environ)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, ld.cfg)
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		environ []string
		file    string   // written to phpbridge.yaml and passed with --config
		usage   bool     // a usageError (usage is printed after it)
		want    []string // substrings of the message
	}{
		{"bad duration flag", []string{"--fastcgi-read-timeout=abc"}, nil, "", false,
			[]string{`fastcgi-read-timeout: "abc" is not a duration`, "500ms", "(from flag --fastcgi-read-timeout)"}},
		{"bad size env", nil, []string{"PHPBRIDGE_MAX_BODY_SIZE=lots"}, "", false,
			[]string{`max-body-size: "lots" is not a size`, "512k, 100m, 1g", "(from env PHPBRIDGE_MAX_BODY_SIZE)"}},
		{"bad int in file", nil, nil, "listen: :80\nfastcgi-max-conns: many\n", false,
			[]string{`fastcgi-max-conns: "many" is not a whole number`, "phpbridge.yaml:2"}},
		{"bad bool flag", []string{"--control-allow-remote=maybe"}, nil, "", false,
			[]string{`control-allow-remote: "maybe" is not a boolean; use true or false`}},
		{"negative size", []string{"--max-body-size", "-1"}, nil, "", false, []string{"max-body-size", "not a size"}},
		{"unknown YAML key", nil, nil, "fastcgi-read-timout: 5\n", false,
			[]string{`phpbridge.yaml:1: unknown key "fastcgi-read-timout"`, "did you mean fastcgi-read-timeout"}},
		{"unknown YAML key, nothing close", nil, nil, "zzz: 1\n", false,
			[]string{`unknown key "zzz"`, "phpbridge help serve"}},
		{"underscore YAML key", nil, nil, "max_body_size: 1m\n", false,
			[]string{`unknown key "max_body_size"`, "did you mean max-body-size?"}},
		{"list where a value belongs", nil, nil, "listen: [a, b]\n", false,
			[]string{"listen: must be a single value", "phpbridge.yaml:1"}},
		{"duplicate key", nil, nil, "listen: :1\nlisten: :2\n", false,
			[]string{"phpbridge.yaml:2: listen is already set on line 1"}},
		{"not a mapping", nil, nil, "- listen\n", false, []string{"must be a mapping"}},
		{"broken YAML", nil, nil, "listen: [\n", false, []string{"config file", "phpbridge.yaml"}},
		{"missing file", []string{"--config", "/nonexistent/phpbridge.yaml"}, nil, "", false,
			[]string{"config file", "/nonexistent/phpbridge.yaml"}},
		{"every bad value at once", nil, []string{"PHPBRIDGE_IDLE_TIMEOUT=soon"}, "read-timeout: later\n", false,
			[]string{"read-timeout", "idle-timeout", "soon", "later"}},
		{"unknown flag", []string{"--fastcgi-timeout=3"}, nil, "", true,
			[]string{"unknown flag --fastcgi-timeout", "--fastcgi-read-timeout"}},
		{"flag without value", []string{"--listen"}, nil, "", true, []string{"flag --listen needs a value"}},
		{"stray argument", []string{"public"}, nil, "", true, []string{`unexpected argument "public"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeConfig(t, tt.file)}, args...)
			}
			_, err := load(args, tt.environ)
			if err == nil {
				t.Fatal("no error")
			}
			var ue *usageError
			if errors.As(err, &ue) != tt.usage {
				t.Errorf("usage error = %v; want %v (%v)", !tt.usage, tt.usage, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestLoadHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if _, err := load([]string{arg}, nil); !errors.Is(err, errHelp) {
			t.Errorf("%s: err = %v; want errHelp", arg, err)
		}
	}
}

func TestLoadWarnsOnUnknownEnv(t *testing.T) {
	ld, err := load(nil, []string{"PHPBRIDGE_LOGLEVEL=debug", "PHPBRIDGE_LOG_LEVEL=warn", "HOME=/root"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ld.warnings) != 1 {
		t.Fatalf("warnings = %v; want one", ld.warnings)
	}
	w := ld.warnings[0]
	if got := w.attrs[1]; got != "PHPBRIDGE_LOGLEVEL" || !strings.Contains(w.attrs[3].(string), "PHPBRIDGE_LOG_LEVEL") {
		t.Errorf("warning = %+v", w)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1 << 20, true},
		{"512k", 512 << 10, true},
		{"512K", 512 << 10, true},
		{"100m", 100 << 20, true},
		{"1g", 1 << 30, true},
		{"2G", 2 << 30, true},
		{"1t", 1 << 40, true},
		{"100MB", 100 << 20, true},
		{"100MiB", 100 << 20, true},
		{"64kb", 64 << 10, true},
		{" 8m ", 8 << 20, true},
		{"", 0, false},
		{"lots", 0, false},
		{"m", 0, false},
		{"-1", 0, false},
		{"1.5m", 0, false},
		{"10x", 0, false},
		{"9999999999999g", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"1m30s", 90 * time.Second, true},
		{"500ms", 500 * time.Millisecond, true},
		{"300", 300 * time.Second, true},
		{"0", 0, true},
		{"abc", 0, false},
		{"", 0, false},
		{"5 minutes", 0, false},
		{"99999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestEveryFieldIsAnOption guards the reflection: an exported Config field
// without a yaml tag would be silently unconfigurable.
func TestEveryFieldIsAnOption(t *testing.T) {
	typ := reflect.TypeFor[bridge.Config]()
	keys := make(map[string]bool)
	for _, o := range options {
		if keys[o.key] {
			t.Errorf("duplicate key %q", o.key)
		}
		keys[o.key] = true
		if f := typ.Field(o.field); o.kind == kindOther {
			t.Logf("%s (%s) is parsed as YAML; consider a dedicated kind", o.key, f.Type)
		}
	}
	for i := range typ.NumField() {
		f := typ.Field(i)
		if tag := f.Tag.Get("yaml"); f.IsExported() && (tag == "" || tag == "-") {
			t.Errorf("exported field %s has no yaml tag: it gets no flag, env or file key", f.Name)
		}
	}
	for _, want := range []string{"listen", "root", "index", "fastcgi", "php-root", "ws-path", "ws-handler", "control", "control-token"} {
		if !keys[want] {
			t.Errorf("core flag --%s missing", want)
		}
	}
	if o, _ := lookupOption("max-body-size"); o.kind != kindSize {
		t.Error(`max-body-size is not parsed as a size (unit:"bytes" tag lost?)`)
	}
	if o, _ := lookupOption("php-root"); o.env != "PHPBRIDGE_PHP_ROOT" {
		t.Errorf("env of php-root = %s", o.env)
	}
}

func TestLoadYAMLAnchors(t *testing.T) {
	ld, err := load([]string{"--config", writeConfig(t, "read-timeout: &t 45s\nidle-timeout: *t\n")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ld.cfg.IdleTimeout != 45*time.Second {
		t.Fatalf("idle-timeout = %v; want the anchored 45s", ld.cfg.IdleTimeout)
	}
}
