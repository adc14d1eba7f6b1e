<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * UnexpectedResponseException means something answered at the control
 * address, but not like phpbridge's control API does: a wrong address (the
 * public listener, another service), a proxy in between, or a bridge too old
 * for this SDK. The message carries the status and the start of the body.
 */
class UnexpectedResponseException extends PhpBridgeException
{
    /**
     * fromAnswer builds the message for HTTP $status with $body from
     * $address; $why says what was wrong with it.
     */
    public static function fromAnswer(string $address, int $status, string $body, string $why): self
    {
        $snippet = substr(trim($body), 0, 200);
        return new self(sprintf(
            'Unexpected answer from the phpbridge control API at %s: %s (HTTP %d%s). Is PHPBRIDGE_CONTROL'
            . ' phpbridge\'s --control address (not its public --listen address)?',
            $address,
            $why,
            $status,
            $snippet === '' ? '' : ', body: ' . $snippet
        ));
    }
}
