<?php

declare(strict_types=1);

namespace PhpBridge;

use PhpBridge\Exception\PhpBridgeException;

/**
 * Event is one WebSocket event as phpbridge describes it in the FastCGI
 * params (docs/websocket-protocol.md): WS_EVENT, WS_FD, WS_OPCODE,
 * WS_CLOSE_CODE/WS_CLOSE_REASON, and the connection's WS_SESSION/WS_UID.
 */
final class Event
{
    public const OPEN = 'open';
    public const MESSAGE = 'message';
    public const CLOSE = 'close';

    /**
     * @param array<array-key, mixed>|null $session the WS_SESSION object ([] when absent), null when unreadable
     * @param bool $uidKnown whether $uid is authoritative (false only for events built by hand)
     */
    public function __construct(
        public readonly string $type,
        public readonly int $fd,
        public readonly int $opcode = Frame::TEXT,
        public readonly int $closeCode = 0,
        public readonly string $closeReason = '',
        public readonly ?array $session = null,
        public readonly ?string $uid = null,
        public readonly bool $uidKnown = false,
    ) {
    }

    /**
     * fromEnvironment reads the event params. A request without them is not
     * from phpbridge's WebSocket endpoint: the exception says so.
     */
    public static function fromEnvironment(Environment $env): self
    {
        $type = $env->param('WS_EVENT');
        if ($type === null || !in_array($type, [self::OPEN, self::MESSAGE, self::CLOSE], true)) {
            throw new PhpBridgeException(sprintf(
                'This script is phpbridge\'s WebSocket handler (--ws-handler) and runs only for the events'
                . ' phpbridge sends; WS_EVENT is %s. Keep it outside the document root.',
                $type === null ? 'missing' : '"' . substr($type, 0, 20) . '", not open, message or close'
            ));
        }
        $fd = $env->param('WS_FD') ?? '';
        if (preg_match('/^[1-9][0-9]{0,15}$/', $fd) !== 1) {
            throw new PhpBridgeException(sprintf('WS_FD "%s" is not a connection id.', substr($fd, 0, 20)));
        }
        // phpbridge sends WS_SESSION and WS_UID only when the connection has
        // them: absent means none. A session that does not decode is left
        // unknown, and Server asks the control API instead.
        $raw = $env->param('WS_SESSION');
        $decoded = $raw === null || $raw === '' ? [] : json_decode($raw, true);
        $session = is_array($decoded) ? $decoded : null;
        $uid = $env->param('WS_UID');
        return new self(
            $type,
            (int) $fd,
            $env->param('WS_OPCODE') === 'binary' ? Frame::BINARY : Frame::TEXT,
            (int) ($env->param('WS_CLOSE_CODE') ?? 0),
            $env->param('WS_CLOSE_REASON') ?? '',
            $session,
            $uid === '' ? null : $uid,
            true,
        );
    }
}
