<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Dispatcher;
use PhpBridge\Exception\ConnectionException;
use PhpBridge\Exception\PhpBridgeException;
use PhpBridge\Frame;
use PhpBridge\Server;
use PhpBridge\Tests\Fixtures\Env;
use PhpBridge\Tests\Fixtures\RecordingHandler;
use PhpBridge\Transport\HttpResponse;
use PhpBridge\Transport\Transport;
use PHPUnit\Framework\TestCase;

/**
 * FailedQueryTest: a query sends the writes queued before it along; when
 * that call fails and the caller carries on, none of those writes may
 * vanish, nor may a batch's results shift.
 */
final class FailedQueryTest extends TestCase
{
    /** transport fails its first call with $failure, then answers ok. */
    private static function failingOnce(ConnectionException $failure): Transport
    {
        return new class ($failure) implements Transport {
            public int $calls = 0;

            public function __construct(private readonly ConnectionException $failure)
            {
            }

            public function post(string $path, array $headers, string $body): HttpResponse
            {
                if ($this->calls++ === 0) {
                    throw $this->failure;
                }
                $n = count(json_decode($body, true, 512, JSON_THROW_ON_ERROR)['actions']);
                return new HttpResponse(200, [], (string) json_encode(
                    ['ok' => true, 'results' => array_fill(0, $n, ['ok' => true, 'sent' => 1])]
                ));
            }
        };
    }

    /**
     * batchAroundAQuery: push(1), a query whose failure is caught, push(3).
     *
     * @return list<array<string, mixed>>
     */
    private static function batchAroundAQuery(Server $server): array
    {
        return $server->batch(function (Server $s): void {
            $s->push(1, 'a');
            try {
                $s->exist(2);
            } catch (PhpBridgeException) {
            }
            $s->push(3, 'b');
        });
    }

    public function testWritesBeforeAnUnreachableQueryStayOnTheResponse(): void
    {
        $server = new Server(Env::CONTROL, Env::TOKEN, 1.0, self::failingOnce(
            ConnectionException::unreachable(Env::CONTROL, 'connect: Connection refused')
        ));
        $handler = new RecordingHandler(message: static function (Server $s, Frame $frame): void {
            $s->joinGroup($frame->fd, 'lobby');
            try {
                $n = $s->getClientCountByGroup('lobby'); // best effort
            } catch (PhpBridgeException) {
                $n = 0;
            }
            $s->push($frame->fd, "members: $n");
        });

        $response = (new Dispatcher(Env::message(7, 'x'), $server))->dispatch($handler);

        self::assertSame(
            '{"actions":[{"op":"joinGroup","fd":7,"group":"lobby"},'
            . '{"op":"push","fd":7,"data":"members: 0","opcode":"text"}]}',
            $response->body,
            'the join that rode with the failed query is sent with the response'
        );
    }

    public function testBatchResultsStayInOrderAfterATimedOutQuery(): void
    {
        $server = new Server(Env::CONTROL, Env::TOKEN, 1.0, self::failingOnce(
            ConnectionException::timeout(Env::CONTROL, 1.0)
        ));
        $results = self::batchAroundAQuery($server);

        self::assertCount(2, $results, 'one result per write');
        self::assertFalse($results[0]['ok'], 'push(1): unknown, it went with the query that timed out');
        self::assertTrue($results[1]['ok'], 'push(3)');
    }

    public function testBatchResendsWritesAnUnreachableQueryNeverDelivered(): void
    {
        $server = new Server(Env::CONTROL, Env::TOKEN, 1.0, self::failingOnce(
            ConnectionException::unreachable(Env::CONTROL, 'connect: Connection refused')
        ));
        $results = self::batchAroundAQuery($server);

        self::assertCount(2, $results);
        self::assertTrue($results[0]['ok'] && $results[1]['ok'], 'both writes sent at the end of the batch');
    }
}
