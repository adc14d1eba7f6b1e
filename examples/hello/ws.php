<?php

declare(strict_types=1);

// The demo's WebSocket handler: every event is one short PHP-FPM request
// (see docs/websocket-protocol.md). It greets on open and echoes messages.
$event = $_SERVER['WS_EVENT'] ?? '';
$fd = $_SERVER['WS_FD'] ?? '?';
$payload = (string) file_get_contents('php://input');

switch ($event) {
    case 'open':
        echo "welcome, connection #$fd";
        break;
    case 'message':
        echo "echo: $payload";
        break;
    case 'close':
        error_log("connection #$fd closed with code " . ($_SERVER['WS_CLOSE_CODE'] ?? '?'));
        break;
}
