<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Fixtures;

use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Server;
use PhpBridge\WebSocketHandler;

/**
 * ChatHandler is the seeds' chat as a phpbridge handler: authentication at
 * the handshake, a lobby group, fan-out, an online count and a kick.
 */
final class ChatHandler implements WebSocketHandler
{
    public function onOpen(Server $server, Request $request): void
    {
        if (($request->cookie['session'] ?? '') === 'legacy') {
            die('unauthorized'); // old auth code that ends the request itself
        }
        if (($request->cookie['session'] ?? '') !== 'valid') {
            $request->reject(401, 'log in first');
            return;
        }
        $request->acceptProtocol('chat');
        setcookie('seen', '1');
        $server->push($request->fd, 'welcome');
        $server->joinGroup($request->fd, 'lobby');
    }

    public function onMessage(Server $server, Frame $frame): void
    {
        echo "debug output that must not reach the client\n";
        if ($frame->data === 'dd') {
            $server->joinGroup($frame->fd, 'debuggers');
            var_dump(['dumped' => true]); // what dd() does: dump, then exit
            exit;
        }
        if ($frame->data === 'count') {
            $server->push($frame->fd, 'online: ' . $server->getClientCountByGroup('lobby'));
            return;
        }
        if ($frame->data === 'bye') {
            $server->push($frame->fd, 'bye');
            $server->disconnect($frame->fd, 4000, 'asked to leave');
            return;
        }
        if ($frame->opcode === Frame::BINARY) {
            $server->push($frame->fd, strrev($frame->data), Frame::BINARY);
            return;
        }
        $server->sendToGroup('lobby', $frame->data, Frame::TEXT, [$frame->fd]);
    }

    public function onClose(Server $server, int $fd, int $code, string $reason): void
    {
        $server->sendToGroup('lobby', "$fd left ($code)");
    }
}
