package bridge

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		format, level string
		wantErr       string // substring; "" means success
		debugShown    bool
		isJSON        bool
	}{
		{"", "", "", false, false},
		{"text", "debug", "", true, false},
		{"json", "info", "", false, true},
		{"json", "warn", "", false, true},
		{"text", "error", "", false, false},
		{"xml", "info", "log-format", false, false},
		{"text", "verbose", "log-level", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(tt.format, tt.level, &buf)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("dbg")
			if got := strings.Contains(buf.String(), "dbg"); got != tt.debugShown {
				t.Errorf("debug shown = %v; want %v", got, tt.debugShown)
			}
			buf.Reset()
			log.Error("boom", "k", "v")
			if tt.isJSON && !json.Valid(buf.Bytes()) {
				t.Errorf("not JSON: %s", buf.Bytes())
			}
			if !tt.isJSON && !strings.Contains(buf.String(), "msg=boom k=v") {
				t.Errorf("not text: %s", buf.Bytes())
			}
		})
	}
}

func TestRedactHeader(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"Cookie", "laravel_session=abc", Redacted},
		{"cookie", "x=1", Redacted},
		{"SET-COOKIE", "x=1", Redacted},
		{"Authorization", "Bearer t", Redacted},
		{"proxy-authorization", "Basic x", Redacted},
		{"X-PhpBridge-Token", "secret", Redacted},
		{"User-Agent", "curl/8", "curl/8"},
		{"X-Cookie-Hint", "fine", "fine"},
		{"Accept", "", ""},
	}
	for _, tt := range tests {
		if got := RedactHeader(tt.name, []byte(tt.value)); got != tt.want {
			t.Errorf("RedactHeader(%q, %q) = %q; want %q", tt.name, tt.value, got, tt.want)
		}
	}
}
