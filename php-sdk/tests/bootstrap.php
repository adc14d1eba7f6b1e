<?php

/*
 * PHPUnit bootstrap: the SDK's own autoloader (no Composer here) plus the
 * test namespace.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'PhpBridge\\Tests\\', 16) !== 0) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, 16)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
