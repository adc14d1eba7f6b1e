<?php

declare(strict_types=1);

namespace PhpBridge;

/**
 * Environment is everything a WebSocket event hands to PHP: the FastCGI
 * params ($_SERVER), the query and cookies of the upgrade request, and the
 * payload (the request body). Dispatcher reads only from here, so tests and
 * other runtimes can build an event without PHP-FPM.
 */
final class Environment
{
    /** @var \Closure(): string|null reads the body once, lazily */
    private ?\Closure $reader;

    private ?string $input;

    /**
     * @param array<string, mixed> $server the FastCGI params ($_SERVER)
     * @param array<array-key, mixed> $get the query of the upgrade request ($_GET)
     * @param array<array-key, mixed> $cookie the cookies of the upgrade request ($_COOKIE)
     * @param string|\Closure(): string $input the payload, or a function that reads it
     */
    public function __construct(
        public readonly array $server,
        public readonly array $get = [],
        public readonly array $cookie = [],
        string|\Closure $input = '',
    ) {
        if ($input instanceof \Closure) {
            $this->reader = $input;
            $this->input = null;
        } else {
            $this->reader = null;
            $this->input = $input;
        }
    }

    /**
     * fromGlobals is the environment of the running PHP-FPM request. The
     * body is read from php://input only when the event needs it.
     */
    public static function fromGlobals(): self
    {
        return new self(
            $_SERVER,
            $_GET,
            $_COOKIE,
            static fn (): string => (string) file_get_contents('php://input'),
        );
    }

    /**
     * fromServer builds an environment from FastCGI params alone, parsing
     * QUERY_STRING and HTTP_COOKIE the way PHP fills $_GET and $_COOKIE.
     *
     * @param array<string, mixed> $server
     */
    public static function fromServer(array $server, string $input = ''): self
    {
        $get = [];
        parse_str((string) ($server['QUERY_STRING'] ?? ''), $get);
        return new self($server, $get, self::parseCookies((string) ($server['HTTP_COOKIE'] ?? '')), $input);
    }

    /** input is the event's payload (binary-safe). */
    public function input(): string
    {
        if ($this->input === null) {
            $reader = $this->reader;
            $this->input = $reader === null ? '' : $reader();
            $this->reader = null;
        }
        return $this->input;
    }

    /** param returns one FastCGI param as a string, or null when absent. */
    public function param(string $name): ?string
    {
        $value = $this->server[$name] ?? null;
        return is_scalar($value) ? (string) $value : null;
    }

    /**
     * parseCookies splits a Cookie header like PHP does for $_COOKIE:
     * "a=1; b=2", values URL-decoded, the first of duplicate names wins.
     *
     * @return array<string, string>
     */
    private static function parseCookies(string $header): array
    {
        $cookies = [];
        foreach (explode(';', $header) as $pair) {
            $pair = trim($pair);
            if ($pair === '' || !str_contains($pair, '=')) {
                continue;
            }
            [$name, $value] = explode('=', $pair, 2);
            $name = strtr(trim($name), ['.' => '_', ' ' => '_']);
            if ($name !== '' && !array_key_exists($name, $cookies)) {
                $cookies[$name] = urldecode($value);
            }
        }
        return $cookies;
    }
}
