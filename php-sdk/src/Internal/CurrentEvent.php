<?php

declare(strict_types=1);

namespace PhpBridge\Internal;

use PhpBridge\Control\Action;
use PhpBridge\Event;
use PhpBridge\Request;

/**
 * CurrentEvent is the event PHP-FPM is running the handler for. While it is
 * active, every Server aimed at the same bridge (the one passed to the
 * handler, Server::fromEnvironment() in a service, the Laravel singleton,
 * the Gateway facade) queues its writes on the event's Envelope instead of
 * calling the control API, and answers a few questions about the event's
 * own connection locally (its session, its uid) without a round trip.
 *
 * One FPM request runs one event, so a single static slot is enough.
 *
 * @internal
 */
final class CurrentEvent
{
    /** MESSAGE_OPS send messages and change no state a query could see. */
    private const MESSAGE_OPS = ['push', 'broadcast', 'sendToGroup', 'sendToUid'];

    private static ?self $active = null;

    /** @var array<array-key, mixed>|null */
    private ?array $session;

    private ?string $uid;

    private bool $uidKnown;

    /**
     * @param string|null $address the control address of the event (canonical), null when unknown
     */
    public function __construct(
        public readonly Event $event,
        public readonly Envelope $envelope,
        public readonly ?string $address,
        public readonly ?Request $request = null,
    ) {
        $this->session = $event->session;
        $this->uid = $event->uid;
        $this->uidKnown = $event->uidKnown;
    }

    /** active is the running event, or null outside a handler. */
    public static function active(): ?self
    {
        return self::$active;
    }

    /**
     * run makes $event the active one while $fn runs.
     *
     * @template T
     * @param callable(): T $fn
     * @return T
     */
    public static function run(self $event, callable $fn): mixed
    {
        $previous = self::$active;
        self::$active = $event;
        try {
            return $fn();
        } finally {
            self::$active = $previous;
        }
    }

    /** fd is the connection of the event. */
    public function fd(): int
    {
        return $this->event->fd;
    }

    /**
     * record queues a write and keeps track of what it does to this
     * connection's session and uid.
     */
    public function record(Action $action): void
    {
        $this->envelope->add($action);
        if ($action->fd() !== $this->fd()) {
            return;
        }
        $session = $action->extra['session'] ?? null;
        if ($action->op === 'setSession') {
            $this->session = (array) $session;
        } elseif ($action->op === 'updateSession' && $this->session !== null) {
            $this->session = array_replace($this->session, (array) $session);
        } elseif ($action->op === 'bindUid') {
            $this->uid = (string) $action->target['uid'];
            $this->uidKnown = true;
        } elseif ($action->op === 'unbindUid' && $this->uidKnown && $this->uid === $action->target['uid']) {
            $this->uid = null;
        }
    }

    /**
     * flushable takes the queued writes a query must not overtake: in
     * message and close events, everything up to the last write that
     * changes state (groups, uids, sessions, a disconnect), so the query
     * sees its effect; messages queued after it stay on the response. In
     * open nothing is taken: the connection exists for the bridge only once
     * the handshake completes, so its writes must ride on the response.
     *
     * @return list<Action>
     */
    public function flushable(): array
    {
        if ($this->event->type === Event::OPEN) {
            return [];
        }
        return $this->envelope->takeThroughLast(
            static fn (Action $a): bool => !in_array($a->op, self::MESSAGE_OPS, true)
        );
    }

    /**
     * requeue puts back, in front, actions taken by flushable() that never
     * reached the bridge.
     *
     * @param list<Action> $actions
     */
    public function requeue(array $actions): void
    {
        $this->envelope->prepend($actions);
    }

    /**
     * session is this connection's session as the handler left it, or null
     * when the bridge did not send WS_SESSION and the SDK must ask.
     *
     * @return array<array-key, mixed>|null
     */
    public function session(): ?array
    {
        return $this->session;
    }

    /** uidKnown reports whether uid() is authoritative. */
    public function uidKnown(): bool
    {
        return $this->uidKnown;
    }

    /** uid is the uid bound to this connection, when uidKnown(). */
    public function uid(): ?string
    {
        return $this->uid;
    }
}
