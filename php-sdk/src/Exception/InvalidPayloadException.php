<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * InvalidPayloadException means the SDK was asked for something the
 * protocol cannot carry (text that is not UTF-8, an fd that is not a
 * connection id, an empty group name, a close code a server may not send)
 * or the bridge refused the request as malformed (400). It is thrown before
 * anything is sent when the SDK can tell; it is a bug in the calling code.
 */
class InvalidPayloadException extends PhpBridgeException
{
}
