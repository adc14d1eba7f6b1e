<?php

declare(strict_types=1);

namespace PhpBridge\Exception;

/**
 * ConfigurationException means the SDK cannot even try to reach the bridge:
 * the control address does not parse or no token is configured. The message
 * says which setting to provide.
 */
class ConfigurationException extends PhpBridgeException
{
}
