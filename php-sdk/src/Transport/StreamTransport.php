<?php

declare(strict_types=1);

namespace PhpBridge\Transport;

use PhpBridge\Exception\ConnectionException;

/**
 * StreamTransport talks to the control API with PHP's own sockets, for PHP
 * builds without ext-curl: it writes one HTTP/1.1 request per connection
 * ("Connection: close") and reads the answer framed by Content-Length,
 * chunked encoding, or the end of the connection.
 */
final class StreamTransport implements Transport
{
    /** when the current call must be over (microtime), so that a bridge
     * answering in small pieces cannot stretch it past the timeout */
    private float $deadline = 0.0;

    public function __construct(
        private readonly Address $address,
        private readonly float $timeout = 3.0,
    ) {
    }

    public function post(string $path, array $headers, string $body): HttpResponse
    {
        $this->deadline = microtime(true) + $this->timeout;
        $stream = $this->connect();
        try {
            $this->write($stream, $this->encode($path, $headers, $body));
            return $this->read($stream);
        } finally {
            fclose($stream);
        }
    }

    /** @return resource */
    private function connect()
    {
        $errno = 0;
        $error = '';
        $stream = @stream_socket_client(
            $this->address->streamTarget(),
            $errno,
            $error,
            $this->timeout,
            STREAM_CLIENT_CONNECT,
        );
        if ($stream === false) {
            if ($error === '') {
                $error = error_get_last()['message'] ?? 'unknown error';
            }
            throw ConnectionException::unreachable((string) $this->address, sprintf('connect: %s', $error));
        }
        $this->arm($stream);
        return $stream;
    }

    /**
     * arm gives the next read or write what is left of the call's timeout;
     * none left is a timeout.
     *
     * @param resource $stream
     */
    private function arm($stream): void
    {
        $left = $this->deadline - microtime(true);
        if ($left <= 0) {
            throw ConnectionException::timeout((string) $this->address, $this->timeout);
        }
        $seconds = (int) floor($left);
        stream_set_timeout($stream, $seconds, max(1, (int) (($left - $seconds) * 1_000_000)));
    }

    /** @param array<string, string> $headers */
    private function encode(string $path, array $headers, string $body): string
    {
        $head = 'POST ' . $path . " HTTP/1.1\r\nHost: " . $this->address->hostHeader() . "\r\n";
        foreach ($headers as $name => $value) {
            $head .= $name . ': ' . $value . "\r\n";
        }
        return $head . 'Content-Length: ' . strlen($body) . "\r\nConnection: close\r\n\r\n" . $body;
    }

    /** @param resource $stream */
    private function write($stream, string $data): void
    {
        while ($data !== '') {
            $this->arm($stream);
            $n = @fwrite($stream, $data);
            if ($n === false || $n === 0) {
                $this->failed($stream, 'write');
            }
            $data = substr($data, $n);
        }
    }

    /** @param resource $stream */
    private function read($stream): HttpResponse
    {
        $statusLine = $this->line($stream);
        if (preg_match('#^HTTP/1\.[01] (\d{3})#', $statusLine, $m) !== 1) {
            throw ConnectionException::unreachable(
                (string) $this->address,
                sprintf('not an HTTP answer: "%s"', substr(trim($statusLine), 0, 80))
            );
        }
        $headers = [];
        while (($line = $this->line($stream)) !== "\r\n" && $line !== "\n") {
            $parts = explode(':', $line, 2);
            if (count($parts) === 2) {
                $name = strtolower(trim($parts[0]));
                $value = trim($parts[1]);
                $headers[$name] = isset($headers[$name]) ? $headers[$name] . ', ' . $value : $value;
            }
        }
        if (str_contains(strtolower($headers['transfer-encoding'] ?? ''), 'chunked')) {
            $body = $this->chunked($stream);
        } elseif (isset($headers['content-length'])) {
            $body = $this->exactly($stream, (int) $headers['content-length']);
        } else {
            $body = $this->rest($stream);
        }
        return new HttpResponse((int) $m[1], $headers, $body);
    }

    /** @param resource $stream */
    private function chunked($stream): string
    {
        $body = '';
        while (true) {
            $hex = trim(explode(';', $this->line($stream), 2)[0]);
            if (preg_match('/^[0-9a-fA-F]{1,8}$/', $hex) !== 1) {
                $this->failed($stream, 'read', sprintf('bad chunk size "%s"', substr($hex, 0, 20)));
            }
            $size = (int) hexdec($hex);
            if ($size === 0) {
                while (!in_array($this->line($stream), ["\r\n", "\n"], true)) {
                    // trailers, ignored
                }
                return $body;
            }
            $body .= $this->exactly($stream, $size);
            $this->line($stream);
        }
    }

    /** @param resource $stream */
    private function line($stream): string
    {
        $this->arm($stream);
        $line = fgets($stream);
        if ($line === false) {
            $this->failed($stream, 'read');
        }
        return $line;
    }

    /** @param resource $stream */
    private function exactly($stream, int $length): string
    {
        $data = '';
        while (strlen($data) < $length) {
            $this->arm($stream);
            $chunk = fread($stream, $length - strlen($data));
            if ($chunk === false || ($chunk === '' && (feof($stream) || $this->timedOut($stream)))) {
                $this->failed($stream, 'read');
            }
            $data .= $chunk;
        }
        return $data;
    }

    /** @param resource $stream */
    private function rest($stream): string
    {
        $data = '';
        while (!feof($stream)) {
            $this->arm($stream);
            $chunk = fread($stream, 65536);
            if ($chunk === false || ($chunk === '' && $this->timedOut($stream))) {
                $this->failed($stream, 'read');
            }
            $data .= $chunk;
        }
        return $data;
    }

    /** @param resource $stream */
    private function timedOut($stream): bool
    {
        return (bool) (stream_get_meta_data($stream)['timed_out'] ?? false);
    }

    /** @param resource $stream */
    private function failed(
        $stream,
        string $what,
        string $why = 'the connection closed before a complete answer',
    ): never {
        if ($this->timedOut($stream)) {
            throw ConnectionException::timeout((string) $this->address, $this->timeout);
        }
        throw ConnectionException::unreachable((string) $this->address, sprintf('%s: %s', $what, $why));
    }
}
