<?php

declare(strict_types=1);

namespace PhpBridge\GatewayWorker;

use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Server;
use PhpBridge\WebSocketHandler;

/**
 * EventsHandler runs a GatewayWorker Events class (static onConnect,
 * onWebSocketConnect, onMessage, onClose; all optional but onMessage) as a
 * phpbridge handler:
 *
 *     Dispatcher::handle(new EventsHandler(Events::class));
 *
 * Client ids are connection ids (ints). $_SESSION works as in
 * GatewayWorker: it holds the connection's session when a callback starts,
 * and changes made to it are saved with the connection afterwards.
 */
final class EventsHandler implements WebSocketHandler
{
    /** @param class-string|object $events the Events class, or an instance */
    public function __construct(private readonly string|object $events)
    {
    }

    public function onOpen(Server $server, Request $request): void
    {
        $this->withSession($server, $request->fd, function () use ($request): void {
            $this->call('onConnect', $request->fd);
            $this->call('onWebSocketConnect', $request->fd, [
                'get' => $request->get,
                'server' => array_change_key_case($request->server, CASE_UPPER),
                'cookie' => $request->cookie,
            ]);
        });
    }

    public function onMessage(Server $server, Frame $frame): void
    {
        $this->withSession($server, $frame->fd, function () use ($frame): void {
            $this->call('onMessage', $frame->fd, $frame->data);
        });
    }

    public function onClose(Server $server, int $fd, int $code, string $reason): void
    {
        $_SESSION = $server->getSession($fd);
        $this->call('onClose', $fd);
    }

    /** withSession exposes the session as $_SESSION around $fn and saves changes. */
    private function withSession(Server $server, int $fd, \Closure $fn): void
    {
        $before = $server->getSession($fd);
        $_SESSION = $before;
        $fn();
        if (is_array($_SESSION) && $_SESSION !== $before) {
            $server->setSession($fd, $_SESSION);
        }
    }

    private function call(string $method, mixed ...$args): void
    {
        if (method_exists($this->events, $method)) {
            is_object($this->events) ? $this->events->$method(...$args) : $this->events::$method(...$args);
        }
    }
}
