package fastcgi

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on (the bridge maps them to HTTP statuses).
var (
	// ErrUnavailable: PHP-FPM could not be reached (dial failed or refused).
	// The bridge answers 502.
	ErrUnavailable = errors.New("fastcgi: php-fpm unavailable")
	// ErrTimeout: PHP-FPM accepted the request but did not answer within
	// Config.ReadTimeout; the request was aborted. The bridge answers 504.
	ErrTimeout = errors.New("fastcgi: php-fpm timed out")
	// ErrBusy: every connection stayed in use for Config.QueueTimeout. The
	// bridge answers 503.
	ErrBusy = errors.New("fastcgi: all php-fpm connections busy")
	// ErrProtocol: PHP-FPM sent something that is not valid FastCGI or CGI
	// output, or closed the connection mid-response. The bridge answers 502.
	ErrProtocol = errors.New("fastcgi: invalid response from php-fpm")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("fastcgi: client closed")
)

// errClosedUnanswered marks a connection PHP-FPM closed before sending a
// byte of the answer (see Client.Do's retry rule).
var errClosedUnanswered = errors.New("closed before any answer")

// ProtocolError carries what was wrong with PHP-FPM's output. It wraps
// ErrProtocol.
type ProtocolError struct {
	Reason string
	Err    error // the I/O error behind it, if any
}

func (e *ProtocolError) Error() string { return "fastcgi: invalid response from php-fpm: " + e.Reason }
func (e *ProtocolError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrProtocol}
	}
	return []error{ErrProtocol, e.Err}
}

func protocolErrorf(format string, args ...any) error {
	return &ProtocolError{Reason: fmt.Sprintf(format, args...)}
}
