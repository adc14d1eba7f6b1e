<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Transport;

use PhpBridge\Exception\AuthenticationException;
use PhpBridge\Exception\ConnectionException;
use PhpBridge\Exception\UnexpectedResponseException;
use PhpBridge\Frame;
use PhpBridge\Server;
use PhpBridge\Tests\Fixtures\FakeControlServer;
use PhpBridge\Transport\Address;
use PhpBridge\Transport\CurlTransport;
use PhpBridge\Transport\StreamTransport;
use PhpBridge\Transport\Transport;
use PHPUnit\Framework\TestCase;

/**
 * TransportTest runs Server over both transports (curl and PHP streams)
 * against fake control APIs in child processes: a raw HTTP server on a
 * unix socket and on TCP, and PHP's built-in server. It checks the exact
 * request on the wire and the mapping of every kind of answer.
 */
final class TransportTest extends TestCase
{
    private const TOKEN = 'wire-token-0123456789abcdef';

    /** @var array<string, FakeControlServer> one per kind, for the whole class */
    private static array $fakes = [];

    public static function tearDownAfterClass(): void
    {
        foreach (self::$fakes as $fake) {
            $fake->stop();
        }
        self::$fakes = [];
    }

    private static function fake(string $kind): FakeControlServer
    {
        if (!isset(self::$fakes[$kind])) {
            self::$fakes[$kind] = $kind === 'builtin' ? FakeControlServer::builtin() : FakeControlServer::raw($kind);
        }
        return self::$fakes[$kind];
    }

    /** @return array<string, array{string, string}> */
    public static function transports(): array
    {
        $cases = [];
        foreach (['unix', 'tcp', 'builtin'] as $kind) {
            foreach (['curl', 'stream'] as $transport) {
                $cases["$transport over $kind"] = [$transport, $kind];
            }
        }
        return $cases;
    }

    /** @return array<string, array{string}> */
    public static function transportNames(): array
    {
        return ['curl' => ['curl'], 'stream' => ['stream']];
    }

    private function transport(string $name, string $address, float $timeout = 2.0): Transport
    {
        if ($name === 'curl' && !CurlTransport::supported(Address::parse($address))) {
            self::markTestSkipped('ext-curl is not loaded');
        }
        return $name === 'curl'
            ? new CurlTransport(Address::parse($address), $timeout)
            : new StreamTransport(Address::parse($address), $timeout);
    }

    /** server talks to the fake of $kind, with a fresh request log and answer mode. */
    private function server(string $transport, string $kind, array $mode = [], float $timeout = 2.0): Server
    {
        $fake = self::fake($kind);
        $fake->mode($mode);
        $this->seen = count($fake->requests());
        $this->kind = $kind;
        $wire = $this->transport($transport, $fake->address, $timeout);
        return new Server($fake->address, self::TOKEN, $timeout, $wire);
    }

    private int $seen = 0;

    private string $kind = '';

    /** @return list<array<string, mixed>> the requests since server() */
    private function received(): array
    {
        return array_slice(self::fake($this->kind)->requests(), $this->seen);
    }

    /**
     * headers reads the head of a raw request into lower-case name => value,
     * and the request line.
     *
     * @param array<string, mixed> $request
     * @return array{0: string, 1: array<string, string>}
     */
    private static function parsedHead(array $request): array
    {
        if (isset($request['method'])) {
            return [$request['method'] . ' ' . $request['uri'] . ' ' . $request['protocol'], $request['headers']];
        }
        $lines = explode("\r\n", $request['head']);
        $first = array_shift($lines);
        $headers = [];
        foreach ($lines as $line) {
            [$name, $value] = explode(':', $line, 2);
            $headers[strtolower($name)] = trim($value);
        }
        return [$first, $headers];
    }

