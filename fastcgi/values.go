package fastcgi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// ErrNotReported: the FastCGI server answered FCGI_GET_VALUES without
// FCGI_MAX_CONNS. PHP-FPM 8.x does so (its code that would report
// pm.max_children is compiled out); php-cgi with PHP_FCGI_CHILDREN reports it.
var ErrNotReported = errors.New("fastcgi: server did not report FCGI_MAX_CONNS")

// DiscoverMaxConns asks the FastCGI server how many connections it serves at
// once (FCGI_GET_VALUES → FCGI_MAX_CONNS), so the bridge's connection cap
// can match the pool without configuration where the server says.
func DiscoverMaxConns(ctx context.Context, network, address string) (int, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %s: %v", ErrUnavailable, network, address, err)
	}
	defer nc.Close()
	deadline := time.Now().Add(2 * time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = nc.SetDeadline(deadline)
	var q []byte
	q = appendNameValue(q, "FCGI_MAX_CONNS", "")
	q = appendNameValue(q, "FCGI_MAX_REQS", "")
	msg := appendHeader(nil, typeGetValues, 0, len(q))
	if _, err := nc.Write(append(msg, q...)); err != nil {
		return 0, fmt.Errorf("fastcgi: FCGI_GET_VALUES: %w", err)
	}
	br := bufio.NewReader(nc)
	hb := make([]byte, headerLen)
	if _, err := io.ReadFull(br, hb); err != nil {
		return 0, fmt.Errorf("fastcgi: FCGI_GET_VALUES: no answer: %w", err)
	}
	h := parseHeader(hb)
	if h.Type != typeGetValuesResult {
		return 0, protocolErrorf("FCGI_GET_VALUES answered with record type %d", h.Type)
	}
	body := make([]byte, int(h.ContentLength)+int(h.PaddingLength))
	if _, err := io.ReadFull(br, body); err != nil {
		return 0, fmt.Errorf("fastcgi: FCGI_GET_VALUES: %w", err)
	}
	maxConns := 0
	if !parseNameValues(body[:h.ContentLength], func(name, value string) {
		if name == "FCGI_MAX_CONNS" {
			maxConns, _ = strconv.Atoi(value)
		}
	}) {
		return 0, protocolErrorf("malformed FCGI_GET_VALUES_RESULT")
	}
	if maxConns <= 0 {
		return 0, ErrNotReported
	}
	return maxConns, nil
}
