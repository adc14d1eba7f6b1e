<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Fixtures;

use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Server;
use PhpBridge\WebSocketHandler;

/**
 * RecordingHandler runs the closures a test gives it and remembers what it
 * was called with.
 */
final class RecordingHandler implements WebSocketHandler
{
    /** @var list<array<int, mixed>> */
    public array $calls = [];

    public function __construct(
        private ?\Closure $open = null,
        private ?\Closure $message = null,
        private ?\Closure $close = null,
    ) {
    }

    public function onOpen(Server $server, Request $request): void
    {
        $this->calls[] = ['open', $request];
        if ($this->open !== null) {
            ($this->open)($server, $request);
        }
    }

    public function onMessage(Server $server, Frame $frame): void
    {
        $this->calls[] = ['message', $frame];
        if ($this->message !== null) {
            ($this->message)($server, $frame);
        }
    }

    public function onClose(Server $server, int $fd, int $code, string $reason): void
    {
        $this->calls[] = ['close', $fd, $code, $reason];
        if ($this->close !== null) {
            ($this->close)($server, $fd, $code, $reason);
        }
    }
}
