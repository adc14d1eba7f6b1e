<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Integration;

use PhpBridge\Tests\Fixtures\Env;
use PhpBridge\Tests\Fixtures\FakeControlServer;
use PHPUnit\Framework\TestCase;

/**
 * HandlerScriptTest runs a real handler script (tests/Fixtures/ws_app.php,
 * Dispatcher::handle()) in a separate PHP process serving HTTP, the way
 * PHP-FPM runs it for phpbridge, and checks what actually leaves PHP:
 * status line, headers, body; and that a query inside the handler reaches
 * the control API named by PHPBRIDGE_CONTROL.
 */
final class HandlerScriptTest extends TestCase
{
    /** @var resource|null */
    private static $php = null;

    private static int $port = 0;

    private static string $dir = '';

    private static ?FakeControlServer $control = null;

    public static function setUpBeforeClass(): void
    {
        self::$dir = FakeControlServer::tempDir();
        self::$port = FakeControlServer::freePort();
        self::$php = proc_open(
            [PHP_BINARY, '-d', 'error_log=' . self::$dir . '/php.log', '-d', 'log_errors=1',
                '-S', '127.0.0.1:' . self::$port, dirname(__DIR__) . '/Fixtures/ws_router.php'],
            [
                0 => ['file', '/dev/null', 'r'],
                1 => ['file', '/dev/null', 'w'],
                2 => ['file', self::$dir . '/server.log', 'w'],
            ],
            $pipes,
        );
        $deadline = microtime(true) + 10;
        while (($probe = @stream_socket_client('tcp://127.0.0.1:' . self::$port, $errno, $error, 0.2)) === false) {
            if (microtime(true) > $deadline) {
                self::fail('php -S did not start: ' . @file_get_contents(self::$dir . '/server.log'));
            }
            usleep(20_000);
        }
        fclose($probe);
        self::$control = FakeControlServer::raw('unix');
    }

    public static function tearDownAfterClass(): void
    {
        if (is_resource(self::$php)) {
            proc_terminate(self::$php);
            proc_close(self::$php);
        }
        self::$control?->stop();
        foreach (glob(self::$dir . '/*') ?: [] as $file) {
            unlink($file);
        }
        @rmdir(self::$dir);
    }

    /**
     * event sends one event to the handler script and returns the raw answer.
     *
     * @param array<string, string> $params
     * @return array{status: int, headers: array<string, list<string>>, body: string}
     */
    private function event(array $params, string $payload = ''): array
    {
        $socket = stream_socket_client('tcp://127.0.0.1:' . self::$port, $errno, $error, 5);
        self::assertNotFalse($socket, $error);
        stream_set_timeout($socket, 10);
        fwrite($socket, "POST /ws.php HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . 'X-Fcgi: ' . base64_encode((string) json_encode($params)) . "\r\n"
            . 'Content-Length: ' . strlen($payload) . "\r\n\r\n" . $payload);
        $raw = (string) stream_get_contents($socket);
        fclose($socket);
        [$head, $body] = explode("\r\n\r\n", $raw, 2) + [1 => ''];
        $lines = explode("\r\n", $head);
        $status = (int) substr((string) array_shift($lines), 9, 3);
        $headers = [];
        foreach ($lines as $line) {
            [$name, $value] = explode(':', $line, 2);
            $headers[strtolower($name)][] = trim($value);
        }
        return ['status' => $status, 'headers' => $headers, 'body' => $body];
    }

    /** @param array<string, string> $extra */
    private static function params(string $event, int $fd, array $extra = []): array
    {
        $params = ['WS_EVENT' => $event, 'WS_FD' => (string) $fd] + $extra + Env::upgrade();
        $params['HTTP_COOKIE'] = 'session=valid';
        return $params;
    }

    public function testOpenAcceptsWithReplyGroupSubprotocolAndCookie(): void
    {
        $answer = $this->event(self::params('open', 7));

        self::assertSame(200, $answer['status']);
        self::assertSame(['application/vnd.phpbridge+json'], $answer['headers']['content-type']);
        self::assertSame(['chat'], $answer['headers']['sec-websocket-protocol']);
        self::assertSame(['seen=1'], $answer['headers']['set-cookie']);
        self::assertSame(
            '{"reply":{"data":"welcome","opcode":"text"},"actions":[{"op":"joinGroup","fd":7,"group":"lobby"}]}',
            $answer['body']
        );
    }

