<?php

declare(strict_types=1);

namespace PhpBridge\Internal;

use PhpBridge\Control\Action;
use PhpBridge\Frame;
use PhpBridge\Response;

/**
 * Envelope collects what a handler does while it runs and turns it into
 * the response phpbridge reads (docs/control-api.md, "Actions on a
 * handler's response"): a plain body when the handler only replied (and
 * perhaps closed), which costs the bridge no JSON at all; otherwise the
 * application/vnd.phpbridge+json envelope, whose actions the bridge runs in
 * the order the handler did them.
 *
 * @internal
 */
final class Envelope
{
    /** @var list<Action> */
    private array $actions = [];

    /** @param int $fd the connection of the event */
    public function __construct(private readonly int $fd)
    {
    }

    /**
     * add queues an action; a push of the same message as the previous push
     * joins it (a loop pushing to many fds becomes one action). Pushes to
     * the event's own connection stay apart so they can be the reply.
     */
    public function add(Action $action): void
    {
        $last = count($this->actions) - 1;
        if ($last >= 0 && !$this->actions[$last]->names($this->fd) && !$action->names($this->fd)) {
            $merged = $this->actions[$last]->mergeWith($action);
            if ($merged !== null) {
                $this->actions[$last] = $merged;
                return;
            }
        }
        $this->actions[] = $action;
    }

    /**
     * take removes and returns the queued actions, for sending them on the
     * control API instead.
     *
     * @return list<Action>
     */
    public function take(): array
    {
        $actions = $this->actions;
        $this->actions = [];
        return $actions;
    }

    /**
     * takeThroughLast removes and returns the queued actions up to and
     * including the last one $matches accepts (none when none does), so
     * what stays queued still runs after what was taken, in order.
     *
     * @param callable(Action): bool $matches
     * @return list<Action>
     */
    public function takeThroughLast(callable $matches): array
    {
        for ($i = count($this->actions) - 1; $i >= 0; $i--) {
            if ($matches($this->actions[$i])) {
                $taken = array_slice($this->actions, 0, $i + 1);
                $this->actions = array_slice($this->actions, $i + 1);
                return $taken;
            }
        }
        return [];
    }

    /**
     * prepend queues $actions before the ones queued now (they were taken
     * to be sent and came back unsent).
     *
     * @param list<Action> $actions
     */
    public function prepend(array $actions): void
    {
        $this->actions = [...$actions, ...$this->actions];
    }

    /**
     * takeWhere removes and returns the queued actions $keep accepts.
     *
     * @param callable(Action): bool $keep
     * @return list<Action>
     */
    public function takeWhere(callable $keep): array
    {
        $taken = [];
        $left = [];
        foreach ($this->actions as $action) {
            if ($keep($action)) {
                $taken[] = $action;
            } else {
                $left[] = $action;
            }
        }
        $this->actions = $left;
        return $taken;
    }

    /** @return list<Action> */
    public function actions(): array
    {
        return $this->actions;
    }

    /**
     * render builds the response: status 200 with the reply and actions.
     *
     * @param array<string, string> $headers headers to add (Sec-WebSocket-Protocol)
     */
    public function render(array $headers = []): Response
    {
        $actions = $this->actions;
        $plain = $this->plain($actions);
        if ($plain !== null) {
            [$reply, $close] = $plain;
            if ($reply !== null) {
                $headers['X-Phpbridge-Opcode'] = $reply->opcode === Frame::BINARY ? 'binary' : 'text';
            }
            if ($close !== null) {
                $headers['X-Phpbridge-Close'] = self::closeHeader($close);
            }
            return new Response(200, $headers, $reply === null ? '' : (string) $reply->payload);
        }
        // A close of this connection as the last thing done rides on the
        // X-Phpbridge-Close header, which phpbridge applies after the reply
        // and the actions: the same order, and every sendable close code.
        $last = $actions[count($actions) - 1];
        if ($last->is('disconnect', $this->fd)) {
            array_pop($actions);
            $headers['X-Phpbridge-Close'] = self::closeHeader($last);
        }
        $envelope = [];
        // An empty message to this connection stays a push action: phpbridge
        // sends nothing for an empty reply.
        if ($actions !== [] && $actions[0]->is('push', $this->fd) && $actions[0]->payload !== '') {
            $reply = array_shift($actions);
            $envelope['reply'] = Action::payloadFields((string) $reply->payload, $reply->opcode);
        }
        if ($actions !== []) {
            $envelope['actions'] = array_map(static fn (Action $a): array => $a->toArray(), $actions);
        }
        $headers = ['Content-Type' => Response::ENVELOPE] + $headers;
        return new Response(200, $headers, json_encode(
            $envelope,
            JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR,
        ));
    }

    /** closeHeader is the X-Phpbridge-Close value of a disconnect: "<code> [reason]". */
    private static function closeHeader(Action $close): string
    {
        $code = (int) ($close->extra['code'] ?? 1000);
        $reason = (string) ($close->extra['reason'] ?? '');
        return $reason === '' ? (string) $code : $code . ' ' . $reason;
    }

    /**
     * plain finds the cheap cases: nothing; one non-empty reply; a close of
     * this connection; a reply then that close. It returns [reply, close]
     * or null when an envelope is needed.
     *
     * @param list<Action> $actions
     * @return array{0: ?Action, 1: ?Action}|null
     */
    private function plain(array $actions): ?array
    {
        $reply = null;
        $close = null;
        if ($actions !== [] && $actions[0]->is('push', $this->fd)) {
            $reply = array_shift($actions);
            if ($reply->payload === '') {
                return null;
            }
        }
        if ($actions !== [] && $actions[0]->is('disconnect', $this->fd)) {
            $close = array_shift($actions);
        }
        return $actions === [] ? [$reply, $close] : null;
    }
}
