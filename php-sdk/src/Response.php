<?php

declare(strict_types=1);

namespace PhpBridge;

/**
 * Response is the answer to one event, before it is emitted: tests and
 * other runtimes inspect it, Dispatcher::handle() emits it through PHP's
 * header() and echo so PHP-FPM hands it to phpbridge.
 */
final class Response
{
    /** ENVELOPE is the Content-Type of a reply-and-actions envelope. */
    public const ENVELOPE = 'application/vnd.phpbridge+json';

    /**
     * @param array<string, string> $headers
     */
    public function __construct(
        public readonly int $status = 200,
        public readonly array $headers = [],
        public readonly string $body = '',
    ) {
    }

    /** emit sends the response through the running SAPI. */
    public function emit(): void
    {
        if (!headers_sent($file, $line)) {
            http_response_code($this->status);
            foreach ($this->headers as $name => $value) {
                header($name . ': ' . $value);
            }
        } elseif ($this->status !== 200 || $this->headers !== []) {
            error_log(sprintf(
                'phpbridge: output started at %s:%d before the handler answered, so its status and headers'
                . ' were lost; remove that output (a BOM, whitespace after "?>", an echo) from the handler script.',
                $file,
                $line
            ));
        }
        echo $this->body;
    }
}
