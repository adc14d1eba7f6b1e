<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Exception\ActionFailedException;
use PhpBridge\Exception\AuthenticationException;
use PhpBridge\Exception\ConfigurationException;
use PhpBridge\Exception\InvalidPayloadException;
use PhpBridge\Exception\PhpBridgeException;
use PhpBridge\Exception\UnexpectedResponseException;
use PhpBridge\Frame;
use PhpBridge\Server;
use PhpBridge\Tests\Fixtures\FakeTransport;
use PhpBridge\Transport\HttpResponse;
use PHPUnit\Framework\TestCase;

/**
 * ServerTest checks, outside any handler, that each method sends exactly
 * the action of docs/control-api.md and maps the answer like Swoole and
 * GatewayWorker would.
 */
final class ServerTest extends TestCase
{
    private FakeTransport $transport;

    private Server $server;

    protected function setUp(): void
    {
        $this->transport = new FakeTransport();
        $this->server = new Server('unix:/tmp/pb.sock', 'secret-token-0123456789', 2.0, $this->transport);
    }

    /** @param array<string, mixed> $result */
    private function answer(array $result): void
    {
        $this->transport->results = static fn (array $action): array => $result;
    }

    /** @return array<string, mixed> the only action of the only request */
    private function sent(): array
    {
        self::assertCount(1, $this->transport->requests);
        $actions = $this->transport->actions()[0];
        self::assertCount(1, $actions);
        return $actions[0];
    }

    public function testSendsTheDocumentedRequest(): void
    {
        $this->answer(['ok' => true, 'sent' => 1]);

        self::assertTrue($this->server->push(7, 'hi'));

        self::assertSame('/v1/actions', $this->transport->requests[0]['path']);
        self::assertSame([
            'Authorization' => 'Bearer secret-token-0123456789',
            'Content-Type' => 'application/json',
            'Accept' => 'application/json',
        ], $this->transport->requests[0]['headers']);
        self::assertSame(
            '{"actions":[{"op":"push","fd":7,"data":"hi","opcode":"text"}]}',
            $this->transport->requests[0]['body']
        );
    }

    public function testTokenReadFromAFileLosesItsNewline(): void
    {
        $transport = new FakeTransport();
        $server = new Server('unix:/tmp/x.sock', "secret-token-0123456789\n", 1.0, $transport);

        $server->push(7, 'hi');

        self::assertSame('Bearer secret-token-0123456789', $transport->requests[0]['headers']['Authorization']);
    }

    public function testTokenWithALineBreakInsideIsRefused(): void
    {
        $this->expectException(\PhpBridge\Exception\ConfigurationException::class);
        $this->expectExceptionMessage('control character');
        new Server('unix:/tmp/x.sock', "secret\r\nX-Evil: 1", 1.0, new FakeTransport());
    }

