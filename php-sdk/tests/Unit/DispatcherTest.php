<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Dispatcher;
use PhpBridge\Environment;
use PhpBridge\Exception\Rejected;
use PhpBridge\Frame;
use PhpBridge\LaravelS\WebSocketHandlerInterface as LaravelSHandler;
use PhpBridge\Request;
use PhpBridge\Response;
use PhpBridge\Server;
use PhpBridge\Tests\Fixtures\Env;
use PhpBridge\Tests\Fixtures\FakeTransport;
use PhpBridge\Tests\Fixtures\RecordingHandler;
use PhpBridge\WebSocketHandler;
use PHPUnit\Framework\TestCase;

/**
 * DispatcherTest simulates each event as phpbridge sends it and checks the
 * exact answer (status, headers, body) and what went to the control API.
 */
final class DispatcherTest extends TestCase
{
    private FakeTransport $control;

    private string $errorLog;

    private string $previousErrorLog;

    protected function setUp(): void
    {
        $this->control = new FakeTransport();
        $this->errorLog = (string) tempnam(sys_get_temp_dir(), 'pb-log');
        $this->previousErrorLog = (string) ini_get('error_log');
        ini_set('error_log', $this->errorLog);
    }

    protected function tearDown(): void
    {
        ini_set('error_log', $this->previousErrorLog);
        @unlink($this->errorLog);
    }

    private function dispatch(Environment $env, WebSocketHandler|LaravelSHandler $handler): Response
    {
        $server = new Server(Env::CONTROL, Env::TOKEN, 1.0, $this->control);
        return (new Dispatcher($env, $server))->dispatch($handler);
    }

    /** @param array<string, string> $headers */
    private static function assertResponse(int $status, array $headers, string $body, Response $response): void
    {
        self::assertSame($status, $response->status, 'status');
        self::assertSame($headers, $response->headers, 'headers');
        self::assertSame($body, $response->body, 'body');
    }

    public function testOpenGreetingIsAPlainReply(): void
    {
        $handler = new RecordingHandler(open: function (Server $server, Request $request): void {
            self::assertTrue($server->push($request->fd, "hello, welcome #{$request->fd}"));
        });

        $response = $this->dispatch(Env::open(7), $handler);

        self::assertResponse(200, ['X-Phpbridge-Opcode' => 'text'], 'hello, welcome #7', $response);
        self::assertSame([], $this->control->requests);
        self::assertSame(['laravel_session' => 'abc=', 'theme' => 'dark'], $handler->calls[0][1]->cookie);
    }

    public function testOpenActionsRideOnTheResponse(): void
    {
        $handler = new RecordingHandler(open: function (Server $server, Request $request): void {
            $server->push($request->fd, 'welcome');
            self::assertTrue($server->joinGroup($request->fd, $request->get['room']));
            self::assertTrue($server->bindUid($request->fd, 42));
            self::assertTrue($server->setSession($request->fd, ['name' => '李雷']));
            self::assertTrue($server->sendToGroup('lobby', 'someone joined', Frame::TEXT, [$request->fd]));
            self::assertTrue($request->acceptProtocol('chat'));
        });

        $response = $this->dispatch(Env::open(7), $handler);

        self::assertResponse(
            200,
            ['Content-Type' => 'application/vnd.phpbridge+json', 'Sec-WebSocket-Protocol' => 'chat'],
            '{"reply":{"data":"welcome","opcode":"text"},"actions":['
            . '{"op":"joinGroup","fd":7,"group":"lobby"},'
            . '{"op":"bindUid","fd":7,"uid":"42"},'
            . '{"op":"setSession","fd":7,"session":{"name":"李雷"}},'
            . '{"op":"sendToGroup","group":"lobby","data":"someone joined","opcode":"text","exclude":[7]}]}',
            $response
        );
        self::assertSame([], $this->control->requests, 'no round trip');
    }

