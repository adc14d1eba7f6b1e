<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * Rejected refuses a WebSocket handshake from onOpen: the client gets
 * $status (>= 300) with $body and $headers instead of the 101, and the
 * connection never opens (no close event follows). Throwing it is the same
 * as calling $request->reject(); it is an exception so that code deep in an
 * authentication layer can refuse without returning through the handler.
 */
class Rejected extends PhpBridgeException
{
    /** @var array<string, string> */
    private array $headers;

    private string $body;

    /**
     * @param int $status HTTP status for the client, 300-599 (401, 403, 429...)
     * @param string $body response body for the client
     * @param array<string, string> $headers extra response headers (WWW-Authenticate, Retry-After...)
     */
    public function __construct(int $status = 403, string $body = '', array $headers = [])
    {
        if ($status < 300 || $status > 599) {
            throw new InvalidPayloadException(sprintf(
                'A refused handshake needs an HTTP status from 300 to 599 (401, 403, 429...), got %d;'
                . ' to accept the connection just return from onOpen.',
                $status
            ));
        }
        parent::__construct($body === '' ? 'handshake refused' : $body, $status);
        $this->headers = $headers;
        $this->body = $body;
    }

    /** status is the HTTP status the client gets. */
    public function status(): int
    {
        return $this->getCode();
    }

    /** body is the response body the client gets. */
    public function body(): string
    {
        return $this->body;
    }

    /**
     * headers are the extra response headers.
     *
     * @return array<string, string>
     */
    public function headers(): array
    {
        return $this->headers;
    }
}
