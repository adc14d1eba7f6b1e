<?php

declare(strict_types=1);

namespace Chat;

use PhpBridge\Server;

/**
 * Announce is POST /api/announce: an ordinary PHP-FPM request (a
 * controller, not a WebSocket event) that pushes to every open chat page
 * through phpbridge's control API — what "Target class [swoole] does not
 * exist" stops a LaravelS controller from doing.
 *
 * Fields (form or JSON): message (required, at most 500 characters) and to
 * (optional nickname: only that person's pages get it, via sendToUid).
 * A real application puts this behind its own authentication.
 */
final class Announce
{
    public const MAX = 500;

    /**
     * handle validates the input and pushes; it returns the HTTP status and
     * the JSON answer. The SDK's PhpBridgeException (bridge unreachable,
     * wrong token) is left to the caller.
     *
     * @param array<string, mixed> $input
     * @return array{0: int, 1: array<string, mixed>}
     */
    public static function handle(Server $server, array $input): array
    {
        $message = $input['message'] ?? null;
        $message = is_string($message) ? trim($message) : '';
        if (preg_match('/^.{1,' . self::MAX . '}$/su', $message) !== 1) {
            return [422, ['ok' => false, 'error' => 'message: 1 to ' . self::MAX . ' characters of UTF-8 text']];
        }
        $to = null;
        if (isset($input['to']) && $input['to'] !== '') {
            $to = Nick::normalize($input['to']);
            if ($to === null) {
                return [422, ['ok' => false, 'error' => 'to: ' . Nick::RULE]];
            }
        }
        if ($to !== null) {
            // Pages bind their nickname as uid in ChatHandler::onOpen.
            $delivered = $server->sendToUid($to, Messages::announce($message, true));
            return [200, ['ok' => true, 'delivered' => $delivered, 'to' => $to]];
        }
        $delivered = $server->sendToGroup(ChatHandler::GROUP, Messages::announce($message, false));
        return [200, [
            'ok' => true,
            'delivered' => $delivered,
            'online' => $server->getClientCountByGroup(ChatHandler::GROUP),
        ]];
    }
}