    /** @return array<string, array{\Closure(Server): mixed, array<string, mixed>, array<string, mixed>, mixed}> */
    public static function methods(): array
    {
        $ok = ['ok' => true];
        return [
            'push binary' => [
                fn (Server $s) => $s->push(7, "\x01\xff", Frame::BINARY),
                ['op' => 'push', 'fd' => 7, 'data_base64' => 'Af8=', 'opcode' => 'binary'],
                ['ok' => true, 'sent' => 1],
                true,
            ],
            'push to many' => [
                fn (Server $s) => $s->push([7, '8', 9], 'x'),
                ['op' => 'push', 'fds' => [7, 8, 9], 'data' => 'x', 'opcode' => 'text'],
                ['ok' => true, 'sent' => 3],
                true,
            ],
            'push to many, one gone' => [
                fn (Server $s) => $s->push([7, 8], 'x'),
                ['op' => 'push', 'fds' => [7, 8], 'data' => 'x', 'opcode' => 'text'],
                ['ok' => true, 'sent' => 1],
                false,
            ],
            'push to a gone fd' => [
                fn (Server $s) => $s->push(7, 'x'),
                ['op' => 'push', 'fd' => 7, 'data' => 'x', 'opcode' => 'text'],
                ['ok' => false, 'error' => 'not found'],
                false,
            ],
            'broadcast' => [
                fn (Server $s) => $s->broadcast('all', Frame::TEXT, [3]),
                ['op' => 'broadcast', 'data' => 'all', 'opcode' => 'text', 'exclude' => [3]],
                ['ok' => true, 'sent' => 10],
                true,
            ],
            'broadcast to nobody' => [
                fn (Server $s) => $s->broadcast('all'),
                ['op' => 'broadcast', 'data' => 'all', 'opcode' => 'text'],
                ['ok' => true, 'sent' => 0],
                false,
            ],
            'sendToGroup' => [
                fn (Server $s) => $s->sendToGroup('lobby', 'x', Frame::TEXT, [7]),
                ['op' => 'sendToGroup', 'group' => 'lobby', 'data' => 'x', 'opcode' => 'text', 'exclude' => [7]],
                ['ok' => true, 'sent' => 2],
                true,
            ],
            'sendToGroup, several' => [
                fn (Server $s) => $s->sendToGroup(['a', 'b'], 'x'),
                ['op' => 'sendToGroup', 'groups' => ['a', 'b'], 'data' => 'x', 'opcode' => 'text'],
                ['ok' => true, 'sent' => 2],
                true,
            ],
            'sendToUid' => [
                fn (Server $s) => $s->sendToUid(42, '{"type":"notice"}'),
                ['op' => 'sendToUid', 'uid' => '42', 'data' => '{"type":"notice"}', 'opcode' => 'text'],
                ['ok' => true, 'sent' => 2],
                true,
            ],
            'sendToUid, offline' => [
                fn (Server $s) => $s->sendToUid('42', 'x'),
                ['op' => 'sendToUid', 'uid' => '42', 'data' => 'x', 'opcode' => 'text'],
                ['ok' => true, 'sent' => 0],
                false,
            ],
            'sendToUid, several' => [
                fn (Server $s) => $s->sendToUid([1, '2'], 'x'),
                ['op' => 'sendToUid', 'uids' => ['1', '2'], 'data' => 'x', 'opcode' => 'text'],
                ['ok' => true, 'sent' => 1],
                true,
            ],
            'exist' => [
                fn (Server $s) => $s->exist(7),
                ['op' => 'exist', 'fd' => 7],
                ['ok' => true, 'exist' => true, 'established' => true],
                true,
            ],
            'exist, gone' => [
                fn (Server $s) => $s->exist(7),
                ['op' => 'exist', 'fd' => 7],
                ['ok' => true, 'exist' => false, 'established' => false],
                false,
            ],
            'isEstablished' => [
                fn (Server $s) => $s->isEstablished(7),
                ['op' => 'exist', 'fd' => 7],
                ['ok' => true, 'exist' => true, 'established' => false],
                false,
            ],
            'disconnect' => [
                fn (Server $s) => $s->disconnect(7, 4001, 'bye'),
                ['op' => 'disconnect', 'fd' => 7, 'code' => 4001, 'reason' => 'bye'],
                $ok,
                true,
            ],
            'disconnect many' => [
                fn (Server $s) => $s->disconnect([7, 8]),
                ['op' => 'disconnect', 'fds' => [7, 8], 'code' => 1000],
                $ok,
                true,
            ],
            'close, gone' => [
                fn (Server $s) => $s->close(7),
                ['op' => 'disconnect', 'fd' => 7, 'code' => 1000],
                ['ok' => false, 'error' => 'not found'],
                false,
            ],
            'getClientInfo' => [
                fn (Server $s) => $s->getClientInfo(7),
                ['op' => 'info', 'fd' => 7],
                ['ok' => true, 'fd' => 7, 'remote_addr' => '[2001:db8::1]:5000', 'connect_time' => 100,
                    'last_activity' => 150, 'groups' => ['lobby'], 'uid' => '42', 'node' => 'a'],
                ['fd' => 7, 'remote_addr' => '[2001:db8::1]:5000', 'connect_time' => 100, 'last_activity' => 150,
                    'groups' => ['lobby'], 'uid' => '42', 'node' => 'a', 'remote_ip' => '2001:db8::1',
                    'remote_port' => 5000, 'last_time' => 150],
            ],
            'getClientInfo, gone' => [
                fn (Server $s) => $s->getClientInfo(7),
                ['op' => 'info', 'fd' => 7],
                ['ok' => false, 'error' => 'not found'],
                false,
            ],
            'getClientList pages' => [
                fn (Server $s) => $s->getClientList(3, 2),
                ['op' => 'connections'],
                ['ok' => true, 'fds' => [9, 2, 5, 4, 3]],
                [4, 5],
            ],
            'getClientCount' => [
                fn (Server $s) => $s->getClientCount(),
                ['op' => 'count'],
                ['ok' => true, 'count' => 12],
                12,
            ],
            'joinGroup' => [
                fn (Server $s) => $s->joinGroup(7, 'lobby'),
                ['op' => 'joinGroup', 'fd' => 7, 'group' => 'lobby'],
                $ok,
                true,
            ],
            'leaveGroup, gone' => [
                fn (Server $s) => $s->leaveGroup(7, 'lobby'),
                ['op' => 'leaveGroup', 'fd' => 7, 'group' => 'lobby'],
                ['ok' => false, 'error' => 'not found'],
                false,
            ],
            'ungroup' => [fn (Server $s) => $s->ungroup('lobby'), ['op' => 'ungroup', 'group' => 'lobby'], $ok, true],
            'getClientCountByGroup' => [
                fn (Server $s) => $s->getClientCountByGroup('lobby'),
                ['op' => 'groupCount', 'group' => 'lobby'],
                ['ok' => true, 'count' => 3],
                3,
            ],
            'getClientIdListByGroup' => [
                fn (Server $s) => $s->getClientIdListByGroup('lobby'),
                ['op' => 'groupMembers', 'group' => 'lobby'],
                ['ok' => true, 'fds' => [7, 8]],
                [7, 8],
            ],
            'getGroupList' => [
                fn (Server $s) => $s->getGroupList(),
                ['op' => 'groups'],
                ['ok' => true, 'groups' => ['lobby' => 2, '2024' => 1]],
                ['lobby' => 2, '2024' => 1],
            ],
            'bindUid' => [
                fn (Server $s) => $s->bindUid(7, 42),
                ['op' => 'bindUid', 'fd' => 7, 'uid' => '42'],
                $ok,
                true,
            ],
            'unbindUid' => [
                fn (Server $s) => $s->unbindUid(7, 'u1'),
                ['op' => 'unbindUid', 'fd' => 7, 'uid' => 'u1'],
                $ok,
                true,
            ],
            'isUidOnline' => [
                fn (Server $s) => $s->isUidOnline(42),
                ['op' => 'isUidOnline', 'uid' => '42'],
                ['ok' => true, 'online' => true],
                true,
            ],
            'getClientIdByUid' => [
                fn (Server $s) => $s->getClientIdByUid('42'),
                ['op' => 'uidFds', 'uid' => '42'],
                ['ok' => true, 'fds' => [7]],
                [7],
            ],
            'getUidByClientId' => [
                fn (Server $s) => $s->getUidByClientId(7),
                ['op' => 'fdUid', 'fd' => 7],
                ['ok' => true, 'uid' => '42'],
                '42',
            ],
            'getUidByClientId, none' => [
                fn (Server $s) => $s->getUidByClientId(7),
                ['op' => 'fdUid', 'fd' => 7],
                ['ok' => true, 'uid' => null],
                null,
            ],
            'getAllUidCount' => [
                fn (Server $s) => $s->getAllUidCount(),
                ['op' => 'uidCount'],
                ['ok' => true, 'count' => 5],
                5,
            ],
            'setSession' => [
                fn (Server $s) => $s->setSession(7, ['name' => '韩梅梅']),
                ['op' => 'setSession', 'fd' => 7, 'session' => ['name' => '韩梅梅']],
                $ok,
                true,
            ],
            'updateSession' => [
                fn (Server $s) => $s->updateSession(7, ['room' => 'b']),
                ['op' => 'updateSession', 'fd' => 7, 'session' => ['room' => 'b']],
                $ok,
                true,
            ],
            'getSession' => [
                fn (Server $s) => $s->getSession(7),
                ['op' => 'getSession', 'fd' => 7],
                ['ok' => true, 'session' => ['room' => 'b']],
                ['room' => 'b'],
            ],
            'getSession, gone' => [
                fn (Server $s) => $s->getSession(7),
                ['op' => 'getSession', 'fd' => 7],
                ['ok' => false, 'error' => 'not found'],
                [],
            ],
        ];
    }