    public function testOpenAnswersAboutItsOwnConnectionLocally(): void
    {
        $handler = new RecordingHandler(open: function (Server $server, Request $request): void {
            self::assertTrue($server->exist($request->fd));
            self::assertTrue($server->isEstablished($request->fd));
            self::assertSame([], $server->getSession($request->fd));
            self::assertNull($server->getUidByClientId($request->fd));
            $server->setSession($request->fd, ['a' => 1]);
            $server->updateSession($request->fd, ['b' => 2]);
            $server->bindUid($request->fd, 'u9');
            self::assertSame(['a' => 1, 'b' => 2], $server->getSession($request->fd));
            self::assertSame('u9', $server->getUidByClientId($request->fd));
        });

        $this->dispatch(Env::open(7), $handler);

        self::assertSame([], $this->control->requests);
    }

    public function testOpenQueriesDoNotFlushTheConnectionsActions(): void
    {
        $this->control->results = static fn (array $a): array => ['ok' => true, 'count' => 4];
        $handler = new RecordingHandler(open: function (Server $server, Request $request): void {
            $server->joinGroup($request->fd, 'lobby');
            $online = $server->getClientCountByGroup('lobby');
            $server->push($request->fd, "online: $online");
        });

        $response = $this->dispatch(Env::open(7), $handler);

        self::assertSame([[['op' => 'groupCount', 'group' => 'lobby']]], $this->control->actions());
        self::assertSame(
            '{"actions":[{"op":"joinGroup","fd":7,"group":"lobby"},'
            . '{"op":"push","fd":7,"data":"online: 4","opcode":"text"}]}',
            $response->body
        );
    }

    public function testRejectRefusesTheHandshake(): void
    {
        $handler = new RecordingHandler(open: function (Server $server, Request $request): void {
            $server->joinGroup($request->fd, 'lobby');
            $server->sendToGroup('admins', 'refused a login');
            $request->reject(401, 'log in first', ['WWW-Authenticate' => 'Bearer']);
        });

        $response = $this->dispatch(Env::open(7), $handler);

        self::assertResponse(401, ['WWW-Authenticate' => 'Bearer'], 'log in first', $response);
        self::assertSame(
            [[['op' => 'sendToGroup', 'group' => 'admins', 'data' => 'refused a login', 'opcode' => 'text']]],
            $this->control->actions(),
            'writes to others still happen, on the control API; the refused connection\'s are dropped'
        );
    }

    public function testRejectKeepsTheOtherTargetsOfAListPush(): void
    {
        $handler = new RecordingHandler(open: function (Server $server, Request $request): void {
            $server->push([$request->fd, 99], 'login attempt');
            $request->reject(401);
        });

        $response = $this->dispatch(Env::open(7), $handler);

        self::assertSame(401, $response->status);
        self::assertSame(
            [[['op' => 'push', 'fds' => [99], 'data' => 'login attempt', 'opcode' => 'text']]],
            $this->control->actions(),
            'the admin (99) still hears of it; only the refused connection is taken out'
        );
    }

    public function testThrowingRejectedRefusesTheHandshake(): void
    {
        $handler = new RecordingHandler(open: static function (): void {
            throw new Rejected(403, 'forbidden');
        });

        self::assertResponse(403, [], 'forbidden', $this->dispatch(Env::open(7), $handler));
    }

    public function testMessageEchoKeepsTheIncomingOpcodeExplicit(): void
    {
        $handler = new RecordingHandler(message: static function (Server $server, Frame $frame): void {
            $server->push($frame->fd, $frame->data, $frame->opcode);
        });

        $text = $this->dispatch(Env::message(7, '你好'), $handler);
        self::assertResponse(200, ['X-Phpbridge-Opcode' => 'text'], '你好', $text);

        $binary = $this->dispatch(Env::message(7, "\x00\xff", 'binary'), $handler);
        self::assertResponse(200, ['X-Phpbridge-Opcode' => 'binary'], "\x00\xff", $binary);

        $frame = $handler->calls[1][1];
        self::assertInstanceOf(Frame::class, $frame);
        self::assertSame(
            [7, "\x00\xff", Frame::BINARY, true],
            [$frame->fd, $frame->data, $frame->opcode, $frame->finish]
        );
    }

