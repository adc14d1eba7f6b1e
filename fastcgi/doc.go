// Package fastcgi is phpbridge's FastCGI client for PHP-FPM: the responder
// role of the FastCGI 1.0 specification over a bounded pool of keep-alive
// connections.
//
// What it implements: FCGI_BEGIN_REQUEST with FCGI_KEEP_CONN, name-value
// params, a streamed FCGI_STDIN (bodies are never held whole in memory),
// FCGI_STDOUT parsed into a fasthttp.ResponseHeader with no header-line length
// limit, FCGI_STDERR handed to a callback line by line, FCGI_END_REQUEST, and
// FCGI_ABORT_REQUEST when the caller gives up (context cancelled, client
// gone, read timeout). At most Config.MaxConns requests are in flight; further
// callers queue fairly (FIFO) for at most Config.QueueTimeout. A request that
// fails on a pooled idle connection before any byte came back (FPM restarted,
// pm.max_requests recycled the child) is retried once on a fresh connection.
// FCGI_GET_VALUES is used to learn FCGI_MAX_CONNS from FPM.
//
// What it does not implement: multiplexing several requests on one connection
// (PHP-FPM does not support it), the authorizer and filter roles, and being a
// FastCGI server.
//
// Why not gofast: see docs/fastcgi-client.md. gofast v0.8.0 deadlocks on
// header lines over 1024 bytes and on writes to a gone client, its Client is
// unsafe for concurrent use, its pool overcommits FPM, and its timeouts leak a
// reader goroutine without FCGI_ABORT_REQUEST. gofast stays in the module as
// the reference the benchmarks compare against.
package fastcgi
