<?php

declare(strict_types=1);

namespace Chat;

/**
 * Messages builds the JSON objects the page understands (public/chat.js):
 *
 *   {"type":"presence","event":"join"|"leave","nick":"…","online":2}
 *   {"type":"message","nick":"…","text":"…","at":1700000000000}
 *   {"type":"announce","text":"…","private":false,"at":1700000000000}
 *   {"type":"error","text":"…"}
 */
final class Messages
{
    public static function presence(string $event, string $nick, int $online): string
    {
        return self::json(['type' => 'presence', 'event' => $event, 'nick' => $nick, 'online' => $online]);
    }

    public static function message(string $nick, string $text): string
    {
        return self::json(['type' => 'message', 'nick' => $nick, 'text' => $text, 'at' => self::now()]);
    }

    public static function announce(string $text, bool $private): string
    {
        return self::json(['type' => 'announce', 'text' => $text, 'private' => $private, 'at' => self::now()]);
    }

    public static function error(string $text): string
    {
        return self::json(['type' => 'error', 'text' => $text]);
    }

    /**
     * textOf reads what a page sent: {"text": "…"} from chat.js, or the
     * frame itself as plain text (websocat, wscat), trimmed.
     */
    public static function textOf(string $data): string
    {
        $decoded = json_decode($data, true);
        if (is_array($decoded)) {
            $text = $decoded['text'] ?? '';
            return is_string($text) ? trim($text) : '';
        }
        return trim($data);
    }

    private static function now(): int
    {
        return (int) floor(microtime(true) * 1000);
    }

    /** @param array<string, mixed> $value */
    private static function json(array $value): string
    {
        return json_encode($value, JSON_THROW_ON_ERROR | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
    }
}
