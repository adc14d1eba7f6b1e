<?php

declare(strict_types=1);

namespace PhpBridge\Control;

use PhpBridge\Exception\ActionFailedException;

/**
 * Result reads one action's result ({"ok": true, ...} or {"ok": false,
 * "error": ...}) the way Swoole and GatewayWorker report outcomes: "not
 * found" (a connection that is gone) is a falsy answer, any other error is
 * an exception that names it.
 *
 * @internal
 */
final class Result
{
    /**
     * ok is true for ok, false for "not found", and throws otherwise.
     *
     * @param array<string, mixed> $result
     */
    public static function ok(array $result, string $op): bool
    {
        if (($result['ok'] ?? false) === true) {
            return true;
        }
        $error = (string) ($result['error'] ?? 'no error given');
        if ($error === 'not found') {
            return false;
        }
        throw ActionFailedException::fromResult($op, $error);
    }

    /**
     * sent is how many connections got a message (all of them when the
     * bridge does not say).
     *
     * @param array<string, mixed> $result
     */
    public static function sent(array $result): int
    {
        return isset($result['sent']) ? (int) $result['sent'] : PHP_INT_MAX;
    }

    /** @param array<string, mixed> $result */
    public static function count(array $result, string $op): int
    {
        return self::ok($result, $op) ? (int) ($result['count'] ?? 0) : 0;
    }

    /**
     * @param array<string, mixed> $result
     * @return list<int>
     */
    public static function fds(array $result, string $op): array
    {
        if (!self::ok($result, $op) || !is_array($result['fds'] ?? null)) {
            return [];
        }
        return array_values(array_map('intval', $result['fds']));
    }
}
