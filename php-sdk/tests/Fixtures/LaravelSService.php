<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Fixtures;

use PhpBridge\LaravelS\WebSocketHandlerInterface;
use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Server;

/**
 * LaravelSService is the WebSocketService of the seeds' LaravelS tutorial
 * with only its use lines changed (Log calls replaced by a static log).
 */
class LaravelSService implements WebSocketHandlerInterface
{
    /** @var list<string> */
    public static array $log = [];

    public function __construct()
    {
    }

    // 连接建立时触发
    public function onOpen(Server $server, Request $request)
    {
        self::$log[] = 'WebSocket 连接建立';
        $server->push($request->fd, 'Welcome to WebSocket Server built on LaravelS');
    }

    // 收到消息时触发
    public function onMessage(Server $server, Frame $frame)
    {
        $server->push($frame->fd, 'This is a message sent from WebSocket Server at 2019-05-22 13:55:02');
        foreach ($server->connections as $fd) {
            if ($fd !== $frame->fd && $server->isEstablished($fd)) {
                $server->push($fd, $frame->data);
            }
        }
    }

    // 关闭连接时触发
    public function onClose(Server $server, $fd, $reactorId)
    {
        self::$log[] = "WebSocket 连接关闭 $fd $reactorId";
    }
}
