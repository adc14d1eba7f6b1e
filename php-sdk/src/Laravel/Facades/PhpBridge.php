<?php

declare(strict_types=1);

namespace PhpBridge\Laravel\Facades;

use Illuminate\Support\Facades\Facade;
use PhpBridge\Server;

/**
 * PhpBridge is the Laravel facade of PhpBridge\Server:
 * PhpBridge::sendToUid($user->id, $json) in a controller or a job.
 *
 * @method static bool push(int|iterable $fd, string $data, int $opcode = 1, bool $finish = true)
 * @method static bool broadcast(string $data, int $opcode = 1, array $exclude = [])
 * @method static bool sendToGroup(string|array $group, string $data, int $opcode = 1, array $exclude = [])
 * @method static bool sendToUid(int|string|array $uid, string $data, int $opcode = 1, array $exclude = [])
 * @method static bool exist(int $fd)
 * @method static bool isEstablished(int $fd)
 * @method static bool disconnect(int|iterable $fd, int $code = 1000, string $reason = '')
 * @method static array|false getClientInfo(int $fd)
 * @method static array getClientList(int $startFd = 0, int $pageSize = 0)
 * @method static int getClientCount()
 * @method static bool joinGroup(int $fd, string $group)
 * @method static bool leaveGroup(int $fd, string $group)
 * @method static bool ungroup(string $group)
 * @method static int getClientCountByGroup(string $group)
 * @method static array getClientIdListByGroup(string $group)
 * @method static array getGroupList()
 * @method static bool bindUid(int $fd, int|string $uid)
 * @method static bool unbindUid(int $fd, int|string $uid)
 * @method static bool isUidOnline(int|string $uid)
 * @method static array getClientIdByUid(int|string $uid)
 * @method static string|null getUidByClientId(int $fd)
 * @method static int getAllUidCount()
 * @method static bool setSession(int $fd, array $session)
 * @method static bool updateSession(int $fd, array $session)
 * @method static array getSession(int $fd)
 * @method static array batch(callable $fn)
 *
 * @see Server
 */
final class PhpBridge extends Facade
{
    protected static function getFacadeAccessor(): string
    {
        return Server::class;
    }
}
