<?php

declare(strict_types=1);

namespace PhpBridge;

use PhpBridge\Exception\Rejected;

/**
 * Request is the WebSocket upgrade request seen by onOpen, shaped like
 * Swoole\Http\Request: $fd, $get, $cookie, $header (lower-case names, as
 * Swoole has them) and $server (lower-case CGI names: request_uri,
 * remote_addr, query_string, path_info...). It also carries the two answers
 * only a handshake has: refuse it (reject) or pick a subprotocol.
 *
 * Laravel or ThinkPHP helpers (session, auth, cookies) work too, since the
 * FastCGI request of every event carries the upgrade request's headers.
 */
final class Request
{
    /** @var array<string, string> */
    public readonly array $header;

    /** @var array<string, mixed> */
    public readonly array $server;

    /** post is always null: a handshake is a GET (kept for Swoole code that reads it). */
    public readonly ?array $post;

    /** files is always null, like post. */
    public readonly ?array $files;

    private ?Rejected $rejection = null;

    private ?string $protocol = null;

    /**
     * @param int $fd the connection id (WS_FD)
     * @param array<array-key, mixed> $get the query of the upgrade request
     * @param array<array-key, mixed> $cookie the cookies of the upgrade request
     * @param array<string, mixed> $params the FastCGI params ($_SERVER) of the event
     */
    public function __construct(
        public readonly int $fd,
        public readonly array $get,
        public readonly array $cookie,
        array $params,
    ) {
        $this->header = self::headers($params);
        $this->server = self::serverInfo($params);
        $this->post = null;
        $this->files = null;
    }

    /** fromEnvironment builds the request of an open event. */
    public static function fromEnvironment(Environment $env, int $fd): self
    {
        return new self($fd, $env->get, $env->cookie, $env->server);
    }

    /**
     * reject refuses the handshake: the client gets $status (300-599) with
     * $body and $headers, and no connection is opened. The handler may keep
     * running; what it queues afterwards for this connection is dropped.
     *
     * @param array<string, string> $headers e.g. ['WWW-Authenticate' => 'Bearer']
     */
    public function reject(int $status = 403, string $body = '', array $headers = []): void
    {
        $this->rejection = new Rejected($status, $body, $headers);
    }

    /** rejection is the refusal recorded by reject(), if any. */
    public function rejection(): ?Rejected
    {
        return $this->rejection;
    }

    /**
     * protocols lists the subprotocols the client offered
     * (Sec-WebSocket-Protocol), in its order of preference.
     *
     * @return list<string>
     */
    public function protocols(): array
    {
        $offered = [];
        foreach (explode(',', $this->header['sec-websocket-protocol'] ?? '') as $name) {
            $name = trim($name);
            if ($name !== '') {
                $offered[] = $name;
            }
        }
        return $offered;
    }

    /**
     * acceptProtocol picks one of the offered subprotocols for the 101
     * (Sec-WebSocket-Protocol). It returns false, and picks nothing, when
     * the client did not offer it: a browser fails a handshake that names a
     * protocol it did not ask for.
     */
    public function acceptProtocol(string $protocol): bool
    {
        foreach ($this->protocols() as $offered) {
            if (strcasecmp($offered, $protocol) === 0) {
                $this->protocol = $offered;
                return true;
            }
        }
        return false;
    }

    /** protocol is the subprotocol chosen by acceptProtocol(), if any. */
    public function protocol(): ?string
    {
        return $this->protocol;
    }

    /**
     * headers turns HTTP_* params back into header names the way Swoole
     * reports them: HTTP_USER_AGENT becomes "user-agent".
     *
     * @param array<string, mixed> $params
     * @return array<string, string>
     */
    private static function headers(array $params): array
    {
        $headers = [];
        foreach ($params as $name => $value) {
            if (is_string($name) && str_starts_with($name, 'HTTP_') && is_scalar($value)) {
                $headers[strtr(strtolower(substr($name, 5)), '_', '-')] = (string) $value;
            }
        }
        return $headers;
    }

    /**
     * serverInfo lower-cases the params like Swoole's $request->server
     * (request_uri, remote_addr...) and fills Swoole's path_info (the path
     * of the URI) and master_time. The control token is left out: handlers
     * log requests, and the token must not end up in logs.
     *
     * @param array<string, mixed> $params
     * @return array<string, mixed>
     */
    private static function serverInfo(array $params): array
    {
        $server = [];
        foreach ($params as $name => $value) {
            if (is_string($name) && $name !== 'PHPBRIDGE_TOKEN') {
                $server[strtolower($name)] = $value;
            }
        }
        if (!isset($server['path_info']) || $server['path_info'] === '') {
            $path = parse_url((string) ($server['request_uri'] ?? '/'), PHP_URL_PATH);
            $server['path_info'] = is_string($path) ? $path : '/';
        }
        if (isset($server['request_time']) && !isset($server['master_time'])) {
            $server['master_time'] = $server['request_time'];
        }
        return $server;
    }
}
