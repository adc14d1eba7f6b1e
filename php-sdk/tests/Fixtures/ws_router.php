<?php

/*
 * ws_router.php lets `php -S` stand in for PHP-FPM behind phpbridge: the
 * test puts the FastCGI params of an event, as JSON in base64, in the
 * X-Fcgi header; they become $_SERVER (and $_GET, $_COOKIE), the request
 * body stays php://input, and the handler script runs unchanged, emitting
 * its answer through header() and echo as it would under PHP-FPM.
 */

declare(strict_types=1);

$params = json_decode(base64_decode((string) ($_SERVER['HTTP_X_FCGI'] ?? '')), true);
if (is_array($params)) {
    unset($_SERVER['HTTP_X_FCGI']);
    foreach ($params as $name => $value) {
        $_SERVER[$name] = $value;
    }
    parse_str((string) ($params['QUERY_STRING'] ?? ''), $_GET);
    $_COOKIE = [];
    foreach (explode(';', (string) ($params['HTTP_COOKIE'] ?? '')) as $pair) {
        $parts = explode('=', trim($pair), 2);
        if (count($parts) === 2) {
            $_COOKIE[$parts[0]] = urldecode($parts[1]);
        }
    }
}
require __DIR__ . '/ws_app.php';
