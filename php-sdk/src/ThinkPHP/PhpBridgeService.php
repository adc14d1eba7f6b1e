<?php

declare(strict_types=1);

namespace PhpBridge\ThinkPHP;

use PhpBridge\Server;

/**
 * PhpBridgeService registers PhpBridge\Server in ThinkPHP 6/8's container
 * (app(Server::class), app('phpbridge'), and constructor injection),
 * configured by config/phpbridge.php: control, token, timeout. ThinkPHP
 * discovers it from composer.json (extra.think.services); without Composer
 * add it to app/service.php.
 */
final class PhpBridgeService extends \think\Service
{
    public function register(): void
    {
        $this->app->bind(Server::class, function (): Server {
            $config = $this->app->config->get('phpbridge', []);
            return Server::fromConfig(is_array($config) ? $config : []);
        });
        $this->app->bind('phpbridge', Server::class);
    }
}
