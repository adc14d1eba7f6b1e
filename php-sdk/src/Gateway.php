<?php

declare(strict_types=1);

namespace PhpBridge;

use PhpBridge\Control\Check;
use PhpBridge\Internal\CurrentEvent;

/**
 * Gateway is a static facade with GatewayWorker's GatewayClient names, so
 * code written for `GatewayClient\Gateway` (or `GatewayWorker\Lib\Gateway`)
 * ports by changing its use line and replacing `$registerAddress` with
 * `Gateway::$controlAddress`/`Gateway::$token` (or nothing: by default the
 * facade reads PHPBRIDGE_CONTROL and PHPBRIDGE_TOKEN like
 * Server::fromEnvironment()).
 *
 * Client ids are phpbridge connection ids: integers (numeric strings are
 * accepted, since GatewayWorker code stores client ids as strings). The
 * $raw flags of GatewayWorker are accepted and ignored: phpbridge has no
 * protocol layer to bypass.
 */
final class Gateway
{
    /** controlAddress replaces GatewayWorker's $registerAddress; empty reads PHPBRIDGE_CONTROL. */
    public static string $controlAddress = '';

    /** token is phpbridge's --control-token; empty reads PHPBRIDGE_TOKEN. */
    public static string $token = '';

    /** timeout is how long a control call may take, in seconds. */
    public static float $timeout = Server::DEFAULT_TIMEOUT;

    private static ?Server $server = null;

    /** @var (\Closure(): Server)|null builds the Server on first use (a framework container) */
    private static ?\Closure $resolver = null;

    /** @var array{0: string, 1: string, 2: float}|null the settings $server was built from */
    private static ?array $builtFrom = null;

    /**
     * setServer makes the facade use $server, or the Server a closure
     * returns on first use (a framework's container: the Laravel provider
     * does this); null goes back to the static settings and environment.
     *
     * @param Server|(\Closure(): Server)|null $server
     */
    public static function setServer(Server|\Closure|null $server): void
    {
        self::$resolver = $server instanceof \Closure ? $server : null;
        self::$server = $server instanceof Server ? $server : null;
        self::$builtFrom = null;
    }

    /** server is the Server behind the facade, built on first use from the static settings or the env. */
    public static function server(): Server
    {
        $settings = [self::$controlAddress, self::$token, self::$timeout];
        if (self::$server !== null && (self::$builtFrom === null || self::$builtFrom === $settings)) {
            return self::$server;
        }
        $untouched = self::$controlAddress === '' && self::$token === '';
        if (self::$resolver !== null && $untouched) {
            return self::$server = (self::$resolver)();
        }
        // The static settings win over what the request or the environment say.
        self::$server = Server::fromEnvironment(array_filter([
            'PHPBRIDGE_CONTROL' => self::$controlAddress,
            'PHPBRIDGE_TOKEN' => self::$token,
            'PHPBRIDGE_TIMEOUT' => (string) self::$timeout,
        ], static fn (string $v): bool => $v !== '') + $_SERVER);
        self::$builtFrom = $settings;
        return self::$server;
    }

    /**
     * sendToAll sends to everyone, or to the listed clients only, except
     * the excluded ones.
     *
     * @param array<int|string>|null $clientIdArray
     * @param int|string|array<int|string>|null $excludeClientId
     */
    public static function sendToAll(
        string $message,
        ?array $clientIdArray = null,
        int|string|array|null $excludeClientId = null,
        bool $raw = false,
    ): bool {
        $exclude = self::ids($excludeClientId);
        if ($clientIdArray !== null) {
            return self::server()->push(array_diff(Check::fds($clientIdArray), $exclude), $message);
        }
        return self::server()->broadcast($message, Frame::TEXT, $exclude);
    }

    public static function sendToClient(int|string $clientId, string $message, bool $raw = false): bool
    {
        return self::server()->push(Check::fd($clientId), $message);
    }

    /** sendToCurrentClient replies to the connection of the running event; false outside a handler. */
    public static function sendToCurrentClient(string $message, bool $raw = false): bool
    {
        $event = CurrentEvent::active();
        return $event !== null && self::server()->push($event->fd(), $message);
    }

    /** @param int|string|array<int|string> $uid */
    public static function sendToUid(int|string|array $uid, string $message, bool $raw = false): bool
    {
        return self::server()->sendToUid($uid, $message);
    }