    public function testMessageQueriesSeeTheWritesBeforeThem(): void
    {
        $this->control->results = static fn (array $a): array => $a['op'] === 'groupCount'
            ? ['ok' => true, 'count' => 3] : ['ok' => true, 'sent' => 1];
        $handler = new RecordingHandler(message: function (Server $server, Frame $frame): void {
            $server->leaveGroup($frame->fd, 'lobby');
            $server->joinGroup($frame->fd, 'room-2');
            $count = $server->getClientCountByGroup('room-2');
            $server->sendToGroup('room-2', "now $count here");
        });

        $response = $this->dispatch(Env::message(7, 'join room-2'), $handler);

        self::assertSame([[
            ['op' => 'leaveGroup', 'fd' => 7, 'group' => 'lobby'],
            ['op' => 'joinGroup', 'fd' => 7, 'group' => 'room-2'],
            ['op' => 'groupCount', 'group' => 'room-2'],
        ]], $this->control->actions(), 'one request: the queued writes, then the query');
        self::assertSame(
            '{"actions":[{"op":"sendToGroup","group":"room-2","data":"now 3 here","opcode":"text"}]}',
            $response->body
        );
    }

    public function testQueriesLeaveTrailingMessagesOnTheResponse(): void
    {
        $this->control->results = static fn (array $a): array => ['ok' => true, 'online' => true];
        $handler = new RecordingHandler(message: function (Server $server, Frame $frame): void {
            $server->push($frame->fd, 'first');
            $server->bindUid($frame->fd, 'u1');
            $server->sendToGroup('lobby', 'u1 is here');
            self::assertTrue($server->isUidOnline('u2'));
        });

        $response = $this->dispatch(Env::message(7, 'x'), $handler);

        self::assertSame([[
            ['op' => 'push', 'fd' => 7, 'data' => 'first', 'opcode' => 'text'],
            ['op' => 'bindUid', 'fd' => 7, 'uid' => 'u1'],
            ['op' => 'isUidOnline', 'uid' => 'u2'],
        ]], $this->control->actions(), 'up to the last state change, in order');
        self::assertSame(
            '{"actions":[{"op":"sendToGroup","group":"lobby","data":"u1 is here","opcode":"text"}]}',
            $response->body
        );
    }

    public function testMessageSessionComesWithTheEvent(): void
    {
        $handler = new RecordingHandler(message: function (Server $server, Frame $frame): void {
            self::assertSame(['name' => '李雷', 'n' => 1], $server->getSession($frame->fd));
            self::assertSame('42', $server->getUidByClientId($frame->fd));
            $server->updateSession($frame->fd, ['n' => 2]);
            self::assertSame(['name' => '李雷', 'n' => 2], $server->getSession($frame->fd));
        });

        $env = Env::message(7, 'x', 'text', ['WS_SESSION' => '{"name":"李雷","n":1}', 'WS_UID' => '42']);
        $response = $this->dispatch($env, $handler);

        self::assertSame([], $this->control->requests);
        self::assertSame('{"actions":[{"op":"updateSession","fd":7,"session":{"n":2}}]}', $response->body);
    }

    public function testMessageWithoutSessionParamHasNone(): void
    {
        $handler = new RecordingHandler(message: function (Server $server, Frame $frame): void {
            self::assertSame([], $server->getSession($frame->fd));
            self::assertNull($server->getUidByClientId($frame->fd));
        });

        $this->dispatch(Env::message(7, 'x'), $handler);

        self::assertSame([], $this->control->requests, 'phpbridge omits WS_SESSION and WS_UID when unset');
    }

    public function testUnreadableSessionParamAsksTheBridge(): void
    {
        $this->control->results = static fn (array $a): array => ['ok' => true, 'session' => ['from' => 'bridge']];
        $handler = new RecordingHandler(message: function (Server $server, Frame $frame): void {
            self::assertSame(['from' => 'bridge'], $server->getSession($frame->fd));
        });

        $this->dispatch(Env::message(7, 'x', 'text', ['WS_SESSION' => '{broken']), $handler);

        self::assertSame([[['op' => 'getSession', 'fd' => 7]]], $this->control->actions());
    }

