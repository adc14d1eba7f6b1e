<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Dispatcher;
use PhpBridge\Environment;
use PhpBridge\Gateway;
use PhpBridge\GatewayWorker\EventsHandler;
use PhpBridge\Response;
use PhpBridge\Server;
use PhpBridge\Tests\Fixtures\Env;
use PhpBridge\Tests\Fixtures\Events;
use PhpBridge\Tests\Fixtures\FakeTransport;
use PhpBridge\Tests\Fixtures\LaravelSService;
use PhpBridge\WebSocketHandler;
use PhpBridge\LaravelS\WebSocketHandlerInterface as LaravelSHandler;
use PHPUnit\Framework\TestCase;

/**
 * AdaptersTest runs code written for LaravelS and GatewayWorker through
 * the Dispatcher and the Gateway facade.
 */
final class AdaptersTest extends TestCase
{
    private FakeTransport $control;

    private Server $server;

    protected function setUp(): void
    {
        $this->control = new FakeTransport();
        $this->server = new Server(Env::CONTROL, Env::TOKEN, 1.0, $this->control);
        Gateway::setServer($this->server);
        Events::$log = [];
        LaravelSService::$log = [];
        $_SESSION = [];
    }

    protected function tearDown(): void
    {
        Gateway::setServer(null);
        Gateway::$controlAddress = '';
        Gateway::$token = '';
        unset($_SESSION);
    }

    private function dispatch(Environment $env, WebSocketHandler|LaravelSHandler $handler): Response
    {
        return (new Dispatcher($env, $this->server))->dispatch($handler);
    }

    public function testLaravelSHandlerRunsUnchanged(): void
    {
        $this->control->results = static fn (array $a): array => match ($a['op']) {
            'connections' => ['ok' => true, 'fds' => [7, 8, 9]],
            'exist' => ['ok' => true, 'exist' => true, 'established' => $a['fd'] !== 9],
            default => ['ok' => true],
        };
        $handler = new LaravelSService();

        $open = $this->dispatch(Env::open(7), $handler);
        $message = $this->dispatch(Env::message(7, 'hi'), $handler);
        $close = $this->dispatch(Env::close(7, 1000, ''), $handler);

        self::assertSame('Welcome to WebSocket Server built on LaravelS', $open->body);
        self::assertSame(
            '{"reply":{"data":"This is a message sent from WebSocket Server at 2019-05-22 13:55:02","opcode":"text"},'
            . '"actions":[{"op":"push","fd":8,"data":"hi","opcode":"text"}]}',
            $message->body
        );
        self::assertSame(
            [[['op' => 'connections']], [['op' => 'exist', 'fd' => 8]], [['op' => 'exist', 'fd' => 9]]],
            $this->control->actions(),
            'queries; the pushes stay on the response'
        );
        self::assertSame('', $close->body);
        self::assertSame(['WebSocket 连接建立', 'WebSocket 连接关闭 7 0'], LaravelSService::$log);
    }

    public function testGatewayWorkerEventsWithSessions(): void
    {
        $handler = new EventsHandler(Events::class);

        $open = $this->dispatch(Env::open(7), $handler);
        self::assertSame(200, $open->status);
        self::assertSame(
            '{"actions":[{"op":"joinGroup","fd":7,"group":"lobby"},'
            . '{"op":"setSession","fd":7,"session":{"room":"lobby"}}]}',
            $open->body
        );

        $message = $this->dispatch(Env::message(7, 'hello', 'text', ['WS_SESSION' => '{"room":"lobby"}']), $handler);
        self::assertSame(
            '{"actions":[{"op":"sendToGroup","group":"lobby","data":"hello","opcode":"text","exclude":[7]},'
            . '{"op":"push","fd":7,"data":"sent","opcode":"text"},'
            . '{"op":"setSession","fd":7,"session":{"room":"lobby","count":1}}]}',
            $message->body
        );

        $close = $this->dispatch(Env::close(7, 1001, '', ['WS_SESSION' => '{"room":"lobby","count":1}']), $handler);
        self::assertSame(
            '{"actions":[{"op":"sendToGroup","group":"lobby","data":"7 left","opcode":"text"}]}',
            $close->body
        );

        self::assertSame([
            'connect 7',
            'ws-connect lobby /ws?room=lobby&token=good',
            'message 7 hello room=lobby',
            'close 7 room=lobby',
        ], Events::$log);
        self::assertSame([], $this->control->requests);
    }

