<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Environment;
use PhpBridge\Exception\InvalidPayloadException;
use PhpBridge\Frame;
use PhpBridge\Request;
use PhpBridge\Tests\Fixtures\Env;
use PHPUnit\Framework\TestCase;

final class RequestTest extends TestCase
{
    public function testBuildsSwooleShapedRequestFromParams(): void
    {
        $request = Request::fromEnvironment(Env::open(42), 42);

        self::assertSame(42, $request->fd);
        self::assertSame(['room' => 'lobby', 'token' => 'good'], $request->get);
        self::assertSame(['laravel_session' => 'abc=', 'theme' => 'dark'], $request->cookie);
        self::assertSame('chat.example.com', $request->header['host']);
        self::assertSame('Mozilla/5.0', $request->header['user-agent']);
        self::assertSame('dGhlIHNhbXBsZSBub25jZQ==', $request->header['sec-websocket-key']);
        self::assertArrayNotHasKey('content-type', $request->header, 'CONTENT_TYPE is the event body, not a header');
        self::assertSame('/ws?room=lobby&token=good', $request->server['request_uri']);
        self::assertSame('room=lobby&token=good', $request->server['query_string']);
        self::assertSame('203.0.113.7', $request->server['remote_addr']);
        self::assertSame('/ws', $request->server['path_info']);
        self::assertSame('1767225600', $request->server['master_time']);
        self::assertSame('open', $request->server['ws_event']);
        self::assertNull($request->post);
        self::assertNull($request->files);
    }

    public function testLeavesTheControlTokenOut(): void
    {
        $request = Request::fromEnvironment(Env::open(1), 1);

        self::assertArrayNotHasKey('phpbridge_token', $request->server);
        self::assertStringNotContainsString(Env::TOKEN, print_r($request, true));
        self::assertSame(Env::CONTROL, $request->server['phpbridge_control']);
    }

    public function testUsesPhpsOwnGetAndCookieWhenGiven(): void
    {
        $params = ['HTTP_HOST' => 'h', 'QUERY_STRING' => 'ignored=1'];
        $env = new Environment($params, ['a' => ['b' => 'c']], ['sid' => 'x']);
        $request = Request::fromEnvironment($env, 5);

        self::assertSame(['a' => ['b' => 'c']], $request->get);
        self::assertSame(['sid' => 'x'], $request->cookie);
        self::assertSame('/', $request->server['path_info']);
    }

    public function testAcceptsOnlyAnOfferedProtocol(): void
    {
        $request = Request::fromEnvironment(Env::open(1), 1);

        self::assertSame(['chat.v2', 'chat'], $request->protocols());
        self::assertFalse($request->acceptProtocol('mqtt'));
        self::assertNull($request->protocol());
        self::assertTrue($request->acceptProtocol('CHAT'));
        self::assertSame('chat', $request->protocol(), 'the client\'s spelling is echoed');
    }

    public function testRecordsARejection(): void
    {
        $request = Request::fromEnvironment(Env::open(1), 1);
        self::assertNull($request->rejection());

        $request->reject(401, 'log in first', ['WWW-Authenticate' => 'Bearer']);

        $rejection = $request->rejection();
        self::assertNotNull($rejection);
        self::assertSame(401, $rejection->status());
        self::assertSame('log in first', $rejection->body());
        self::assertSame(['WWW-Authenticate' => 'Bearer'], $rejection->headers());
    }

    public function testRejectionNeedsAnErrorStatus(): void
    {
        $request = Request::fromEnvironment(Env::open(1), 1);

        $this->expectException(InvalidPayloadException::class);
        $this->expectExceptionMessage('status from 300 to 599');
        $request->reject(200);
    }

    public function testFrameLooksLikeSwoolesFrame(): void
    {
        $frame = new Frame(9, "\x00\x01", Frame::BINARY);

        self::assertSame(1, Frame::TEXT);
        self::assertSame(2, Frame::BINARY);
        self::assertSame(9, $frame->fd);
        self::assertSame("\x00\x01", $frame->data);
        self::assertSame(Frame::BINARY, $frame->opcode);
        self::assertTrue($frame->finish);
        self::assertTrue($frame->isBinary());
        self::assertFalse((new Frame(1, 'x'))->isBinary());
    }
}
