<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Control\Action;
use PhpBridge\Control\Check;
use PhpBridge\Exception\InvalidPayloadException;
use PhpBridge\Frame;
use PHPUnit\Framework\TestCase;

final class ActionTest extends TestCase
{
    public function testEncodesPayloads(): void
    {
        self::assertSame(
            ['op' => 'push', 'fd' => 7, 'data' => '你好', 'opcode' => 'text'],
            Action::message('push', ['fd' => 7], '你好', Frame::TEXT)->toArray()
        );
        self::assertSame(
            ['op' => 'push', 'fd' => 7, 'data' => 'abc', 'opcode' => 'binary'],
            Action::message('push', ['fd' => 7], 'abc', Frame::BINARY)->toArray(),
            'binary bytes that are UTF-8 travel as data'
        );
        self::assertSame(
            ['op' => 'broadcast', 'data_base64' => '/wD+', 'opcode' => 'binary', 'exclude' => [3]],
            Action::message('broadcast', [], "\xff\x00\xfe", Frame::BINARY, ['exclude' => [3]])->toArray()
        );
    }

    public function testRefusesNonUtf8Text(): void
    {
        $this->expectException(InvalidPayloadException::class);
        $this->expectExceptionMessage('Frame::BINARY');
        Action::message('push', ['fd' => 1], "\xc3\x28", Frame::TEXT);
    }

    public function testRefusesUnknownOpcode(): void
    {
        $this->expectException(InvalidPayloadException::class);
        $this->expectExceptionMessage('Frame::TEXT (1) or Frame::BINARY (2), got 9');
        Action::message('push', ['fd' => 1], 'x', 9);
    }

    public function testMergesConsecutivePushesOfTheSameMessage(): void
    {
        $a = Action::message('push', ['fd' => 1], 'x', Frame::TEXT);
        $b = Action::message('push', ['fds' => [2, 3]], 'x', Frame::TEXT);

        self::assertSame(
            ['op' => 'push', 'fds' => [1, 2, 3], 'data' => 'x', 'opcode' => 'text'],
            $a->mergeWith($b)?->toArray()
        );
        // The same message twice to connection 1 is two messages (Swoole
        // sends both), so overlapping pushes stay apart.
        self::assertNull($a->mergeWith(Action::message('push', ['fds' => [2, 1, 3]], 'x', Frame::TEXT)));
        self::assertNull($a->mergeWith(Action::message('push', ['fd' => 2], 'y', Frame::TEXT)));
        self::assertNull($a->mergeWith(Action::message('push', ['fd' => 2], 'x', Frame::BINARY)));
        self::assertNull($a->mergeWith(new Action('joinGroup', ['fd' => 2, 'group' => 'g'])));
    }

    public function testKnowsItsTarget(): void
    {
        $push = Action::message('push', ['fds' => [5]], 'x', Frame::TEXT);
        self::assertSame(5, $push->fd());
        self::assertTrue($push->is('push', 5));
        self::assertFalse($push->is('disconnect', 5));
        self::assertTrue(Action::message('push', ['fds' => [4, 5]], 'x', Frame::TEXT)->names(5));
        self::assertNull(Action::message('push', ['fds' => [4, 5]], 'x', Frame::TEXT)->fd());
        self::assertNull((new Action('broadcast'))->fd());
    }

    /** @return array<string, array{mixed}> */
    public static function badFds(): array
    {
        return ['zero' => [0], 'negative' => [-1], 'too big' => [Check::MAX_FD + 1], 'word' => ['abc'],
            'float' => [1.5], 'null' => [null], 'padded' => [' 7']];
    }

    /** @dataProvider badFds */
    public function testRefusesBadFds(mixed $fd): void
    {
        $this->expectException(InvalidPayloadException::class);
        $this->expectExceptionMessage('positive integer below 2^53');
        Check::fd($fd);
    }

    public function testAcceptsFdsAsStrings(): void
    {
        self::assertSame(123456789012345, Check::fd('123456789012345'));
        self::assertSame([3, 1], Check::fds(['3', 1, 3]));
    }

    public function testChecksGroupsAndUids(): void
    {
        self::assertSame('42', Check::uid(42));
        self::assertSame(['a', 'b'], Check::uids(['a', 'b', 'a']));
        self::assertSame(['7'], Check::groups(7));
        $empties = [
            fn () => Check::group(''),
            fn () => Check::uid(''),
            fn () => Check::uids([]),
            fn () => Check::groups([]),
        ];
        foreach ($empties as $bad) {
            try {
                $bad();
                self::fail('accepted an empty name');
            } catch (InvalidPayloadException $e) {
                self::assertStringContainsString('empty', $e->getMessage());
            }
        }
    }

    public function testChecksCloseCodesAndReasons(): void
    {
        foreach ([1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999] as $ok) {
            self::assertSame($ok, Check::closeCode($ok));
        }
        foreach ([0, 999, 1004, 1005, 1006, 1015, 2000, 5000] as $bad) {
            try {
                Check::closeCode($bad);
                self::fail("accepted close code $bad");
            } catch (InvalidPayloadException $e) {
                self::assertStringContainsString((string) $bad, $e->getMessage());
            }
        }
        self::assertSame('a b', Check::closeReason("a\r\nb"));
        $long = Check::closeReason(str_repeat('é', 100));
        self::assertSame(122, strlen($long), 'cut at a character boundary below 123 bytes');
        self::assertTrue(mb_check_encoding($long, 'UTF-8'));
    }
}
