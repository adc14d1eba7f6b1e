<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * AuthenticationException means the control API answered 401: the bearer
 * token this process sent is not phpbridge's --control-token. Retrying does
 * not help; the configuration must be fixed.
 */
class AuthenticationException extends PhpBridgeException
{
    /**
     * rejected builds the message for a 401 from $address; $detail is the
     * bridge's own explanation when it sent one.
     */
    public static function rejected(string $address, string $detail): self
    {
        return new self(sprintf(
            'The phpbridge control API at %s refused the token (401%s). The token comes from PHPBRIDGE_TOKEN:'
            . ' phpbridge passes it to PHP in every request; in cron, queue workers and CLI scripts set'
            . ' PHPBRIDGE_TOKEN (or PHPBRIDGE_CONTROL_TOKEN) to phpbridge\'s --control-token value, or pass'
            . ' it to new Server(). If phpbridge generated its token, it logged it once at start; set'
            . ' --control-token so that it stays the same across restarts.',
            $address,
            $detail === '' ? '' : ': ' . $detail
        ));
    }
}