    /**
     * @dataProvider methods
     * @param \Closure(Server): mixed $call
     * @param array<string, mixed> $action
     * @param array<string, mixed> $result
     */
    public function testEachMethod(\Closure $call, array $action, array $result, mixed $expected): void
    {
        $this->answer($result);

        self::assertSame($expected, $call($this->server));
        self::assertSame($action, $this->sent());
    }

    public function testConnectionsPropertyLikeSwoole(): void
    {
        $this->answer(['ok' => true, 'fds' => [8, 7]]);

        self::assertSame([7, 8], $this->server->connections);
    }

    public function testEmptySessionIsAnObject(): void
    {
        $this->server->setSession(7, []);

        self::assertStringContainsString('"session":{}', $this->transport->requests[0]['body']);
    }

    public function testSessionMustSurviveJson(): void
    {
        $this->expectException(InvalidPayloadException::class);
        $this->expectExceptionMessage('A session must be JSON-encodable');
        $this->server->setSession(7, ['name' => "\xb0\xa1"]);
    }

    public function testUnsupportedOpSaysUpgrade(): void
    {
        $this->answer(['ok' => false, 'error' => 'unsupported op']);

        $this->expectException(ActionFailedException::class);
        $this->expectExceptionMessage('upgrade phpbridge');
        $this->server->getGroupList();
    }

