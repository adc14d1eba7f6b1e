<?php

/*
 * phpbridge's control API, for pushing to WebSocket connections from any
 * PHP code (PhpBridge\Server, the PhpBridge facade, app('phpbridge')).
 *
 * Requests that phpbridge itself sends to PHP (pages and WebSocket events)
 * carry PHPBRIDGE_CONTROL and PHPBRIDGE_TOKEN, and those always win: they
 * are right for the node that runs the request. These settings serve
 * everything else: queue workers, the scheduler, artisan commands.
 */

$env = static function (string $name, mixed $default = null): mixed {
    if (function_exists('env')) {
        return env($name, $default);
    }
    $value = getenv($name);
    return $value === false ? $default : $value;
};

return [
    // phpbridge's --control: "unix:/run/phpbridge/control.sock" or "127.0.0.1:7070".
    'control' => $env('PHPBRIDGE_CONTROL'),

    // phpbridge's --control-token.
    'token' => $env('PHPBRIDGE_TOKEN', $env('PHPBRIDGE_CONTROL_TOKEN')),

    // Seconds a control call may take before PhpBridge\Exception\ConnectionException.
    'timeout' => (float) $env('PHPBRIDGE_TIMEOUT', 3.0),

    // Also bind the container key "swoole" to the PhpBridge\Server, so code
    // ported from LaravelS that calls app('swoole')->push(...) keeps working.
    'swoole_alias' => true,
];
