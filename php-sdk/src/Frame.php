<?php

declare(strict_types=1);

namespace PhpBridge;

/**
 * Frame is one WebSocket message, shaped like Swoole\WebSocket\Frame so
 * handler code reading $frame->fd, ->data and ->opcode ports unchanged.
 * The bridge reassembles fragments, so a Frame is always a whole message
 * and $finish is always true.
 */
final class Frame
{
    /** TEXT is the opcode of a text message (Swoole's WEBSOCKET_OPCODE_TEXT). */
    public const TEXT = 1;
    /** BINARY is the opcode of a binary message (Swoole's WEBSOCKET_OPCODE_BINARY). */
    public const BINARY = 2;

    /**
     * @param int $fd the connection id (WS_FD)
     * @param string $data the message: UTF-8 for TEXT, any bytes for BINARY
     * @param int $opcode self::TEXT or self::BINARY
     * @param bool $finish always true: messages arrive whole
     */
    public function __construct(
        public readonly int $fd,
        public readonly string $data,
        public readonly int $opcode = self::TEXT,
        public readonly bool $finish = true,
    ) {
    }

    /** isBinary tells a binary message from a text one. */
    public function isBinary(): bool
    {
        return $this->opcode === self::BINARY;
    }
}
