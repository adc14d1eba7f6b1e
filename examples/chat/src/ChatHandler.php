<?php

declare(strict_types=1);

namespace Chat;

use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Server;
use PhpBridge\WebSocketHandler;

/**
 * ChatHandler is the seeds' Swoole chat as a phpbridge handler: each method
 * runs in its own short PHP-FPM request, so nothing is kept in properties;
 * who is in the room lives in the bridge (group "chat"), the nickname in the
 * connection's session (it comes back with every event as WS_SESSION).
 *
 * Every message to the browser is one JSON object (see Messages):
 * presence (join/leave, with the online count), message, announce, error.
 */
final class ChatHandler implements WebSocketHandler
{
    /** GROUP is the room every page joins; /api/announce sends to it too. */
    public const GROUP = 'chat';

    /** MAX_TEXT is the longest chat line accepted, in characters. */
    public const MAX_TEXT = 2000;

    public function onOpen(Server $server, Request $request): void
    {
        $nick = Nick::normalize($request->get['nick'] ?? '');
        if ($nick === null) {
            // Runs before the handshake: the browser gets this 400, no socket.
            $request->reject(400, Nick::RULE);
            return;
        }
        $fd = $request->fd;

        // This connection is registered with the bridge only after onOpen
        // returns, so the count does not include it yet.
        $online = $server->getClientCountByGroup(self::GROUP) + 1;

        // These writes ride on the response and run in this order right
        // after the handshake: the join comes first, so the newcomer gets
        // the presence message too.
        $server->setSession($fd, ['nick' => $nick]);
        $server->bindUid($fd, $nick);
        $server->joinGroup($fd, self::GROUP);
        $server->sendToGroup(self::GROUP, Messages::presence('join', $nick, $online));
    }

    public function onMessage(Server $server, Frame $frame): void
    {
        if ($frame->isBinary()) {
            $server->push($frame->fd, Messages::error('send text, not binary'));
            return;
        }
        $text = Messages::textOf($frame->data);
        if ($text === '') {
            return;
        }
        if (preg_match('/^.{1,' . self::MAX_TEXT . '}$/su', $text) !== 1) {
            $server->push($frame->fd, Messages::error('a message is at most ' . self::MAX_TEXT . ' characters'));
            return;
        }
        // Answered from WS_SESSION: no call to the bridge.
        $nick = $server->getSession($frame->fd)['nick'] ?? '?';
        $server->sendToGroup(self::GROUP, Messages::message($nick, $text));
    }

    public function onClose(Server $server, int $fd, int $code, string $reason): void
    {
        $nick = $server->getSession($fd)['nick'] ?? null;
        if ($nick === null) {
            return;
        }
        // As in GatewayWorker, the closing connection has already left its
        // groups: the count is of those who stay.
        $online = $server->getClientCountByGroup(self::GROUP);
        $server->sendToGroup(self::GROUP, Messages::presence('leave', $nick, $online), Frame::TEXT, [$fd]);
    }
}
