<?php

declare(strict_types=1);

/*
 * ws.php is the chat's WebSocket handler (phpbridge --ws-handler). phpbridge
 * holds the sockets; every open, message and close is one short PHP-FPM
 * request to this script, and Dispatcher::handle() turns it into a call of
 * Chat\ChatHandler (src/ChatHandler.php).
 */

require __DIR__ . '/bootstrap.php';

PhpBridge\Dispatcher::handle(new Chat\ChatHandler());
