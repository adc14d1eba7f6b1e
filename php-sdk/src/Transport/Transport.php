<?php

declare(strict_types=1);

namespace PhpBridge\Transport;

use PhpBridge\Exception\ConnectionException;

/**
 * Transport sends one HTTP/1.1 request to the control API. There are two:
 * curl (keeps the connection alive between calls) and PHP streams (for PHP
 * builds without ext-curl); both speak to unix sockets and TCP.
 */
interface Transport
{
    /**
     * post sends a POST of $body to $path with $headers and returns the
     * answer, whatever its status.
     *
     * @param array<string, string> $headers
     * @throws ConnectionException when the bridge cannot be reached or does not answer in time
     */
    public function post(string $path, array $headers, string $body): HttpResponse;
}
