<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Fixtures;

use PhpBridge\Gateway;

/**
 * Events is a GatewayWorker Events class as people write them: static
 * callbacks using Gateway and $_SESSION.
 */
final class Events
{
    /** @var list<string> */
    public static array $log = [];

    public static function onConnect(int $clientId): void
    {
        self::$log[] = "connect $clientId";
    }

    /** @param array{get: array<string, mixed>, server: array<string, mixed>, cookie: array<string, mixed>} $data */
    public static function onWebSocketConnect(int $clientId, array $data): void
    {
        self::$log[] = 'ws-connect ' . ($data['get']['room'] ?? '-') . ' ' . ($data['server']['REQUEST_URI'] ?? '-');
        if (($data['get']['token'] ?? '') !== 'good') {
            Gateway::closeCurrentClient();
            return;
        }
        $_SESSION['room'] = $data['get']['room'];
        Gateway::joinGroup($clientId, $data['get']['room']);
    }

    public static function onMessage(int $clientId, string $message): void
    {
        self::$log[] = "message $clientId $message room=" . ($_SESSION['room'] ?? '-');
        $_SESSION['count'] = ($_SESSION['count'] ?? 0) + 1;
        Gateway::sendToGroup($_SESSION['room'], $message, [$clientId]);
        Gateway::sendToCurrentClient('sent');
    }

    public static function onClose(int $clientId): void
    {
        self::$log[] = "close $clientId room=" . ($_SESSION['room'] ?? '-');
        Gateway::sendToGroup($_SESSION['room'] ?? 'lobby', "$clientId left");
    }
}