    public function testMessageExistForItsOwnConnectionAsksTheBridge(): void
    {
        $this->control->results = static fn (array $a): array => ['ok' => true, 'exist' => true, 'established' => true];
        $handler = new RecordingHandler(message: function (Server $server, Frame $frame): void {
            self::assertTrue($server->exist($frame->fd));
        });

        $this->dispatch(Env::message(7, 'x'), $handler);

        self::assertSame([[['op' => 'exist', 'fd' => 7]]], $this->control->actions());
    }

    public function testKickAfterReplyUsesTheCloseHeader(): void
    {
        $handler = new RecordingHandler(message: static function (Server $server, Frame $frame): void {
            $server->push($frame->fd, 'you are kicked');
            $server->disconnect($frame->fd, 4003, "spam\r\ndetected");
        });

        self::assertResponse(
            200,
            ['X-Phpbridge-Opcode' => 'text', 'X-Phpbridge-Close' => '4003 spam detected'],
            'you are kicked',
            $this->dispatch(Env::message(7, 'x'), $handler)
        );
    }

    public function testRejectedInAMessageClosesWithPolicyViolation(): void
    {
        $handler = new RecordingHandler(message: static function (): void {
            throw new Rejected(403, 'session expired');
        });

        $response = $this->dispatch(Env::message(7, 'x'), $handler);

        self::assertResponse(200, ['X-Phpbridge-Close' => '1008 session expired'], '', $response);
    }

    public function testRejectedInAMessageKeepsTheReasonSendable(): void
    {
        $long = new RecordingHandler(message: static function (): void {
            throw new Rejected(403, str_repeat('é', 100));
        });
        $binary = new RecordingHandler(message: static function (): void {
            throw new Rejected(403, "\xff\xfe");
        });

        $cut = $this->dispatch(Env::message(7, 'x'), $long)->headers['X-Phpbridge-Close'];
        self::assertSame('1008 ' . str_repeat('é', 61), $cut);
        self::assertSame(
            ['X-Phpbridge-Close' => '1008 policy violation'],
            $this->dispatch(Env::message(7, 'x'), $binary)->headers
        );
    }

    public function testABadControlAddressIsReportedAnd500(): void
    {
        $env = Environment::fromServer([
            'WS_EVENT' => 'message', 'WS_FD' => '7', 'PHPBRIDGE_CONTROL' => 'nonsense', 'PHPBRIDGE_TOKEN' => Env::TOKEN,
        ]);

        $response = (new Dispatcher($env))->dispatch(new RecordingHandler());

        self::assertSame(500, $response->status);
        self::assertStringContainsString('"nonsense" is neither', (string) file_get_contents($this->errorLog));
    }

    public function testCloseGetsCodeAndReasonAndCannotWriteToItself(): void
    {
        $handler = new RecordingHandler(close: function (Server $server, int $fd): void {
            self::assertFalse($server->push($fd, 'too late'));
            self::assertFalse($server->joinGroup($fd, 'x'));
            self::assertFalse($server->exist($fd));
            self::assertFalse($server->disconnect($fd));
            $server->sendToGroup('lobby', "$fd left");
        });

        $response = $this->dispatch(Env::close(7, 1006, ''), $handler);

        self::assertSame(['close', 7, 1006, ''], $handler->calls[0]);
        self::assertSame(
            '{"actions":[{"op":"sendToGroup","group":"lobby","data":"7 left","opcode":"text"}]}',
            $response->body
        );
        self::assertSame([], $this->control->requests);
    }