    /** @dataProvider transports */
    public function testSendsTheExactRequest(string $transport, string $kind): void
    {
        $server = $this->server($transport, $kind);

        self::assertTrue($server->push(7, "hello 世界"));

        $requests = $this->received();
        self::assertCount(1, $requests);
        [$line, $headers] = self::parsedHead($requests[0]);
        $body = '{"actions":[{"op":"push","fd":7,"data":"hello 世界","opcode":"text"}]}';
        self::assertSame('POST /v1/actions HTTP/1.1', $line);
        self::assertSame('Bearer ' . self::TOKEN, $headers['authorization']);
        self::assertSame('application/json', $headers['content-type']);
        self::assertSame((string) strlen($body), $headers['content-length']);
        self::assertSame($kind === 'unix' ? 'localhost' : $server->address(), $headers['host']);
        self::assertArrayNotHasKey('expect', $headers);
        self::assertSame($body, $requests[0]['body']);
    }

    /** @dataProvider transports */
    public function testMapsResults(string $transport, string $kind): void
    {
        $server = $this->server($transport, $kind);

        self::assertTrue($server->push([1, 2, 3], "\x00\xff", Frame::BINARY));
        self::assertTrue($server->joinGroup(1, 'lobby'));

        $requests = $this->received();
        self::assertSame(
            '{"actions":[{"op":"push","fds":[1,2,3],"data_base64":"AP8=","opcode":"binary"}]}',
            $requests[0]['body']
        );
        self::assertCount(2, $requests);
    }

    /** @dataProvider transports */
    public function testNotFoundIsFalse(string $transport, string $kind): void
    {
        $server = $this->server($transport, $kind, [
            'body' => '{"ok":true,"results":[{"ok":false,"error":"not found"}]}',
        ]);

        self::assertFalse($server->push(7, 'x'));
        self::assertFalse($server->getClientInfo(7));
    }

    /** @dataProvider transports */
    public function testUnauthorizedThrowsAuthenticationException(string $transport, string $kind): void
    {
        $server = $this->server($transport, $kind, [
            'status' => 401,
            'body' => '{"ok":false,"error":"missing or wrong bearer token"}',
        ]);

        $this->expectException(AuthenticationException::class);
        $this->expectExceptionMessage('refused the token (401: missing or wrong bearer token)');
        $server->broadcast('x');
    }

    /** @dataProvider transports */
    public function testWrongServiceThrowsUnexpectedResponse(string $transport, string $kind): void
    {
        $server = $this->server($transport, $kind, ['status' => 404, 'body' => 'no such page']);

        $this->expectException(UnexpectedResponseException::class);
        $this->expectExceptionMessage('(HTTP 404, body: no such page)');
        $server->broadcast('x');
    }

    /** @dataProvider transports */
    public function testTimeoutThrowsConnectionException(string $transport, string $kind): void
    {
        $server = $this->server($transport, $kind, ['delay_ms' => 900], 0.3);

        $started = microtime(true);
        try {
            $server->exist(1);
            self::fail('no timeout');
        } catch (ConnectionException $e) {
            self::assertStringContainsString('did not answer within 0.3 s', $e->getMessage());
        }
        self::assertLessThan(1.2, microtime(true) - $started);
        usleep(700_000); // let the fake finish the slow answer before the next test
    }

    /** @dataProvider transports */
    public function testTimeoutBoundsTheWholeCallNotEachRead(string $transport, string $kind): void
    {
        // ~10 pieces 100 ms apart: every read is quick, the answer is not.
        $server = $this->server($transport, $kind, ['trickle_ms' => 100], 0.3);

        try {
            $server->exist(1);
            self::fail('a trickled answer outlasted the 0.3 s timeout without an exception');
        } catch (ConnectionException $e) {
            self::assertStringContainsString('did not answer within 0.3 s', $e->getMessage());
        }
        usleep(1_500_000); // let the fake finish trickling before the next test
    }

    /** @return array<string, array{string, string}> */
    public static function rawFramings(): array
    {
        $cases = [];
        foreach (['curl', 'stream'] as $transport) {
            foreach (['chunked', 'eof'] as $framing) {
                $cases["$transport, $framing"] = [$transport, $framing];
            }
        }
        return $cases;
    }

