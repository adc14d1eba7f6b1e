<?php

declare(strict_types=1);

namespace PhpBridge\Transport;

use PhpBridge\Exception\ConfigurationException;

/**
 * Address is the control API's address in phpbridge's own notation
 * (--control): "unix:/path/to.sock" or "host:port" ("tcp:host:port" and
 * "[::1]:port" too). A bare absolute path is taken as a unix socket, since
 * that is what people paste from `ls`.
 */
final class Address
{
    private function __construct(
        public readonly bool $unix,
        public readonly string $path,
        public readonly string $host,
        public readonly int $port,
    ) {
    }

    /** parse reads an address; a malformed one throws with the accepted forms. */
    public static function parse(string $address): self
    {
        $address = trim($address);
        if (str_starts_with($address, 'unix://')) {
            $address = 'unix:' . substr($address, 7);
        }
        if (str_starts_with($address, '/')) {
            $address = 'unix:' . $address;
        }
        if (str_starts_with($address, 'unix:')) {
            $path = substr($address, 5);
            if ($path === '') {
                throw self::invalid($address);
            }
            return new self(true, $path, '', 0);
        }
        foreach (['tcp://', 'tcp:', 'http://'] as $prefix) {
            if (str_starts_with($address, $prefix)) {
                $address = rtrim(substr($address, strlen($prefix)), '/');
                break;
            }
        }
        if (preg_match('/^(\[[0-9a-fA-F:.]+\]|[^\s:\/\[\]]+):([0-9]{1,5})$/', $address, $m) !== 1) {
            throw self::invalid($address);
        }
        $port = (int) $m[2];
        if ($port < 1 || $port > 65535) {
            throw self::invalid($address);
        }
        return new self(false, '', $m[1], $port);
    }

    /** __toString is the canonical form, as phpbridge's --control spells it. */
    public function __toString(): string
    {
        return $this->unix ? 'unix:' . $this->path : $this->host . ':' . $this->port;
    }

    /** url is the request URL of $path: "localhost" for a unix socket. */
    public function url(string $path): string
    {
        return 'http://' . $this->hostHeader() . $path;
    }

    /** hostHeader is the Host header: the socket has no host name. */
    public function hostHeader(): string
    {
        return $this->unix ? 'localhost' : $this->host . ':' . $this->port;
    }

    /** streamTarget is the address for stream_socket_client(). */
    public function streamTarget(): string
    {
        return $this->unix ? 'unix://' . $this->path : 'tcp://' . $this->host . ':' . $this->port;
    }

    private static function invalid(string $address): ConfigurationException
    {
        return new ConfigurationException(sprintf(
            'The phpbridge control address "%s" is neither "unix:/path/to.sock" nor "host:port" (e.g.'
            . ' "127.0.0.1:7070"); set PHPBRIDGE_CONTROL (or the Server address) to phpbridge\'s --control value.',
            $address
        ));
    }
}
