<?php

declare(strict_types=1);

namespace PhpBridge\Transport;

use PhpBridge\Exception\ConnectionException;

/**
 * CurlTransport talks to the control API with ext-curl, reusing one handle
 * so consecutive calls from a cron job or queue worker share a keep-alive
 * connection. It ignores http_proxy and friends (the control API is local
 * by definition) and never sends "Expect: 100-continue", which would stall
 * every large push for a second.
 */
final class CurlTransport implements Transport
{
    /** @var \CurlHandle|null */
    private $handle = null;

    public function __construct(
        private readonly Address $address,
        private readonly float $timeout = 3.0,
    ) {
    }

    /** supported reports whether ext-curl can reach $address (unix sockets need curl >= 7.40). */
    public static function supported(Address $address): bool
    {
        return extension_loaded('curl') && (!$address->unix || defined('CURLOPT_UNIX_SOCKET_PATH'));
    }

    public function post(string $path, array $headers, string $body): HttpResponse
    {
        $handle = $this->handle ??= curl_init();
        $lines = ['Expect:'];
        foreach ($headers as $name => $value) {
            $lines[] = $name . ': ' . $value;
        }
        $received = [];
        $options = [
            CURLOPT_URL => $this->address->url($path),
            CURLOPT_POST => true,
            CURLOPT_POSTFIELDS => $body,
            CURLOPT_HTTPHEADER => $lines,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HEADER => false,
            CURLOPT_PROXY => '',
            CURLOPT_NOPROXY => '*',
            CURLOPT_FOLLOWLOCATION => false,
            CURLOPT_CONNECTTIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_TIMEOUT_MS => (int) ceil($this->timeout * 1000),
            CURLOPT_HEADERFUNCTION => static function ($h, string $line) use (&$received): int {
                $parts = explode(':', $line, 2);
                if (count($parts) === 2) {
                    $name = strtolower(trim($parts[0]));
                    $value = trim($parts[1]);
                    $received[$name] = isset($received[$name]) ? $received[$name] . ', ' . $value : $value;
                } elseif (str_starts_with($line, 'HTTP/')) {
                    $received = [];
                }
                return strlen($line);
            },
        ];
        if ($this->address->unix) {
            $options[CURLOPT_UNIX_SOCKET_PATH] = $this->address->path;
        }
        curl_setopt_array($handle, $options);
        $answer = curl_exec($handle);
        if ($answer === false) {
            $errno = curl_errno($handle);
            $error = curl_error($handle);
            $this->close();
            if ($errno === CURLE_OPERATION_TIMEDOUT && !str_contains(strtolower($error), 'connect')) {
                throw ConnectionException::timeout((string) $this->address, $this->timeout);
            }
            $reason = $this->address->unix && $errno === CURLE_COULDNT_CONNECT
                ? self::socketProblem($this->address->path)
                : sprintf('curl error %d: %s', $errno, $error);
            throw ConnectionException::unreachable((string) $this->address, $reason);
        }
        return new HttpResponse((int) curl_getinfo($handle, CURLINFO_RESPONSE_CODE), $received, (string) $answer);
    }

    /**
     * socketProblem says why a unix socket refused: curl only reports
     * "Failed to connect to localhost port 80", which misleads.
     */
    private static function socketProblem(string $path): string
    {
        if (!file_exists($path)) {
            return sprintf('connect: %s: No such file or directory', $path);
        }
        if (!is_writable($path)) {
            return sprintf('connect: %s: Permission denied', $path);
        }
        return sprintf('connect: %s: Connection refused', $path);
    }

    /** close drops the kept-alive connection. */
    public function close(): void
    {
        if ($this->handle !== null) {
            curl_close($this->handle);
            $this->handle = null;
        }
    }
}
