<?php

declare(strict_types=1);

namespace PhpBridge\Control;

use PhpBridge\Exception\InvalidPayloadException;
use PhpBridge\Frame;

/**
 * Check validates what callers pass before anything is sent, so a mistake
 * surfaces at the line that made it, with a message that says what is
 * expected, instead of as a 400 from the bridge or a silently lost push.
 *
 * @internal
 */
final class Check
{
    /** MAX_FD is 2^53 - 1: connection ids stay exact as JSON numbers. */
    public const MAX_FD = 9007199254740991;

    /**
     * fd accepts a connection id as an int or a decimal string (ids stored
     * in Redis or a database come back as strings).
     */
    public static function fd(mixed $fd): int
    {
        if (is_string($fd) && preg_match('/^[0-9]{1,16}$/', $fd) === 1) {
            $fd = (int) $fd;
        }
        if (!is_int($fd) || $fd < 1 || $fd > self::MAX_FD) {
            throw new InvalidPayloadException(sprintf(
                'A connection id (fd) is a positive integer below 2^53 (the WS_FD phpbridge gave the'
                . ' connection: $request->fd, $frame->fd), got %s.',
                self::describe($fd)
            ));
        }
        return $fd;
    }

    /**
     * fds validates a list of connection ids, dropping duplicates.
     *
     * @param iterable<mixed> $fds
     * @return list<int>
     */
    public static function fds(iterable $fds): array
    {
        $out = [];
        foreach ($fds as $fd) {
            $out[self::fd($fd)] = true;
        }
        return array_keys($out);
    }

    /** group accepts a non-empty group name. */
    public static function group(mixed $group): string
    {
        if (is_int($group)) {
            $group = (string) $group;
        }
        if (!is_string($group) || $group === '' || preg_match('//u', $group) !== 1) {
            throw new InvalidPayloadException(sprintf(
                'A group name is a non-empty UTF-8 string, got %s.',
                self::describe($group)
            ));
        }
        return $group;
    }

    /**
     * groups validates one or several group names.
     *
     * @return list<string>
     */
    public static function groups(mixed $groups): array
    {
        if (!is_array($groups)) {
            return [self::group($groups)];
        }
        if ($groups === []) {
            throw new InvalidPayloadException('The list of groups is empty; name at least one group.');
        }
        return array_values(array_unique(array_map([self::class, 'group'], $groups)));
    }

    /** uid accepts a user id as a non-empty string or an int (sent as a string). */
    public static function uid(mixed $uid): string
    {
        if (is_int($uid)) {
            $uid = (string) $uid;
        }
        if (!is_string($uid) || $uid === '' || preg_match('//u', $uid) !== 1) {
            throw new InvalidPayloadException(sprintf(
                'A uid is a non-empty UTF-8 string or an integer (your user id), got %s.',
                self::describe($uid)
            ));
        }
        return $uid;
    }

    /**
     * uids validates one or several user ids.
     *
     * @return list<string>
     */
    public static function uids(mixed $uids): array
    {
        if (!is_array($uids)) {
            return [self::uid($uids)];
        }
        if ($uids === []) {
            throw new InvalidPayloadException('The list of uids is empty; name at least one uid.');
        }
        return array_values(array_unique(array_map([self::class, 'uid'], $uids)));
    }

    /**
     * session accepts data that survives JSON: phpbridge stores sessions as
     * JSON objects and hands them back as WS_SESSION.
     *
     * @param array<array-key, mixed> $session
     */
    public static function session(array $session): object
    {
        try {
            json_encode($session, JSON_THROW_ON_ERROR | JSON_PRESERVE_ZERO_FRACTION);
        } catch (\JsonException $e) {
            throw new InvalidPayloadException(sprintf(
                'A session must be JSON-encodable (UTF-8 strings, numbers, booleans, arrays; no objects with'
                . ' state or resources): %s.',
                $e->getMessage()
            ));
        }
        return (object) $session;
    }

    /** opcode accepts Frame::TEXT or Frame::BINARY. */
    public static function opcode(int $opcode): int
    {
        if ($opcode !== Frame::TEXT && $opcode !== Frame::BINARY) {
            throw new InvalidPayloadException(sprintf(
                'The opcode is Frame::TEXT (1) or Frame::BINARY (2), got %d.',
                $opcode
            ));
        }
        return $opcode;
    }

    /** text requires a text message to be UTF-8, as RFC 6455 does. */
    public static function text(string $data): string
    {
        if (preg_match('//u', $data) !== 1) {
            throw new InvalidPayloadException(
                'A text message must be valid UTF-8 (browsers close the connection with 1007 otherwise).'
                . ' Send bytes as a binary message: push($fd, $data, Frame::BINARY); or convert the text'
                . ' first, e.g. mb_convert_encoding($data, \'UTF-8\', \'GBK\').'
            );
        }
        return $data;
    }

    /**
     * closeCode accepts the codes a server may send in a close frame:
     * 1000-1003, 1007-1014 and 3000-4999 (RFC 6455 section 7.4).
     */
    public static function closeCode(int $code): int
    {
        if (($code >= 1000 && $code <= 1003) || ($code >= 1007 && $code <= 1014) || ($code >= 3000 && $code <= 4999)) {
            return $code;
        }
        throw new InvalidPayloadException(sprintf(
            'Close code %d cannot be sent (1005, 1006 and 1015 only describe a close); use 1000 (normal),'
            . ' 1001 (going away), 1008 (policy violation) or an application code from 3000 to 4999.',
            $code
        ));
    }

    /**
     * closeReason makes a reason fit a close frame and a header: UTF-8, no
     * control characters, at most 123 bytes cut at a character boundary.
     */
    public static function closeReason(string $reason): string
    {
        if (preg_match('//u', $reason) !== 1) {
            throw new InvalidPayloadException('A close reason must be valid UTF-8.');
        }
        $reason = (string) preg_replace('/[\x00-\x1f\x7f]+/', ' ', $reason);
        if (strlen($reason) <= 123) {
            return $reason;
        }
        $cut = 123;
        while ($cut > 0 && (ord($reason[$cut]) & 0xC0) === 0x80) {
            $cut--;
        }
        return substr($reason, 0, $cut);
    }

    private static function describe(mixed $value): string
    {
        return match (true) {
            is_string($value) => '"' . (strlen($value) > 40 ? substr($value, 0, 40) . '...' : $value) . '"',
            is_int($value), is_float($value) => (string) $value,
            is_bool($value) => $value ? 'true' : 'false',
            $value === null => 'null',
            default => get_debug_type($value),
        };
    }
}