    public function testOtherActionErrorsThrow(): void
    {
        $this->answer(['ok' => false, 'error' => 'group name too long']);

        $this->expectException(ActionFailedException::class);
        $this->expectExceptionMessage('phpbridge could not run "joinGroup": group name too long');
        $this->server->joinGroup(7, 'g');
    }

    public function testUnauthorizedSaysWhereTheTokenComesFrom(): void
    {
        $this->transport->responses[] = new HttpResponse(401, [], '{"ok":false,"error":"bad token"}');

        try {
            $this->server->push(7, 'x');
            self::fail('no exception');
        } catch (AuthenticationException $e) {
            self::assertStringContainsString('unix:/tmp/pb.sock', $e->getMessage());
            self::assertStringContainsString('401: bad token', $e->getMessage());
            self::assertStringContainsString('PHPBRIDGE_TOKEN', $e->getMessage());
            self::assertStringContainsString('--control-token', $e->getMessage());
            self::assertStringNotContainsString('secret-token', $e->getMessage());
        }
    }

    public function testMalformedRequestIsAnInvalidPayload(): void
    {
        $this->transport->responses[] = new HttpResponse(400, [], '{"ok":false,"error":"actions[0]: unknown field"}');

        $this->expectException(InvalidPayloadException::class);
        $this->expectExceptionMessage('actions[0]: unknown field');
        $this->server->push(7, 'x');
    }

    /** @return array<string, array{HttpResponse, string}> */
    public static function strangeAnswers(): array
    {
        return [
            'public listener' => [
                new HttpResponse(404, [], '<h1>Not Found</h1>'),
                'HTTP 404, body: <h1>Not Found</h1>',
            ],
            'proxy error' => [new HttpResponse(502, [], ''), 'not a 200 (HTTP 502)'],
            'not json' => [new HttpResponse(200, [], 'hello'), 'the body is not {"ok": true, "results": [...]}'],
            'wrong count' => [new HttpResponse(200, [], '{"ok":true,"results":[]}'), '0 results for 1 actions'],
        ];
    }

    /** @dataProvider strangeAnswers */
    public function testStrangeAnswersSayWhatIsWrong(HttpResponse $answer, string $message): void
    {
        $this->transport->responses[] = $answer;

        $this->expectException(UnexpectedResponseException::class);
        $this->expectExceptionMessage($message);
        $this->server->push(7, 'x');
    }

    public function testValidatesBeforeSending(): void
    {
        foreach (
            [
            fn () => $this->server->push(7, "\xff"),
            fn () => $this->server->push(0, 'x'),
            fn () => $this->server->push(['x'], 'x'),
            fn () => $this->server->disconnect(7, 1006),
            fn () => $this->server->joinGroup(7, ''),
            fn () => $this->server->sendToUid([], 'x'),
            ] as $call
        ) {
            try {
                $call();
                self::fail('accepted');
            } catch (InvalidPayloadException) {
                self::assertSame([], $this->transport->requests);
            }
        }
    }

    public function testBatchSendsOneRequest(): void
    {
        $this->transport->results = static fn (array $a): array => $a['op'] === 'groupCount'
            ? ['ok' => true, 'count' => 2] : ['ok' => true, 'sent' => 1];

        $count = null;
        $results = $this->server->batch(function (Server $s) use (&$count): void {
            self::assertTrue($s->push(7, 'a'));
            $s->joinGroup(8, 'g');
            $count = $s->getClientCountByGroup('g');
            $s->sendToGroup('g', 'b');
            $s->sendToUid(1, 'c');
        });

        self::assertSame(2, $count);
        self::assertSame([
            [
                ['op' => 'push', 'fd' => 7, 'data' => 'a', 'opcode' => 'text'],
                ['op' => 'joinGroup', 'fd' => 8, 'group' => 'g'],
                ['op' => 'groupCount', 'group' => 'g'],
            ],
            [['op' => 'sendToGroup', 'group' => 'g', 'data' => 'b', 'opcode' => 'text'],
                ['op' => 'sendToUid', 'uid' => '1', 'data' => 'c', 'opcode' => 'text']],
        ], $this->transport->actions());
        self::assertSame([
            ['ok' => true, 'sent' => 1],
            ['ok' => true, 'sent' => 1],
            ['ok' => true, 'sent' => 1],
            ['ok' => true, 'sent' => 1],
        ], $results, 'the results of the writes, the query\'s own answer aside');
    }

