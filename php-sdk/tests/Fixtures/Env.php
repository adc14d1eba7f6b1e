<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Fixtures;

use PhpBridge\Environment;

/**
 * Env builds the FastCGI params phpbridge sends for each event, as
 * docs/websocket-protocol.md describes them, over a typical upgrade request.
 */
final class Env
{
    public const CONTROL = 'unix:/run/phpbridge/control.sock';
    public const TOKEN = 'test-token-0123456789abcdef';

    /** @return array<string, string> */
    public static function upgrade(): array
    {
        return [
            'REQUEST_METHOD' => 'POST',
            'REQUEST_URI' => '/ws?room=lobby&token=good',
            'QUERY_STRING' => 'room=lobby&token=good',
            'DOCUMENT_URI' => '/ws',
            'SCRIPT_FILENAME' => '/srv/app/ws.php',
            'REMOTE_ADDR' => '203.0.113.7',
            'REMOTE_PORT' => '52100',
            'SERVER_PORT' => '8080',
            'SERVER_PROTOCOL' => 'HTTP/1.1',
            'REQUEST_TIME' => '1767225600',
            'HTTP_HOST' => 'chat.example.com',
            'HTTP_USER_AGENT' => 'Mozilla/5.0',
            'HTTP_COOKIE' => 'laravel_session=abc%3D; theme=dark',
            'HTTP_SEC_WEBSOCKET_PROTOCOL' => 'chat.v2, chat',
            'HTTP_SEC_WEBSOCKET_KEY' => 'dGhlIHNhbXBsZSBub25jZQ==',
            'CONTENT_TYPE' => 'application/octet-stream',
            'PHPBRIDGE_CONTROL' => self::CONTROL,
            'PHPBRIDGE_TOKEN' => self::TOKEN,
        ];
    }

    /** @param array<string, string> $extra */
    public static function open(int $fd, array $extra = []): Environment
    {
        return Environment::fromServer(['WS_EVENT' => 'open', 'WS_FD' => (string) $fd] + $extra + self::upgrade());
    }

    /** @param array<string, string> $extra */
    public static function message(int $fd, string $data, string $opcode = 'text', array $extra = []): Environment
    {
        return Environment::fromServer(
            ['WS_EVENT' => 'message', 'WS_FD' => (string) $fd, 'WS_OPCODE' => $opcode] + $extra + self::upgrade(),
            $data
        );
    }

    /** @param array<string, string> $extra */
    public static function close(int $fd, int $code = 1000, string $reason = '', array $extra = []): Environment
    {
        return Environment::fromServer([
            'WS_EVENT' => 'close',
            'WS_FD' => (string) $fd,
            'WS_CLOSE_CODE' => (string) $code,
            'WS_CLOSE_REASON' => $reason,
        ] + $extra + self::upgrade());
    }
}
