<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * ConnectionException means the control API could not be reached or did not
 * answer in time: phpbridge is not running, PHPBRIDGE_CONTROL points
 * elsewhere, PHP may not open the unix socket, or the bridge is overloaded.
 * The message names the address and what to check; retrying later is
 * reasonable (a queue job should let its queue retry).
 */
class ConnectionException extends PhpBridgeException
{
    private bool $timedOut = false;

    /**
     * timedOut reports whether the bridge accepted the call but did not
     * answer in time: it may still have carried the call out, so the SDK
     * does not send it again.
     */
    public function timedOut(): bool
    {
        return $this->timedOut;
    }

    /**
     * unreachable builds the message for a failed connect or exchange with
     * the control API at $address; $reason is the OS or curl error.
     */
    public static function unreachable(string $address, string $reason): self
    {
        $hint = 'Is phpbridge running? The address comes from PHPBRIDGE_CONTROL: phpbridge passes it to PHP'
            . ' in every request; in cron, queue workers and CLI scripts set the environment variable'
            . ' PHPBRIDGE_CONTROL to phpbridge\'s --control value (or pass it to new Server()).';
        $lower = strtolower($reason);
        if (str_starts_with($address, 'unix:') && str_contains($lower, 'permission denied')) {
            $hint = 'PHP\'s user may not open the socket: start phpbridge with --control-socket-mode 0660'
                . ' and --control-socket-group <PHP-FPM\'s group>, or run both as the same user.';
        } elseif (str_starts_with($address, 'unix:') && str_contains($lower, 'no such file')) {
            $hint = 'The socket file does not exist: phpbridge is not running, or its --control is another path. '
                . $hint;
        }
        return new self(sprintf(
            'Cannot reach the phpbridge control API at %s (%s). %s',
            $address,
            $reason,
            $hint
        ));
    }

    /**
     * timeout builds the message for a control API that accepted the
     * connection but did not answer within $seconds.
     */
    public static function timeout(string $address, float $seconds): self
    {
        $e = new self(sprintf(
            'The phpbridge control API at %s did not answer within %.1f s. The bridge may be overloaded;'
            . ' retry later, or raise the timeout (third argument of new Server(), PHPBRIDGE_TIMEOUT).',
            $address,
            $seconds
        ));
        $e->timedOut = true;
        return $e;
    }
}
