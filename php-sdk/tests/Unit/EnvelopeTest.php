<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PhpBridge\Control\Action;
use PhpBridge\Frame;
use PhpBridge\Internal\Envelope;
use PHPUnit\Framework\TestCase;

final class EnvelopeTest extends TestCase
{
    private function push(int|array $fd, string $data, int $opcode = Frame::TEXT): Action
    {
        return Action::message('push', is_int($fd) ? ['fd' => $fd] : ['fds' => $fd], $data, $opcode);
    }

    private function disconnect(int $fd, int $code = 1000, string $reason = ''): Action
    {
        return new Action('disconnect', ['fd' => $fd], null, Frame::TEXT, $reason === ''
            ? ['code' => $code] : ['code' => $code, 'reason' => $reason]);
    }

    public function testNothingIsAnEmptyOk(): void
    {
        $response = (new Envelope(7))->render();

        self::assertSame([200, [], ''], [$response->status, $response->headers, $response->body]);
    }

    public function testALoneReplyIsAPlainBody(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(7, 'welcome'));

        $response = $envelope->render(['Sec-WebSocket-Protocol' => 'chat']);

        self::assertSame(200, $response->status);
        self::assertSame(['Sec-WebSocket-Protocol' => 'chat', 'X-Phpbridge-Opcode' => 'text'], $response->headers);
        self::assertSame('welcome', $response->body);
    }

    public function testABinaryReplyIsAPlainBodyWithTheOpcodeHeader(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(7, "\xff\x00", Frame::BINARY));

        $response = $envelope->render();

        self::assertSame(['X-Phpbridge-Opcode' => 'binary'], $response->headers);
        self::assertSame("\xff\x00", $response->body);
    }

    public function testReplyThenCloseIsAPlainBodyWithTheCloseHeader(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(7, 'bye'));
        $envelope->add($this->disconnect(7, 4000, 'kicked out'));

        $response = $envelope->render();

        self::assertSame(
            ['X-Phpbridge-Opcode' => 'text', 'X-Phpbridge-Close' => '4000 kicked out'],
            $response->headers
        );
        self::assertSame('bye', $response->body);

        $closeOnly = new Envelope(7);
        $closeOnly->add($this->disconnect(7));
        self::assertSame(['X-Phpbridge-Close' => '1000'], $closeOnly->render()->headers);
        self::assertSame('', $closeOnly->render()->body);
    }

    public function testAnythingElseIsTheEnvelopeInOrder(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(7, 'welcome'));
        $envelope->add(new Action('joinGroup', ['fd' => 7, 'group' => 'lobby']));
        $envelope->add(new Action('bindUid', ['fd' => 7, 'uid' => '42']));
        $envelope->add(
            Action::message('sendToGroup', ['group' => 'lobby'], 'someone joined', Frame::TEXT, ['exclude' => [7]])
        );

        $response = $envelope->render();

        self::assertSame(200, $response->status);
        self::assertSame(['Content-Type' => 'application/vnd.phpbridge+json'], $response->headers);
        self::assertSame(
            '{"reply":{"data":"welcome","opcode":"text"},"actions":['
            . '{"op":"joinGroup","fd":7,"group":"lobby"},'
            . '{"op":"bindUid","fd":7,"uid":"42"},'
            . '{"op":"sendToGroup","group":"lobby","data":"someone joined","opcode":"text","exclude":[7]}]}',
            $response->body
        );
    }

    public function testAReplyAfterOtherActionsKeepsItsPlace(): void
    {
        $envelope = new Envelope(7);
        $envelope->add(new Action('joinGroup', ['fd' => 7, 'group' => 'lobby']));
        $envelope->add($this->push(7, "\xff", Frame::BINARY));
        $envelope->add($this->push(7, 'second'));

        self::assertSame(
            '{"actions":[{"op":"joinGroup","fd":7,"group":"lobby"},'
            . '{"op":"push","fd":7,"data_base64":"/w==","opcode":"binary"},'
            . '{"op":"push","fd":7,"data":"second","opcode":"text"}]}',
            $envelope->render()->body
        );
    }

    public function testAClosingCloseRidesOnTheHeaderEvenWithAnEnvelope(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(7, 'kicked'));
        $envelope->add(Action::message('sendToGroup', ['group' => 'lobby'], '7 was kicked', Frame::TEXT));
        $envelope->add($this->disconnect(7, 1008, 'spam'));

        $response = $envelope->render();

        self::assertSame(
            ['Content-Type' => 'application/vnd.phpbridge+json', 'X-Phpbridge-Close' => '1008 spam'],
            $response->headers
        );
        self::assertSame(
            '{"reply":{"data":"kicked","opcode":"text"},"actions":['
            . '{"op":"sendToGroup","group":"lobby","data":"7 was kicked","opcode":"text"}]}',
            $response->body
        );
    }

    public function testACloseBeforeOtherActionsStaysInOrder(): void
    {
        $envelope = new Envelope(7);
        $envelope->add(new Action('joinGroup', ['fd' => 7, 'group' => 'g']));
        $envelope->add($this->disconnect(7));
        $envelope->add(Action::message('sendToGroup', ['group' => 'g'], 'x', Frame::TEXT));

        self::assertSame(
            '{"actions":[{"op":"joinGroup","fd":7,"group":"g"},{"op":"disconnect","fd":7,"code":1000},'
            . '{"op":"sendToGroup","group":"g","data":"x","opcode":"text"}]}',
            $envelope->render()->body
        );
    }

    public function testAnEmptyMessageToItselfIsAPushAction(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(7, ''));

        $response = $envelope->render();

        // Not a reply: phpbridge sends nothing for an empty reply, and an
        // empty message is still a message (Swoole sends the empty frame).
        self::assertSame('{"actions":[{"op":"push","fd":7,"data":"","opcode":"text"}]}', $response->body);
        self::assertSame('application/vnd.phpbridge+json', $response->headers['Content-Type']);
    }

    public function testPushesToOthersMergeButNotWithTheReply(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(7, 'x'));
        $envelope->add($this->push(8, 'x'));
        $envelope->add($this->push(9, 'x'));
        $envelope->add($this->push([10, 8], 'x'));
        $envelope->add($this->push(11, 'y'));

        self::assertSame(
            '{"reply":{"data":"x","opcode":"text"},"actions":['
            . '{"op":"push","fds":[8,9],"data":"x","opcode":"text"},'
            . '{"op":"push","fds":[10,8],"data":"x","opcode":"text"},' // 8 gets it twice, as asked
            . '{"op":"push","fd":11,"data":"y","opcode":"text"}]}',
            $envelope->render()->body
        );
    }

    public function testTakeEmptiesIt(): void
    {
        $envelope = new Envelope(7);
        $envelope->add($this->push(8, 'x'));
        $envelope->add(new Action('joinGroup', ['fd' => 7, 'group' => 'g']));

        self::assertCount(1, $envelope->takeWhere(static fn (Action $a): bool => !$a->names(7)));
        self::assertCount(1, $envelope->take());
        self::assertSame([], $envelope->actions());
    }
}
