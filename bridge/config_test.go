package bridge

import (
	"strings"
	"testing"
)

// TestValidate: every bad value fails with a message naming its key and
// what is allowed; the control API is refused off loopback unless allowed.
func TestValidate(t *testing.T) {
	root := t.TempDir()
	base := func() Config { return Config{Root: root, ControlToken: "0123456789abcdef"} }
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"control on loopback", func(c *Config) { c.Control = "127.0.0.1:9501" }, ""},
		{"control on localhost", func(c *Config) { c.Control = "localhost:9501" }, ""},
		{"control on all interfaces", func(c *Config) { c.Control = "0.0.0.0:9501" }, "control: \"0.0.0.0:9501\" is not a loopback address"},
		{"control on a LAN address", func(c *Config) { c.Control = "10.1.2.3:9501" }, "is not a loopback address"},
		{"control remote allowed", func(c *Config) { c.Control = "10.1.2.3:9501"; c.ControlAllowRemote = true }, ""},
		{"control on the public listener", func(c *Config) { c.Listen = "127.0.0.1:8080"; c.Control = "127.0.0.1:8080" }, "must differ from listen"},
		{"short token", func(c *Config) { c.ControlToken = "short" }, "control-token: must be at least 16 characters"},
		{"bad socket mode", func(c *Config) { c.ControlSocketMode = "rw-" }, "control-socket-mode:"},
		{"bad listen", func(c *Config) { c.Listen = "8080" }, "listen: \"8080\" is not host:port"},
		{"missing root", func(c *Config) { c.Root = root + "/nope" }, "root:"},
		{"bad fastcgi", func(c *Config) { c.FastCGI = "php-fpm" }, "fastcgi:"},
		{"empty unix path", func(c *Config) { c.FastCGI = "unix:" }, "unix socket path is empty"},
		{"relative php-root", func(c *Config) { c.PHPRoot = "var/www" }, "php-root: \"var/www\" must be an absolute path"},
		{"index escaping", func(c *Config) { c.Index = "../index.php" }, "index:"},
		{"ws-path", func(c *Config) { c.WSPath = "ws" }, "ws-path:"},
		{"negative timeout", func(c *Config) { c.FastCGIReadTimeout = -1 }, "fastcgi-read-timeout:"},
		{"bad proxy cidr", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0"} }, "trusted-proxies:"},
		{"half tls", func(c *Config) { c.TLSCert = "/x.pem" }, "tls-cert and tls-key must be set together"},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, "log-format: \"xml\" is not one of text, json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mutate(&c)
			err := c.WithDefaults().Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
