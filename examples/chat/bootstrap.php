<?php

declare(strict_types=1);

/*
 * bootstrap.php loads the PHP SDK and the example's classes (namespace
 * Chat\, in src/). Inside the phpbridge repository the SDK is two levels
 * up; a copy of the example with `composer require phpbridge/php-sdk`
 * uses vendor/autoload.php instead.
 */

$composer = __DIR__ . '/vendor/autoload.php';
require is_file($composer) ? $composer : __DIR__ . '/../../php-sdk/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Chat\\', 5) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 5)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