    /** @dataProvider rawFramings */
    public function testReadsEveryFraming(string $transport, string $framing): void
    {
        $server = $this->server($transport, 'unix', ['framing' => $framing]);

        self::assertTrue($server->exist(5));
        self::assertSame(2, $server->getClientCountByGroup('lobby'));
    }

    /** @dataProvider transportNames */
    public function testHangupThrowsConnectionException(string $transport): void
    {
        $server = $this->server($transport, 'unix', ['hangup' => true]);

        $this->expectException(ConnectionException::class);
        $this->expectExceptionMessage(self::fake('unix')->address);
        $server->exist(5);
    }

    public function testCurlKeepsTheConnectionAlive(): void
    {
        $server = $this->server('curl', 'unix');

        $server->push(1, 'a');
        $server->push(2, 'b');
        $server->push(3, 'c');

        $connections = array_column($this->received(), 'connection');
        self::assertCount(3, $connections);
        self::assertCount(1, array_unique($connections), 'one connection for three calls');
    }

    public function testStreamsCloseEachConnection(): void
    {
        $server = $this->server('stream', 'unix');

        $server->push(1, 'a');
        $server->push(2, 'b');

        $requests = $this->received();
        self::assertStringContainsString("\r\nConnection: close", $requests[0]['head']);
        self::assertNotSame($requests[0]['connection'], $requests[1]['connection']);
    }

    /** @dataProvider transportNames */
    public function testLargePayloadsGoThrough(string $transport): void
    {
        $server = $this->server($transport, 'tcp');
        $data = str_repeat('0123456789abcdef', 65536);

        self::assertTrue($server->broadcast($data));

        $requests = $this->received();
        self::assertCount(1, $requests);
        self::assertStringContainsString($data, $requests[0]['body']);
        self::assertStringNotContainsStringIgnoringCase('expect:', $requests[0]['head']);
    }

    /** @dataProvider transportNames */
    public function testRefusedTcpSaysWhatToCheck(string $transport): void
    {
        $address = '127.0.0.1:' . FakeControlServer::freePort();
        $server = new Server($address, self::TOKEN, 1.0, $this->transport($transport, $address, 1.0));

        try {
            $server->push(1, 'x');
            self::fail('no exception');
        } catch (ConnectionException $e) {
            self::assertStringContainsString("Cannot reach the phpbridge control API at $address", $e->getMessage());
            self::assertStringContainsString('Is phpbridge running?', $e->getMessage());
            self::assertStringContainsString('PHPBRIDGE_CONTROL', $e->getMessage());
        }
    }

    /** @dataProvider transportNames */
    public function testMissingSocketSaysSo(string $transport): void
    {
        $address = 'unix:/nonexistent-' . bin2hex(random_bytes(4)) . '/phpbridge.sock';
        $server = new Server($address, self::TOKEN, 1.0, $this->transport($transport, $address, 1.0));

        try {
            $server->push(1, 'x');
            self::fail('no exception');
        } catch (ConnectionException $e) {
            self::assertStringContainsString($address, $e->getMessage());
            self::assertStringContainsString('The socket file does not exist', $e->getMessage());
        }
    }

    /** @dataProvider transportNames */
    public function testUnreadableSocketSaysHowToOpenIt(string $transport): void
    {
        if (function_exists('posix_geteuid') && posix_geteuid() === 0) {
            self::markTestSkipped('root opens any socket');
        }
        $fake = self::fake('unix');
        chmod(substr($fake->address, 5), 0000);
        try {
            $server = new Server($fake->address, self::TOKEN, 1.0, $this->transport($transport, $fake->address));
            $server->push(1, 'x');
            self::fail('no exception');
        } catch (ConnectionException $e) {
            self::assertStringContainsString('--control-socket-mode', $e->getMessage());
        } finally {
            chmod(substr($fake->address, 5), 0700);
        }
    }

    public function testDefaultTransportIsCurlWhenLoaded(): void
    {
        $fake = self::fake('unix');
        $fake->mode([]);
        $before = count($fake->requests());
        $server = new Server($fake->address, self::TOKEN);

        self::assertTrue($server->push(1, 'x'));
        self::assertCount($before + 1, $fake->requests());
    }
}
