<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Integration;

use Illuminate\Config\Repository;
use Illuminate\Container\Container;
use Illuminate\Foundation\Application;
use Illuminate\Support\Facades\Facade;
use PhpBridge\Gateway;
use PhpBridge\Laravel\Facades\PhpBridge;
use PhpBridge\Laravel\PhpBridgeServiceProvider;
use PhpBridge\Server;
use PhpBridge\ThinkPHP\PhpBridgeService;
use PHPUnit\Framework\TestCase;

/**
 * FrameworksTest boots the Laravel service provider in a real Laravel
 * application (Debian's php-laravel-framework when installed) and the
 * ThinkPHP service in a stand-in of ThinkPHP's container.
 */
final class FrameworksTest extends TestCase
{
    private const LARAVEL = '/usr/share/php/Illuminate/autoload.php';

    /** @var array<string, mixed> */
    private array $savedServer;

    protected function setUp(): void
    {
        $this->savedServer = $_SERVER;
        unset($_SERVER['PHPBRIDGE_CONTROL'], $_SERVER['PHPBRIDGE_TOKEN']);
    }

    protected function tearDown(): void
    {
        $_SERVER = $this->savedServer;
    }

    private function laravel(array $config): Application
    {
        if (!is_file(self::LARAVEL)) {
            self::markTestSkipped('Laravel is not installed (apt-get install php-laravel-framework)');
        }
        require_once self::LARAVEL;
        $app = new Application(sys_get_temp_dir());
        $app->instance('config', new Repository(['phpbridge' => $config]));
        $app->register(PhpBridgeServiceProvider::class);
        Facade::clearResolvedInstances();
        Facade::setFacadeApplication($app);
        return $app;
    }

    public function testLaravelBindsOneServerUnderEveryName(): void
    {
        $app = $this->laravel(['control' => '127.0.0.1:7070', 'token' => 'laravel-token-0123456789']);

        $server = $app->make(Server::class);
        self::assertSame('127.0.0.1:7070', $server->address());
        self::assertSame($server, $app->make('phpbridge'));
        self::assertSame($server, $app->make('swoole'), 'app(\'swoole\')->push() of LaravelS code keeps working');
        self::assertSame($server, PhpBridge::getFacadeRoot());
        self::assertSame(3.0, (float) $app['config']->get('phpbridge.timeout'), 'defaults merged from the package');
        $app->boot();
        self::assertSame($server, Gateway::server(), 'the Gateway facade uses the singleton');
        Gateway::setServer(null);
        Container::setInstance(null);
    }

    public function testLaravelPrefersWhatPhpbridgePutInTheRequest(): void
    {
        $_SERVER['PHPBRIDGE_CONTROL'] = 'unix:/run/phpbridge/control.sock';
        $_SERVER['PHPBRIDGE_TOKEN'] = 'from-the-bridge-0123456789';
        $app = $this->laravel(['control' => '127.0.0.1:7070', 'token' => 'laravel-token-0123456789']);

        self::assertSame('unix:/run/phpbridge/control.sock', $app->make(Server::class)->address());
        Container::setInstance(null);
    }

    public function testLaravelLeavesAnExistingSwooleBindingAlone(): void
    {
        if (!is_file(self::LARAVEL)) {
            self::markTestSkipped('Laravel is not installed');
        }
        require_once self::LARAVEL;
        $app = new Application(sys_get_temp_dir());
        $app->instance('config', new Repository(['phpbridge' => ['control' => '127.0.0.1:1', 'token' => 't']]));
        $app->instance('swoole', new \stdClass());
        $app->register(PhpBridgeServiceProvider::class);

        self::assertInstanceOf(\stdClass::class, $app->make('swoole'));
        Container::setInstance(null);
    }

    public function testThinkPhpServiceBindsTheServer(): void
    {
        foreach (['Service', 'Config', 'App'] as $class) {
            require_once dirname(__DIR__) . "/Fixtures/think/$class.php";
        }
        $app = new \think\App(new \think\Config(['phpbridge' => [
            'control' => 'unix:/run/pb.sock',
            'token' => 'think-token-0123456789',
        ]]));

        (new PhpBridgeService($app))->register();

        $server = $app->make(Server::class);
        self::assertInstanceOf(Server::class, $server);
        self::assertSame('unix:/run/pb.sock', $server->address());
        self::assertSame($server, $app->make('phpbridge'));
    }

    public function testConfigFileReadsTheEnvironment(): void
    {
        putenv('PHPBRIDGE_CONTROL=127.0.0.1:9999');
        putenv('PHPBRIDGE_CONTROL_TOKEN=env-token-0123456789');
        try {
            $config = require dirname(__DIR__, 2) . '/config/phpbridge.php';
        } finally {
            putenv('PHPBRIDGE_CONTROL');
            putenv('PHPBRIDGE_CONTROL_TOKEN');
        }

        self::assertSame('127.0.0.1:9999', $config['control']);
        self::assertSame('env-token-0123456789', $config['token']);
        self::assertSame(3.0, $config['timeout']);
        self::assertTrue($config['swoole_alias']);
    }
}
