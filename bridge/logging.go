package bridge

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// NewLogger builds the process logger from the log-format and log-level
// settings, so every component logs through one slog.Logger with one shape.
// An empty format or level means the default ("text", "info"); anything
// else outside the allowed values is an error naming the key, because a typo
// in a config file should stop the start rather than silently log nothing.
func NewLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	lvl, err := parseLogLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format: %q is not one of text, json", format)
}

// parseLogLevel accepts the four slog levels by the names Config.Validate
// allows.
func parseLogLevel(level string) (slog.Level, error) {
	switch level {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log-level: %q is not one of debug, info, warn, error", level)
}

// Redacted replaces a secret header value in logs.
const Redacted = "[redacted]"

// sensitiveHeaders carry credentials: session cookies, bearer tokens and the
// control API token. Logging them would let anyone with log access act as
// the user or drive the control API.
var sensitiveHeaders = [...]string{
	"Cookie",
	"Set-Cookie",
	"Authorization",
	"Proxy-Authorization",
	"X-Phpbridge-Token",
}

// RedactHeader returns value as a string fit for logging, or Redacted when
// the header (matched case-insensitively) carries credentials. Use it for
// every request or response header that reaches a log line.
func RedactHeader(name string, value []byte) string {
	if IsSensitiveHeader(name) {
		return Redacted
	}
	return string(value)
}

// IsSensitiveHeader reports whether the header named name carries
// credentials and must not be logged verbatim.
func IsSensitiveHeader(name string) bool {
	for _, h := range sensitiveHeaders {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
}
