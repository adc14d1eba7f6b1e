<?php

declare(strict_types=1);

namespace PhpBridge\Transport;

/**
 * HttpResponse is a control API answer as the transports hand it over:
 * status, headers (lower-case names) and the whole body.
 */
final class HttpResponse
{
    /**
     * @param array<string, string> $headers lower-case name => value (repeated headers joined by ", ")
     */
    public function __construct(
        public readonly int $status,
        public readonly array $headers,
        public readonly string $body,
    ) {
    }
}
