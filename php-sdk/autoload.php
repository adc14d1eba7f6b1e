<?php

/*
 * autoload.php loads the SDK without Composer: require it once (a copied
 * php-sdk/ directory, a Go test's PHP script, a server without Composer).
 * With Composer, vendor/autoload.php does the same through composer.json.
 */

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'PhpBridge\\', 10) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 10)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
