<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * PhpBridgeException is the parent of every exception the SDK throws, so
 * application code can catch "anything phpbridge" in one place (a queue job
 * that should retry later, a controller that should degrade gracefully)
 * without catching unrelated runtime errors.
 */
class PhpBridgeException extends \RuntimeException
{
}