    public function testExceptionsAreReportedAndAnswered500(): void
    {
        $reported = [];
        $handler = new RecordingHandler(message: static function (Server $server, Frame $frame): void {
            $server->push($frame->fd, 'half done');
            throw new \RuntimeException('database down');
        });
        $server = new Server(Env::CONTROL, Env::TOKEN, 1.0, $this->control);
        $report = static function (\Throwable $e) use (&$reported): void {
            $reported[] = $e->getMessage();
        };
        $dispatcher = new Dispatcher(Env::message(7, 'x'), $server, $report);

        self::assertResponse(500, [], '', $dispatcher->dispatch($handler));
        self::assertSame(['database down'], $reported);
    }

    public function testExceptionsGoToTheErrorLogByDefault(): void
    {
        $handler = new RecordingHandler(open: static function (): void {
            throw new \LogicException('boom');
        });

        self::assertSame(500, $this->dispatch(Env::open(7), $handler)->status);
        $log = (string) file_get_contents($this->errorLog);
        self::assertStringContainsString(
            'phpbridge: the WebSocket handler failed on open of fd 7: LogicException: boom',
            $log
        );
    }

    public function testPrintedOutputIsLoggedNotSent(): void
    {
        $handler = new RecordingHandler(message: static function (Server $server, Frame $frame): void {
            echo "receive from {$frame->fd}:{$frame->data}\n";
            var_dump($frame->fd);
            $server->push($frame->fd, 'this is server');
        });

        $response = $this->dispatch(Env::message(7, 'hi'), $handler);

        self::assertSame('this is server', $response->body);
        $log = (string) file_get_contents($this->errorLog);
        self::assertStringContainsString(
            'printed output is not sent to the client (use $server->push()): receive from 7:hi',
            $log
        );
        self::assertStringContainsString('int(7)', $log);
    }

    public function testNotAnEventIsA400ThatExplains(): void
    {
        $response = $this->dispatch(Environment::fromServer(['REQUEST_URI' => '/ws.php']), new RecordingHandler());

        self::assertSame(400, $response->status);
        self::assertStringContainsString('WebSocket handler (--ws-handler)', $response->body);
    }

    public function testEveryServerAimedAtTheBridgeJoinsTheEnvelope(): void
    {
        $elsewhere = new FakeTransport();
        $handler = new RecordingHandler(message: function (Server $server, Frame $frame) use ($elsewhere): void {
            // A service resolving its own Server, as a Laravel singleton would:
            $service = Server::fromEnvironment(['PHPBRIDGE_CONTROL' => Env::CONTROL, 'PHPBRIDGE_TOKEN' => 'x']);
            $service->push(99, 'from a service');
            // A Server for another bridge goes to that bridge at once:
            (new Server('127.0.0.1:7999', 't', 1.0, $elsewhere))->push(5, 'other cluster');
        });

        $response = $this->dispatch(Env::message(7, 'x'), $handler);

        self::assertSame(
            '{"actions":[{"op":"push","fd":99,"data":"from a service","opcode":"text"}]}',
            $response->body
        );
        self::assertCount(1, $elsewhere->requests);
    }

    public function testLoopingPushesBecomeOneAction(): void
    {
        $handler = new RecordingHandler(message: static function (Server $server, Frame $frame): void {
            foreach ([11, 12, 13] as $fd) {
                $server->push($fd, $frame->data);
            }
        });

        self::assertSame(
            '{"actions":[{"op":"push","fds":[11,12,13],"data":"hi all","opcode":"text"}]}',
            $this->dispatch(Env::message(7, 'hi all'), $handler)->body
        );
    }

    public function testBatchInsideAHandlerJustRuns(): void
    {
        $handler = new RecordingHandler(message: static function (Server $server, Frame $frame): void {
            self::assertSame([], $server->batch(static function (Server $s) use ($frame): void {
                $s->push($frame->fd, 'a');
                $s->joinGroup($frame->fd, 'g');
            }));
        });

        $response = $this->dispatch(Env::message(7, 'x'), $handler);

        self::assertSame(
            '{"reply":{"data":"a","opcode":"text"},"actions":[{"op":"joinGroup","fd":7,"group":"g"}]}',
            $response->body
        );
        self::assertSame([], $this->control->requests);
    }
}
