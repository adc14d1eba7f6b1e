<?php

/*
|--------------------------------------------------------------------------
| Autoloading without Composer
|--------------------------------------------------------------------------
|
| A Composer install would require vendor/autoload.php. This example runs on
| Debian's packaged framework instead (apt-get install php-laravel-framework):
| Illuminate/autoload.php under /usr/share/php (PHP's default include_path
| on Debian) loads Laravel 8 and every library it needs (Symfony, Carbon,
| Monolog, Dotenv, ...), each through its own Debian autoloader. The App\
| namespace is mapped to app/ here, as composer.json's "psr-4" would.
|
*/

require_once '/usr/share/php/Illuminate/autoload.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'App\\', 4) !== 0) {
        return;
    }
    $file = __DIR__ . '/../app/' . str_replace('\\', '/', substr($class, 4)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