    public function testOpenRefusesWithoutSession(): void
    {
        $params = self::params('open', 7);
        $params['HTTP_COOKIE'] = 'session=expired';

        $answer = $this->event($params);

        self::assertSame(401, $answer['status']);
        self::assertSame('log in first', $answer['body']);
    }

    public function testExitInOpenRefusesTheHandshake(): void
    {
        $params = self::params('open', 7);
        $params['HTTP_COOKIE'] = 'session=legacy';

        $answer = $this->event($params);

        self::assertSame(500, $answer['status']);
        self::assertStringNotContainsString('unauthorized', $answer['body']);
        self::assertStringContainsString('ended the request', (string) file_get_contents(self::$dir . '/php.log'));
    }

    public function testExitInMessageSendsNothing(): void
    {
        $answer = $this->event(self::params('message', 7, ['WS_OPCODE' => 'text']), 'dd');

        self::assertSame(500, $answer['status']);
        self::assertStringNotContainsString('dumped', $answer['body']);
        self::assertStringNotContainsString('debuggers', $answer['body']);
    }

    public function testMessageFanOutAndPrintedOutputIsLogged(): void
    {
        $answer = $this->event(self::params('message', 7, ['WS_OPCODE' => 'text']), 'hello 世界');

        self::assertSame(200, $answer['status']);
        self::assertSame(
            '{"actions":[{"op":"sendToGroup","group":"lobby","data":"hello 世界","opcode":"text","exclude":[7]}]}',
            $answer['body']
        );
        self::assertStringContainsString(
            'debug output that must not reach the client',
            (string) file_get_contents(self::$dir . '/php.log')
        );
    }

    public function testBinaryReplyIsPlainWithOpcodeHeader(): void
    {
        $answer = $this->event(self::params('message', 7, ['WS_OPCODE' => 'binary']), "\x01\x02\xff");

        self::assertSame(['binary'], $answer['headers']['x-phpbridge-opcode']);
        self::assertSame("\xff\x02\x01", $answer['body']);
    }

    public function testReplyAndCloseUseHeaders(): void
    {
        $answer = $this->event(self::params('message', 7, ['WS_OPCODE' => 'text']), 'bye');

        self::assertSame(['text'], $answer['headers']['x-phpbridge-opcode']);
        self::assertSame(['4000 asked to leave'], $answer['headers']['x-phpbridge-close']);
        self::assertSame('bye', $answer['body']);
    }

    public function testQueryInsideHandlerReachesTheControlApi(): void
    {
        $control = self::$control;
        self::assertNotNull($control);
        $control->mode([]);
        $before = count($control->requests());

        $answer = $this->event(self::params('message', 7, [
            'WS_OPCODE' => 'text',
            'PHPBRIDGE_CONTROL' => $control->address,
            'PHPBRIDGE_TOKEN' => 'token-from-the-bridge-0123',
        ]), 'count');

        self::assertSame('online: 2', $answer['body']);
        $requests = array_slice($control->requests(), $before);
        self::assertCount(1, $requests);
        self::assertStringContainsString("Authorization: Bearer token-from-the-bridge-0123\r\n", $requests[0]['head']);
        self::assertSame('{"actions":[{"op":"groupCount","group":"lobby"}]}', $requests[0]['body']);
    }

    public function testCloseTellsTheOthers(): void
    {
        $answer = $this->event(self::params('close', 7, ['WS_CLOSE_CODE' => '1006', 'WS_CLOSE_REASON' => '']));

        self::assertSame(
            '{"actions":[{"op":"sendToGroup","group":"lobby","data":"7 left (1006)","opcode":"text"}]}',
            $answer['body']
        );
    }

    public function testBrowsingTheScriptIsA400(): void
    {
        $answer = $this->event(['REQUEST_URI' => '/ws.php']);

        self::assertSame(400, $answer['status']);
        self::assertStringContainsString('runs only for the events phpbridge sends', $answer['body']);
    }
}
