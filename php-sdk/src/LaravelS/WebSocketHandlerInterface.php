<?php

declare(strict_types=1);

namespace PhpBridge\LaravelS;

use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Server;

/**
 * WebSocketHandlerInterface has the methods of LaravelS's
 * Hhxsv5\LaravelS\Swoole\WebSocketHandlerInterface, so a handler written
 * for LaravelS only changes its use lines:
 *
 *     use PhpBridge\LaravelS\WebSocketHandlerInterface;
 *     use PhpBridge\Frame;
 *     use PhpBridge\Request;
 *     use PhpBridge\Server;
 *
 * and ws.php runs it with Dispatcher::handle(). Return types are left open
 * (as in LaravelS) so existing signatures, with or without ": void", fit.
 */
interface WebSocketHandlerInterface
{
    /** onOpen runs before the handshake completes; see PhpBridge\WebSocketHandler::onOpen. */
    public function onOpen(Server $server, Request $request);

    /** onMessage runs once per message, in order. */
    public function onMessage(Server $server, Frame $frame);

    /**
     * onClose runs once per opened connection. $reactorId is always 0: no
     * Swoole reactor exists here. For the close code and reason, implement
     * PhpBridge\WebSocketHandler instead.
     *
     * @param int $fd
     * @param int $reactorId
     */
    public function onClose(Server $server, $fd, $reactorId);
}