    public function testAnEmptyBatchSendsNothing(): void
    {
        self::assertSame([], $this->server->batch(static function (): void {
        }));
        self::assertSame([], $this->transport->requests);
    }

    public function testFromEnvironmentReadsParamsThenEnv(): void
    {
        $server = Server::fromEnvironment([
            'PHPBRIDGE_CONTROL' => '127.0.0.1:7070',
            'PHPBRIDGE_TOKEN' => 't0123456789abcdef',
        ]);
        self::assertSame('127.0.0.1:7070', $server->address());

        putenv('PHPBRIDGE_CONTROL=unix:/run/x.sock');
        putenv('PHPBRIDGE_CONTROL_TOKEN=from-env-0123456789');
        try {
            self::assertSame('unix:/run/x.sock', Server::fromEnvironment([])->address());
        } finally {
            putenv('PHPBRIDGE_CONTROL');
            putenv('PHPBRIDGE_CONTROL_TOKEN');
        }
    }

    public function testFromEnvironmentDefaultsToTheBridgesDefaultSocket(): void
    {
        $server = Server::fromEnvironment(['PHPBRIDGE_TOKEN' => 't0123456789abcdef']);

        self::assertSame('unix:' . rtrim(sys_get_temp_dir(), '/') . '/phpbridge.sock', $server->address());
    }

    public function testFromEnvironmentWithoutTokenSaysWhatToSet(): void
    {
        $this->expectException(ConfigurationException::class);
        $this->expectExceptionMessage('PHPBRIDGE_TOKEN is not set');
        Server::fromEnvironment(['PHPBRIDGE_CONTROL' => '127.0.0.1:7070']);
    }

    public function testFromConfigPrefersTheRequestsValues(): void
    {
        $config = ['control' => '127.0.0.1:7000', 'token' => 'config-token-0123456789', 'timeout' => 1];

        self::assertSame('127.0.0.1:7000', Server::fromConfig($config, [])->address());
        $fromBridge = Server::fromConfig($config, ['PHPBRIDGE_CONTROL' => 'unix:/run/pb.sock']);
        self::assertSame('unix:/run/pb.sock', $fromBridge->address());
    }

    /** @return array<string, array{string, string}> */
    public static function addresses(): array
    {
        return [
            'unix' => ['unix:/run/pb.sock', 'unix:/run/pb.sock'],
            'unix url' => ['unix:///run/pb.sock', 'unix:/run/pb.sock'],
            'bare path' => ['/run/pb.sock', 'unix:/run/pb.sock'],
            'host:port' => ['127.0.0.1:7070', '127.0.0.1:7070'],
            'tcp:' => ['tcp:localhost:7070', 'localhost:7070'],
            'ipv6' => ['[::1]:7070', '[::1]:7070'],
            'http url' => ['http://127.0.0.1:7070/', '127.0.0.1:7070'],
        ];
    }

    /** @dataProvider addresses */
    public function testParsesAddresses(string $given, string $canonical): void
    {
        self::assertSame($canonical, (new Server($given, 't', 1.0, $this->transport))->address());
    }

    public function testRefusesBadAddresses(): void
    {
        foreach (['', 'unix:', 'localhost', '127.0.0.1:0', '127.0.0.1:99999', 'a b:1'] as $bad) {
            try {
                new Server($bad, 't');
                self::fail("accepted \"$bad\"");
            } catch (ConfigurationException $e) {
                self::assertStringContainsString('neither "unix:/path/to.sock" nor "host:port"', $e->getMessage());
            }
        }
    }

    public function testAllExceptionsArePhpBridgeExceptions(): void
    {
        foreach (glob(dirname(__DIR__, 2) . '/src/Exception/*.php') ?: [] as $file) {
            $class = 'PhpBridge\\Exception\\' . basename($file, '.php');
            self::assertTrue(is_a($class, PhpBridgeException::class, true), $class);
        }
    }
}
