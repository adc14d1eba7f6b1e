<?php

declare(strict_types=1);

namespace PhpBridge\Control;

use PhpBridge\Frame;

/**
 * Action is one control action ({"op": ..., ...} in docs/control-api.md),
 * kept with its payload as raw bytes so it can become either a JSON action
 * (on the control API or in a handler's envelope) or the plain body of a
 * handler's response, whichever is cheaper.
 *
 * @internal
 */
final class Action
{
    /**
     * @param string $op the operation name ("push", "joinGroup"...)
     * @param array<string, mixed> $target the fields naming who it applies to (fd, fds, group, uid...)
     * @param string|null $payload the message bytes, for operations that send one
     * @param int $opcode Frame::TEXT or Frame::BINARY, for the payload
     * @param array<string, mixed> $extra fields after the payload (exclude, code, session...)
     */
    public function __construct(
        public readonly string $op,
        public readonly array $target = [],
        public readonly ?string $payload = null,
        public readonly int $opcode = Frame::TEXT,
        public readonly array $extra = [],
    ) {
    }

    /**
     * message builds an action that sends $data; text must be UTF-8.
     *
     * @param array<string, mixed> $target
     * @param array<string, mixed> $extra
     */
    public static function message(string $op, array $target, string $data, int $opcode, array $extra = []): self
    {
        if (Check::opcode($opcode) === Frame::TEXT) {
            Check::text($data);
        }
        return new self($op, $target, $data, $opcode, $extra);
    }

    /**
     * toArray is the wire form: op, target fields, then the payload as
     * "data" when it is UTF-8 or "data_base64" otherwise, with "opcode"
     * always spelled out, then the extra fields.
     *
     * @return array<string, mixed>
     */
    public function toArray(): array
    {
        $wire = ['op' => $this->op] + $this->target;
        if ($this->payload !== null) {
            $wire += self::payloadFields($this->payload, $this->opcode);
        }
        return $wire + $this->extra;
    }

    /**
     * payloadFields encodes a message for JSON: "data" for UTF-8 (also for
     * binary messages whose bytes happen to be UTF-8), "data_base64" else.
     *
     * @return array<string, string>
     */
    public static function payloadFields(string $data, int $opcode): array
    {
        $fields = preg_match('//u', $data) === 1 ? ['data' => $data] : ['data_base64' => base64_encode($data)];
        $fields['opcode'] = $opcode === Frame::BINARY ? 'binary' : 'text';
        return $fields;
    }

    /** fd is the single connection the action names, or null. */
    public function fd(): ?int
    {
        if (isset($this->target['fd']) && is_int($this->target['fd'])) {
            return $this->target['fd'];
        }
        if (isset($this->target['fds']) && is_array($this->target['fds']) && count($this->target['fds']) === 1) {
            $only = array_values($this->target['fds'])[0];
            return is_int($only) ? $only : null;
        }
        return null;
    }

    /** is reports whether this is operation $op on connection $fd alone. */
    public function is(string $op, int $fd): bool
    {
        return $this->op === $op && $this->fd() === $fd;
    }

    /** names reports whether the action names connection $fd among others. */
    public function names(int $fd): bool
    {
        if (($this->target['fd'] ?? null) === $fd) {
            return true;
        }
        return in_array($fd, (array) ($this->target['fds'] ?? []), true);
    }

    /**
     * mergeWith joins two consecutive pushes of the same message into one
     * push to both sets of connections, so a loop over fds costs one action;
     * null when they cannot be merged.
     */
    public function mergeWith(self $next): ?self
    {
        if (
            $this->op !== 'push' || $next->op !== 'push' || $this->extra !== [] || $next->extra !== []
            || $this->payload !== $next->payload || $this->opcode !== $next->opcode
        ) {
            return null;
        }
        $mine = self::targetFds($this);
        $theirs = self::targetFds($next);
        if (array_intersect($mine, $theirs) !== []) {
            return null; // the same message twice to one connection is two messages, as in Swoole
        }
        return new self('push', ['fds' => array_merge($mine, $theirs)], $this->payload, $this->opcode);
    }

    /**
     * withoutFd is this action with connection $fd taken out: a push to a
     * list keeps its other targets; anything else naming $fd is dropped
     * (null), as is a push left with no target.
     */
    public function withoutFd(int $fd): ?self
    {
        if (!$this->names($fd)) {
            return $this;
        }
        if ($this->op !== 'push' || !isset($this->target['fds'])) {
            return null;
        }
        $fds = array_values(array_filter(self::targetFds($this), static fn (int $f): bool => $f !== $fd));
        return $fds === [] ? null : new self('push', ['fds' => $fds], $this->payload, $this->opcode, $this->extra);
    }

    /** @return list<int> */
    private static function targetFds(self $a): array
    {
        return isset($a->target['fd']) ? [$a->target['fd']] : array_values((array) ($a->target['fds'] ?? []));
    }
}