    /**
     * @param string|array<string> $group
     * @param int|string|array<int|string>|null $excludeClientId
     */
    public static function sendToGroup(
        string|array $group,
        string $message,
        int|string|array|null $excludeClientId = null,
        bool $raw = false,
    ): bool {
        return self::server()->sendToGroup($group, $message, Frame::TEXT, self::ids($excludeClientId));
    }

    public static function joinGroup(int|string $clientId, int|string $group): bool
    {
        return self::server()->joinGroup(Check::fd($clientId), (string) $group);
    }

    public static function leaveGroup(int|string $clientId, int|string $group): bool
    {
        return self::server()->leaveGroup(Check::fd($clientId), (string) $group);
    }

    public static function ungroup(int|string $group): bool
    {
        return self::server()->ungroup((string) $group);
    }

    public static function bindUid(int|string $clientId, int|string $uid): bool
    {
        return self::server()->bindUid(Check::fd($clientId), $uid);
    }

    public static function unbindUid(int|string $clientId, int|string $uid): bool
    {
        return self::server()->unbindUid(Check::fd($clientId), $uid);
    }

    /** isUidOnline returns 1 or 0, as GatewayWorker does. */
    public static function isUidOnline(int|string $uid): int
    {
        return self::server()->isUidOnline($uid) ? 1 : 0;
    }

    /** isOnline returns 1 or 0, as GatewayWorker does. */
    public static function isOnline(int|string $clientId): int
    {
        return self::server()->exist(Check::fd($clientId)) ? 1 : 0;
    }

    /** @return list<int> */
    public static function getClientIdByUid(int|string $uid): array
    {
        return self::server()->getClientIdByUid($uid);
    }

    public static function getUidByClientId(int|string $clientId): ?string
    {
        return self::server()->getUidByClientId(Check::fd($clientId));
    }

    public static function getClientCountByGroup(int|string $group): int
    {
        return self::server()->getClientCountByGroup((string) $group);
    }

    /**
     * getClientIdListByGroup maps each client id of the group to itself, as
     * GatewayWorker does.
     *
     * @return array<int, int>
     */
    public static function getClientIdListByGroup(int|string $group): array
    {
        $fds = self::server()->getClientIdListByGroup((string) $group);
        return $fds === [] ? [] : array_combine($fds, $fds);
    }

    public static function getAllClientIdCount(): int
    {
        return self::server()->getClientCount();
    }

    /** getAllClientCount is GatewayWorker's older name of getAllClientIdCount. */
    public static function getAllClientCount(): int
    {
        return self::server()->getClientCount();
    }

    /** @return array<int, int> client id => client id */
    public static function getAllClientIdList(): array
    {
        $fds = self::server()->getClientList();
        return $fds === [] ? [] : array_combine($fds, $fds);
    }

    public static function getAllUidCount(): int
    {
        return self::server()->getAllUidCount();
    }

    /** @return list<string> the names of the non-empty groups */
    public static function getAllGroupIdList(): array
    {
        return array_map('strval', array_keys(self::server()->getGroupList()));
    }

    /** closeClient sends $message first when given, then closes the connection. */
    public static function closeClient(int|string $clientId, ?string $message = null): bool
    {
        $fd = Check::fd($clientId);
        if ($message !== null) {
            self::server()->push($fd, $message);
        }
        return self::server()->disconnect($fd);
    }

    /**
     * closeCurrentClient closes the connection of the running event; in
     * onWebSocketConnect it refuses the handshake (403), as closing does in
     * GatewayWorker.
     */
    public static function closeCurrentClient(): bool
    {
        $event = CurrentEvent::active();
        if ($event === null) {
            return false;
        }
        if ($event->request !== null) {
            $event->request->reject(403);
            return true;
        }
        return self::server()->disconnect($event->fd());
    }

    /** @param array<array-key, mixed> $session */
    public static function setSession(int|string $clientId, array $session): bool
    {
        return self::server()->setSession(Check::fd($clientId), $session);
    }

    /** @param array<array-key, mixed> $session */
    public static function updateSession(int|string $clientId, array $session): bool
    {
        return self::server()->updateSession(Check::fd($clientId), $session);
    }

    /** @return array<array-key, mixed> */
    public static function getSession(int|string $clientId): array
    {
        return self::server()->getSession(Check::fd($clientId));
    }

    /**
     * @param int|string|array<int|string>|null $ids
     * @return list<int>
     */
    private static function ids(int|string|array|null $ids): array
    {
        if ($ids === null) {
            return [];
        }
        return Check::fds(is_array($ids) ? $ids : [$ids]);
    }
}
