<?php

declare(strict_types=1);

namespace PhpBridge\LaravelS;

use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Server;
use PhpBridge\WebSocketHandler;

/**
 * HandlerAdapter lets Dispatcher run a LaravelS-style handler: the calls
 * are the same except onClose, which gets a reactor id (0) instead of the
 * close code and reason.
 */
final class HandlerAdapter implements WebSocketHandler
{
    public function __construct(private readonly WebSocketHandlerInterface $handler)
    {
    }

    public function onOpen(Server $server, Request $request): void
    {
        $this->handler->onOpen($server, $request);
    }

    public function onMessage(Server $server, Frame $frame): void
    {
        $this->handler->onMessage($server, $frame);
    }

    public function onClose(Server $server, int $fd, int $code, string $reason): void
    {
        $this->handler->onClose($server, $fd, 0);
    }
}