    public function testGatewayWorkerCloseCurrentClientRefusesTheHandshake(): void
    {
        $env = Env::open(7, ['QUERY_STRING' => 'room=lobby&token=bad']);

        $response = $this->dispatch($env, new EventsHandler(Events::class));

        self::assertSame(403, $response->status);
    }

    public function testGatewayFacadeOutsideHandlers(): void
    {
        $this->control->results = static fn (array $a): array => match ($a['op']) {
            'isUidOnline' => ['ok' => true, 'online' => true],
            'uidFds' => ['ok' => true, 'fds' => [7, 8]],
            'groupMembers' => ['ok' => true, 'fds' => [7, 8]],
            'groupCount' => ['ok' => true, 'count' => 2],
            'count' => ['ok' => true, 'count' => 10],
            'groups' => ['ok' => true, 'groups' => ['lobby' => 2, 'vip' => 1]],
            'fdUid' => ['ok' => true, 'uid' => '42'],
            'exist' => ['ok' => true, 'exist' => false],
            default => ['ok' => true, 'sent' => 1],
        };

        self::assertTrue(Gateway::sendToAll('a'));
        self::assertTrue(Gateway::sendToAll('b', ['7', 8], 8));
        self::assertTrue(Gateway::sendToClient('7', 'c'));
        self::assertTrue(Gateway::sendToUid(42, 'd'));
        self::assertTrue(Gateway::sendToGroup('lobby', 'e', '7'));
        self::assertTrue(Gateway::joinGroup('7', 'lobby'));
        self::assertTrue(Gateway::bindUid('7', 42));
        self::assertSame(1, Gateway::isUidOnline(42));
        self::assertSame(0, Gateway::isOnline(7));
        self::assertSame([7, 8], Gateway::getClientIdByUid(42));
        self::assertSame([7 => 7, 8 => 8], Gateway::getClientIdListByGroup('lobby'));
        self::assertSame(2, Gateway::getClientCountByGroup('lobby'));
        self::assertSame(10, Gateway::getAllClientIdCount());
        self::assertSame(['lobby', 'vip'], Gateway::getAllGroupIdList());
        self::assertSame('42', Gateway::getUidByClientId(7));
        self::assertTrue(Gateway::closeClient(7, 'bye'));
        self::assertFalse(Gateway::sendToCurrentClient('no event running'));

        self::assertSame([
            ['op' => 'broadcast', 'data' => 'a', 'opcode' => 'text'],
            ['op' => 'push', 'fds' => [7], 'data' => 'b', 'opcode' => 'text'],
            ['op' => 'push', 'fd' => 7, 'data' => 'c', 'opcode' => 'text'],
            ['op' => 'sendToUid', 'uid' => '42', 'data' => 'd', 'opcode' => 'text'],
            ['op' => 'sendToGroup', 'group' => 'lobby', 'data' => 'e', 'opcode' => 'text', 'exclude' => [7]],
            ['op' => 'joinGroup', 'fd' => 7, 'group' => 'lobby'],
            ['op' => 'bindUid', 'fd' => 7, 'uid' => '42'],
            ['op' => 'isUidOnline', 'uid' => '42'],
            ['op' => 'exist', 'fd' => 7],
            ['op' => 'uidFds', 'uid' => '42'],
            ['op' => 'groupMembers', 'group' => 'lobby'],
            ['op' => 'groupCount', 'group' => 'lobby'],
            ['op' => 'count'],
            ['op' => 'groups'],
            ['op' => 'fdUid', 'fd' => 7],
            ['op' => 'push', 'fd' => 7, 'data' => 'bye', 'opcode' => 'text'],
            ['op' => 'disconnect', 'fd' => 7, 'code' => 1000],
        ], array_merge(...$this->control->actions()));
    }

    public function testGatewayBuildsItsServerFromStaticSettings(): void
    {
        Gateway::setServer(null);
        Gateway::$controlAddress = '127.0.0.1:7788';
        Gateway::$token = 'static-token-0123456789';

        self::assertSame('127.0.0.1:7788', Gateway::server()->address());
        self::assertSame(Gateway::server(), Gateway::server());

        Gateway::$controlAddress = 'unix:/run/other.sock';
        self::assertSame('unix:/run/other.sock', Gateway::server()->address(), 'changed settings rebuild it');
    }
}
