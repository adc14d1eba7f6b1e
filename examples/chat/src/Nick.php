<?php

declare(strict_types=1);

namespace Chat;

/** Nick checks the nickname a page connects with (?nick=…). */
final class Nick
{
    /** RULE is what a refused page is told. */
    public const RULE = 'choose a nickname of 1 to 24 characters (letters, digits, spaces, punctuation)';

    /**
     * normalize trims and collapses white space; it returns null for an
     * empty or too long name, invalid UTF-8 or control characters.
     */
    public static function normalize(mixed $nick): ?string
    {
        if (!is_string($nick)) {
            return null;
        }
        $nick = preg_replace('/\s+/u', ' ', trim($nick));
        if ($nick === null || preg_match('/^[^\p{C}]{1,24}$/u', $nick) !== 1) {
            return null;
        }
        return $nick;
    }
}
