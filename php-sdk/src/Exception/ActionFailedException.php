<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * ActionFailedException means the bridge ran an action and reported an
 * error other than "not found" (which the SDK turns into false or an empty
 * answer, like Swoole does for a closed fd). "unsupported op" means the
 * running phpbridge is older than this SDK.
 */
class ActionFailedException extends PhpBridgeException
{
    /**
     * fromResult builds the message for action $op answered with $error.
     */
    public static function fromResult(string $op, string $error): self
    {
        if (str_contains($error, 'unsupported')) {
            return new self(sprintf(
                'The running phpbridge does not support the control action "%s" (%s); upgrade phpbridge'
                . ' to a version that matches this SDK.',
                $op,
                $error
            ));
        }
        return new self(sprintf('phpbridge could not run "%s": %s', $op, $error));
    }
}
