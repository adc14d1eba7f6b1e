<?php

declare(strict_types=1);

namespace PhpBridge;

/**
 * WebSocketHandler is what an application implements to handle WebSocket
 * events; Dispatcher::handle() calls it. The methods mirror Swoole's
 * open/message/close callbacks so handlers port with small edits, but each
 * call runs in its own short PHP-FPM request: keep state in groups, uids,
 * sessions ($server->setSession) or your database, never in properties.
 */
interface WebSocketHandler
{
    /**
     * onOpen runs before the handshake completes. Returning accepts the
     * connection; $request->reject() or throwing Exception\Rejected refuses
     * it with an HTTP status. $server->push($request->fd, ...) greets.
     */
    public function onOpen(Server $server, Request $request): void;

    /**
     * onMessage runs once per message of the connection, in order, never
     * two at a time for one connection.
     */
    public function onMessage(Server $server, Frame $frame): void;

    /**
     * onClose runs exactly once per opened connection, after its last
     * message: $code is the close code (1006 when the peer vanished, 1001
     * at shutdown) and $reason the close reason. Pushing to $fd is too late.
     */
    public function onClose(Server $server, int $fd, int $code, string $reason): void;
}
