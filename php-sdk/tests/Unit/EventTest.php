<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Environment;
use PhpBridge\Event;
use PhpBridge\Exception\PhpBridgeException;
use PhpBridge\Frame;
use PhpBridge\Tests\Fixtures\Env;
use PHPUnit\Framework\TestCase;

final class EventTest extends TestCase
{
    public function testReadsEachEvent(): void
    {
        $open = Event::fromEnvironment(Env::open(7));
        self::assertSame(
            ['open', 7, [], null, true],
            [$open->type, $open->fd, $open->session, $open->uid, $open->uidKnown]
        );

        $message = Event::fromEnvironment(Env::message(7, 'hi', 'binary'));
        self::assertSame(['message', Frame::BINARY, [], true], [
            $message->type,
            $message->opcode,
            $message->session,
            $message->uidKnown,
        ]);

        $close = Event::fromEnvironment(Env::close(7, 1006, 'gone'));
        self::assertSame(['close', 1006, 'gone'], [$close->type, $close->closeCode, $close->closeReason]);
    }

    public function testReadsSessionAndUid(): void
    {
        $event = Event::fromEnvironment(Env::message(7, 'x', 'text', [
            'WS_SESSION' => '{"name":"李雷","room":"lobby"}',
            'WS_UID' => '42',
        ]));

        self::assertSame(['name' => '李雷', 'room' => 'lobby'], $event->session);
        self::assertSame('42', $event->uid);
        self::assertTrue($event->uidKnown);

        $none = Event::fromEnvironment(Env::message(7, 'x', 'text', ['WS_SESSION' => '', 'WS_UID' => '']));
        self::assertSame([], $none->session);
        self::assertNull($none->uid);
        self::assertTrue($none->uidKnown);

        $unreadable = Event::fromEnvironment(Env::message(7, 'x', 'text', ['WS_SESSION' => '{not json']));
        self::assertNull($unreadable->session, 'unknown: Server asks the bridge');
    }

    /** @return array<string, array{array<string, string>, string}> */
    public static function notEvents(): array
    {
        return [
            'browsed directly' => [['REQUEST_URI' => '/ws.php'], 'WS_EVENT is missing'],
            'unknown event' => [['WS_EVENT' => 'ping', 'WS_FD' => '1'], 'not open, message or close'],
            'bad fd' => [['WS_EVENT' => 'open', 'WS_FD' => '-3'], 'WS_FD "-3"'],
            'no fd' => [['WS_EVENT' => 'open'], 'WS_FD ""'],
        ];
    }

    /**
     * @dataProvider notEvents
     * @param array<string, string> $server
     */
    public function testRefusesRequestsThatAreNotEvents(array $server, string $message): void
    {
        $this->expectException(PhpBridgeException::class);
        $this->expectExceptionMessage($message);
        Event::fromEnvironment(new Environment($server));
    }

    public function testEnvironmentReadsInputLazilyOnce(): void
    {
        $reads = 0;
        $env = new Environment([], [], [], static function () use (&$reads): string {
            $reads++;
            return "bytes\x00";
        });

        self::assertSame(0, $reads);
        self::assertSame("bytes\x00", $env->input());
        self::assertSame("bytes\x00", $env->input());
        self::assertSame(1, $reads);
    }
}
