<?php

declare(strict_types=1);

namespace PhpBridge\Laravel;

use Illuminate\Support\ServiceProvider;
use PhpBridge\Gateway;
use PhpBridge\Server;

/**
 * PhpBridgeServiceProvider makes PhpBridge\Server injectable in Laravel
 * (controllers, jobs, commands, the PhpBridge facade, app('phpbridge'),
 * and app('swoole') for code ported from LaravelS), one instance per
 * request or worker, configured by config/phpbridge.php
 * (php artisan vendor:publish --tag=phpbridge-config).
 */
final class PhpBridgeServiceProvider extends ServiceProvider
{
    public function register(): void
    {
        $this->mergeConfigFrom(self::configPath(), 'phpbridge');
        $this->app->singleton(Server::class, static function ($app): Server {
            /** @var array{control?: ?string, token?: ?string, timeout?: float|int|string|null} $config */
            $config = (array) $app['config']->get('phpbridge', []);
            return Server::fromConfig($config);
        });
        $this->app->alias(Server::class, 'phpbridge');
        if ($this->app['config']->get('phpbridge.swoole_alias', true) && !$this->app->bound('swoole')) {
            $this->app->alias(Server::class, 'swoole');
        }
    }

    public function boot(): void
    {
        $this->publishes([self::configPath() => $this->app->configPath('phpbridge.php')], 'phpbridge-config');
        // Gateway::sendToUid() & co. use the same configured singleton.
        Gateway::setServer(fn (): Server => $this->app->make(Server::class));
    }

    private static function configPath(): string
    {
        return dirname(__DIR__, 2) . '/config/phpbridge.php';
    }
}
