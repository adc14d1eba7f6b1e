<?php

declare(strict_types=1);

namespace PhpBridge;

use PhpBridge\Control\Action;
use PhpBridge\Control\Check;
use PhpBridge\Control\ControlClient;
use PhpBridge\Control\Result;
use PhpBridge\Exception\ConfigurationException;
use PhpBridge\Exception\PhpBridgeException;
use PhpBridge\Internal\Router;
use PhpBridge\Transport\Address;
use PhpBridge\Transport\CurlTransport;
use PhpBridge\Transport\StreamTransport;
use PhpBridge\Transport\Transport;

/**
 * Server pushes to WebSocket connections and asks about them, from
 * anywhere: a handler, a controller, a queue job, cron. Method names follow
 * Swoole\WebSocket\Server (push, exist, disconnect, getClientInfo) and
 * GatewayWorker (joinGroup, sendToGroup, bindUid, sendToUid, isUidOnline),
 * and so do the return values: false or an empty answer for a connection
 * that is gone, exceptions only for what must be fixed.
 *
 * Outside a handler every call is one request to the control API. Inside a
 * handler (see Dispatcher) writes are queued and ride on the handler's
 * response, in the order they were made, so the common "reply, join a
 * group, tell the others" costs no round trip; a query first sends the
 * queued writes along, so it sees their effect (except in onOpen, where
 * the connection only exists once the handshake completes).
 *
 * @property-read list<int> $connections all connection ids, like Swoole's $server->connections
 */
final class Server
{
    /** DEFAULT_TIMEOUT is how long a control call may take, in seconds. */
    public const DEFAULT_TIMEOUT = 3.0;

    private readonly Address $address;

    private readonly Router $router;

    /**
     * @param string $address phpbridge's --control: "unix:/path.sock" or "127.0.0.1:port"
     * @param string $token phpbridge's --control-token
     * @param float $timeout seconds a control call may take
     * @param Transport|null $transport how to reach it; default curl, or PHP streams without ext-curl
     */
    public function __construct(
        string $address,
        string $token,
        float $timeout = self::DEFAULT_TIMEOUT,
        ?Transport $transport = null,
    ) {
        if (PHP_INT_SIZE < 8) {
            throw new ConfigurationException(
                'phpbridge connection ids are 53-bit integers: the SDK needs a 64-bit PHP build.'
            );
        }
        $this->address = Address::parse($address);
        // A token read from a file often ends with a newline.
        $token = trim($token);
        if (preg_match('/[\x00-\x1f\x7f]/', $token) === 1) {
            throw new ConfigurationException(
                'The phpbridge control token contains a control character (a line break?); use the exact'
                . ' --control-token value.'
            );
        }
        if ($timeout <= 0) {
            throw new ConfigurationException(sprintf('The control API timeout must be above 0 s, got %s.', $timeout));
        }
        $transport ??= CurlTransport::supported($this->address)
            ? new CurlTransport($this->address, $timeout)
            : new StreamTransport($this->address, $timeout);
        $this->router = new Router((string) $this->address, new ControlClient($this->address, $token, $transport));
    }

    /**
     * fromEnvironment builds a Server from PHPBRIDGE_CONTROL and
     * PHPBRIDGE_TOKEN: phpbridge sets both in every request it sends to PHP
     * (WebSocket events and ordinary pages alike); cron, queue workers and
     * CLI scripts set them as environment variables. PHPBRIDGE_CONTROL_TOKEN
     * (phpbridge's own variable for --control-token) works too, and
     * PHPBRIDGE_TIMEOUT sets the timeout. Without PHPBRIDGE_CONTROL the
     * address is phpbridge's default, the unix socket phpbridge.sock in the
     * temporary directory.
     *
     * @param array<string, mixed>|null $server the params to read first; default $_SERVER
     */
    public static function fromEnvironment(?array $server = null): self
    {
        $server ??= $_SERVER;
        $address = self::setting($server, 'PHPBRIDGE_CONTROL')
            ?? 'unix:' . rtrim(sys_get_temp_dir(), '/') . '/phpbridge.sock';
        $token = self::setting($server, 'PHPBRIDGE_TOKEN') ?? self::setting($server, 'PHPBRIDGE_CONTROL_TOKEN');
        if ($token === null) {
            throw new ConfigurationException(
                'No phpbridge control token: PHPBRIDGE_TOKEN is not set. phpbridge passes it to PHP in every'
                . ' request it sends; in cron, queue workers and CLI scripts set the environment variable'
                . ' PHPBRIDGE_TOKEN to phpbridge\'s --control-token value (or pass it to new Server()).'
            );
        }
        $timeout = (float) (self::setting($server, 'PHPBRIDGE_TIMEOUT') ?? self::DEFAULT_TIMEOUT);
        return new self($address, $token, $timeout > 0 ? $timeout : self::DEFAULT_TIMEOUT);
    }

    /**
     * fromConfig builds a Server from framework config (control, token,
     * timeout keys, as in config/phpbridge.php). What phpbridge put in the
     * running request wins, since it is right for the node that runs it;
     * then the config; then the process environment and defaults, as in
     * fromEnvironment().
     *
     * @param array{control?: mixed, token?: mixed, timeout?: mixed} $config
     * @param array<string, mixed>|null $server the request params; default $_SERVER
     */
    public static function fromConfig(array $config, ?array $server = null): self
    {
        $server ??= $_SERVER;
        $params = [];
        $keys = ['PHPBRIDGE_CONTROL' => 'control', 'PHPBRIDGE_TOKEN' => 'token', 'PHPBRIDGE_TIMEOUT' => 'timeout'];
        foreach ($keys as $name => $key) {
            foreach ([$server[$name] ?? null, $config[$key] ?? null] as $value) {
                if (is_scalar($value) && (string) $value !== '') {
                    $params[$name] = (string) $value;
                    break;
                }
            }
        }
        return self::fromEnvironment($params);
    }

    /**
     * setting reads one setting from the request params, then the process
     * environment; empty counts as unset.
     *
     * @param array<string, mixed> $server
     */
    public static function setting(array $server, string $name): ?string
    {
        foreach ([$server[$name] ?? null, getenv($name), $_ENV[$name] ?? null] as $value) {
            if (is_scalar($value) && (string) $value !== '') {
                return (string) $value;
            }
        }
        return null;
    }

    /** address is the control address this Server talks to, as phpbridge spells it. */
    public function address(): string
    {
        return (string) $this->address;
    }

    // ---- messages ------------------------------------------------------

    /**
     * push sends $data to one connection, or to each of a list of them.
     * It returns false when a connection is gone (for a list: when any
     * is), like Swoole. Inside a handler it returns true once queued.
     *
     * @param int|iterable<int|string> $fd a connection id or a list of them
     * @param bool $finish ignored: messages always go out whole (Swoole signature)
     */
    public function push(int|iterable $fd, string $data, int $opcode = Frame::TEXT, bool $finish = true): bool
    {
        if (is_int($fd)) {
            $fd = Check::fd($fd);
            $target = ['fd' => $fd];
            $expected = 1;
            if ($this->isGoneInThisEvent($fd)) {
                return false;
            }
        } else {
            $fds = Check::fds($fd);
            if ($fds === []) {
                return true;
            }
            $target = ['fds' => $fds];
            $expected = count($fds);
        }
        $result = $this->router->write(Action::message('push', $target, $data, $opcode));
        return $result === null || (Result::ok($result, 'push') && Result::sent($result) >= $expected);
    }

    /**
     * broadcast sends $data to every connection (of the whole cluster),
     * except those in $exclude. It returns whether anyone got it.
     *
     * @param list<int> $exclude
     */
    public function broadcast(string $data, int $opcode = Frame::TEXT, array $exclude = []): bool
    {
        return $this->delivered(Action::message('broadcast', [], $data, $opcode, $this->exclude($exclude)));
    }

    /**
     * sendToGroup sends $data to the members of a group, or of several
     * (each connection gets it once), except those in $exclude. It returns
     * whether anyone got it.
     *
     * @param string|list<string> $group
     * @param list<int> $exclude
     */
    public function sendToGroup(string|array $group, string $data, int $opcode = Frame::TEXT, array $exclude = []): bool
    {
        $groups = Check::groups($group);
        $target = is_array($group) ? ['groups' => $groups] : ['group' => $groups[0]];
        return $this->delivered(Action::message('sendToGroup', $target, $data, $opcode, $this->exclude($exclude)));
    }

    /**
     * sendToUid sends $data to every connection bound to a uid, or to
     * several uids, except those in $exclude. It returns whether anyone got
     * it: false means the user is offline (outside handlers).
     *
     * @param int|string|list<int|string> $uid
     * @param list<int> $exclude
     */
    public function sendToUid(int|string|array $uid, string $data, int $opcode = Frame::TEXT, array $exclude = []): bool
    {
        $uids = Check::uids($uid);
        $target = is_array($uid) ? ['uids' => $uids] : ['uid' => $uids[0]];
        return $this->delivered(Action::message('sendToUid', $target, $data, $opcode, $this->exclude($exclude)));
    }

    // ---- connections ---------------------------------------------------

    /**
     * exist reports whether a connection is open. For the handler's own
     * connection it is true in onOpen (as in Swoole) and false in onClose.
     */
    public function exist(int $fd): bool
    {
        $fd = Check::fd($fd);
        $local = $this->ownConnectionState($fd);
        if ($local !== null) {
            return $local;
        }
        $result = $this->router->query(new Action('exist', ['fd' => $fd]));
        return Result::ok($result, 'exist') && ($result['exist'] ?? false) === true;
    }

    /** isEstablished reports whether a connection completed its handshake and is open (Swoole). */
    public function isEstablished(int $fd): bool
    {
        $fd = Check::fd($fd);
        $local = $this->ownConnectionState($fd);
        if ($local !== null) {
            return $local;
        }
        $result = $this->router->query(new Action('exist', ['fd' => $fd]));
        return Result::ok($result, 'exist')
            && ($result['established'] ?? $result['exist'] ?? false) === true;
    }

    /**
     * disconnect closes a connection (or each of a list) with a close code
     * and reason; its onClose runs with them. It returns false when the
     * connection was already gone.
     *
     * @param int|iterable<int|string> $fd
     */
    public function disconnect(int|iterable $fd, int $code = 1000, string $reason = ''): bool
    {
        $extra = ['code' => Check::closeCode($code)];
        $reason = Check::closeReason($reason);
        if ($reason !== '') {
            $extra['reason'] = $reason;
        }
        if (is_int($fd)) {
            $fd = Check::fd($fd);
            if ($this->isGoneInThisEvent($fd)) {
                return false;
            }
            $target = ['fd' => $fd];
        } else {
            $target = ['fds' => Check::fds($fd)];
            if ($target['fds'] === []) {
                return true;
            }
        }
        $result = $this->router->write(new Action('disconnect', $target, null, Frame::TEXT, $extra));
        return $result === null || Result::ok($result, 'disconnect');
    }

    /** close is Swoole's name for disconnect($fd) with 1000. */
    public function close(int $fd): bool
    {
        return $this->disconnect($fd);
    }

    /**
     * getClientInfo describes a connection: fd, remote_addr, connect_time,
     * last_activity, groups, uid, node, plus Swoole's remote_ip,
     * remote_port and last_time. False when the connection is gone (and in
     * onOpen, before the handshake completes).
     *
     * @return array<string, mixed>|false
     */
    public function getClientInfo(int $fd): array|false
    {
        $result = $this->router->query(new Action('info', ['fd' => Check::fd($fd)]));
        if (!Result::ok($result, 'info')) {
            return false;
        }
        unset($result['ok']);
        $remote = (string) ($result['remote_addr'] ?? '');
        $colon = strrpos($remote, ':');
        if ($colon !== false) {
            $result['remote_ip'] = trim(substr($remote, 0, $colon), '[]');
            $result['remote_port'] = (int) substr($remote, $colon + 1);
        }
        if (isset($result['last_activity'])) {
            $result['last_time'] = $result['last_activity'];
        }
        return $result;
    }

    /**
     * getClientList lists open connection ids in ascending order, from
     * after $startFd, at most $pageSize of them (0: all) — Swoole's paging.
     *
     * @return list<int>
     */
    public function getClientList(int $startFd = 0, int $pageSize = 0): array
    {
        $fds = Result::fds($this->router->query(new Action('connections')), 'connections');
        sort($fds);
        $fds = array_values(array_filter($fds, static fn (int $fd): bool => $fd > $startFd));
        return $pageSize > 0 ? array_slice($fds, 0, $pageSize) : $fds;
    }

    /** getClientCount is the number of open connections (GatewayWorker's getAllClientIdCount). */
    public function getClientCount(): int
    {
        return Result::count($this->router->query(new Action('count')), 'count');
    }

    // ---- groups --------------------------------------------------------

    /** joinGroup adds a connection to a group (created on first join). */
    public function joinGroup(int $fd, string $group): bool
    {
        return $this->simpleWrite(new Action('joinGroup', ['fd' => Check::fd($fd), 'group' => Check::group($group)]));
    }

    /** leaveGroup removes a connection from a group; closing leaves all groups anyway. */
    public function leaveGroup(int $fd, string $group): bool
    {
        return $this->simpleWrite(new Action('leaveGroup', ['fd' => Check::fd($fd), 'group' => Check::group($group)]));
    }

    /** ungroup empties a group: its connections stay open. */
    public function ungroup(string $group): bool
    {
        return $this->simpleWrite(new Action('ungroup', ['group' => Check::group($group)]));
    }

    /** getClientCountByGroup is the number of connections in a group (0 when there is no such group). */
    public function getClientCountByGroup(string $group): int
    {
        $result = $this->router->query(new Action('groupCount', ['group' => Check::group($group)]));
        return Result::count($result, 'groupCount');
    }

    /**
     * getClientIdListByGroup lists the connection ids in a group.
     *
     * @return list<int>
     */
    public function getClientIdListByGroup(string $group): array
    {
        $result = $this->router->query(new Action('groupMembers', ['group' => Check::group($group)]));
        return Result::fds($result, 'groupMembers');
    }

    /**
     * getGroupList maps each non-empty group to its number of connections.
     *
     * @return array<string, int>
     */
    public function getGroupList(): array
    {
        $result = $this->router->query(new Action('groups'));
        if (!Result::ok($result, 'groups') || !is_array($result['groups'] ?? null)) {
            return [];
        }
        $groups = [];
        foreach ($result['groups'] as $name => $count) {
            $groups[(string) $name] = (int) $count;
        }
        return $groups;
    }

    // ---- uids ----------------------------------------------------------

    /**
     * bindUid ties a connection to your user id, so sendToUid() reaches all
     * of that user's tabs and devices. A connection has one uid at a time.
     */
    public function bindUid(int $fd, int|string $uid): bool
    {
        return $this->simpleWrite(new Action('bindUid', ['fd' => Check::fd($fd), 'uid' => Check::uid($uid)]));
    }

    /** unbindUid unties a connection from a uid (logout). */
    public function unbindUid(int $fd, int|string $uid): bool
    {
        return $this->simpleWrite(new Action('unbindUid', ['fd' => Check::fd($fd), 'uid' => Check::uid($uid)]));
    }

    /** isUidOnline reports whether at least one connection is bound to the uid. */
    public function isUidOnline(int|string $uid): bool
    {
        $result = $this->router->query(new Action('isUidOnline', ['uid' => Check::uid($uid)]));
        return Result::ok($result, 'isUidOnline') && ($result['online'] ?? false) === true;
    }

    /**
     * getClientIdByUid lists the connections bound to a uid.
     *
     * @return list<int>
     */
    public function getClientIdByUid(int|string $uid): array
    {
        return Result::fds($this->router->query(new Action('uidFds', ['uid' => Check::uid($uid)])), 'uidFds');
    }

    /** getUidByClientId is the uid bound to a connection, or null. */
    public function getUidByClientId(int $fd): ?string
    {
        $fd = Check::fd($fd);
        $event = $this->router->event();
        if ($event !== null && $event->fd() === $fd && $event->uidKnown()) {
            return $event->uid();
        }
        $result = $this->router->query(new Action('fdUid', ['fd' => $fd]));
        $uid = Result::ok($result, 'fdUid') ? ($result['uid'] ?? null) : null;
        return is_scalar($uid) && (string) $uid !== '' ? (string) $uid : null;
    }

    /** getAllUidCount is the number of uids with at least one connection. */
    public function getAllUidCount(): int
    {
        return Result::count($this->router->query(new Action('uidCount')), 'uidCount');
    }

    // ---- sessions ------------------------------------------------------

    /**
     * setSession replaces a connection's session: small data (user id,
     * name, room) that phpbridge keeps with the connection and hands to
     * every later event as WS_SESSION, so handlers need no lookup.
     *
     * @param array<array-key, mixed> $session
     */
    public function setSession(int $fd, array $session): bool
    {
        return $this->simpleWrite(new Action('setSession', ['fd' => Check::fd($fd)], null, Frame::TEXT, [
            'session' => Check::session($session),
        ]));
    }

    /**
     * updateSession merges keys into a connection's session (top level,
     * like array_replace).
     *
     * @param array<array-key, mixed> $session
     */
    public function updateSession(int $fd, array $session): bool
    {
        return $this->simpleWrite(new Action('updateSession', ['fd' => Check::fd($fd)], null, Frame::TEXT, [
            'session' => Check::session($session),
        ]));
    }

    /**
     * getSession is a connection's session, [] when it has none or is gone.
     * In a handler, the event's own session is answered without a call.
     *
     * @return array<array-key, mixed>
     */
    public function getSession(int $fd): array
    {
        $fd = Check::fd($fd);
        $event = $this->router->event();
        if ($event !== null && $event->fd() === $fd && $event->session() !== null) {
            return $event->session();
        }
        $result = $this->router->query(new Action('getSession', ['fd' => $fd]));
        return Result::ok($result, 'getSession') && is_array($result['session'] ?? null)
            ? $result['session'] : [];
    }

    // ---- batching ------------------------------------------------------

    /**
     * batch runs $fn and sends every write it makes on this Server in one
     * control request (a query inside sends the writes queued so far along
     * with it). Writes inside return true; the per-action results, as in
     * docs/control-api.md (e.g. ["ok" => true, "sent" => 3]), are returned
     * in order. Inside a handler the writes already ride on the response,
     * so batch() just runs $fn and returns [].
     *
     * @param callable(self): void $fn
     * @return list<array<string, mixed>>
     */
    public function batch(callable $fn): array
    {
        return $this->router->batch(fn () => $fn($this));
    }

    /**
     * __get serves Swoole's $server->connections (a list of all connection
     * ids here; prefer broadcast() or groups to looping over it).
     */
    public function __get(string $name): mixed
    {
        if ($name === 'connections') {
            return $this->getClientList();
        }
        throw new PhpBridgeException(sprintf('PhpBridge\Server has no property $%s.', $name));
    }

    /**
     * execute sends actions straight to the control API, whatever the
     * context, and returns their results.
     *
     * @internal used by Dispatcher for what must bypass the envelope
     * @param list<Action> $actions
     * @return list<array<string, mixed>>
     */
    public function execute(array $actions): array
    {
        return $this->router->execute($actions);
    }

    // ---- plumbing ------------------------------------------------------

    /** simpleWrite runs a write whose result is ok or not found. */
    private function simpleWrite(Action $action): bool
    {
        $fd = $action->fd();
        if ($fd !== null && $this->isGoneInThisEvent($fd)) {
            return false;
        }
        $result = $this->router->write($action);
        return $result === null || Result::ok($result, $action->op);
    }

    /** delivered runs a fan-out write and reports whether anyone got it. */
    private function delivered(Action $action): bool
    {
        $result = $this->router->write($action);
        return $result === null || (Result::ok($result, $action->op) && Result::sent($result) > 0);
    }

    /**
     * @param list<int> $exclude
     * @return array<string, list<int>>
     */
    private function exclude(array $exclude): array
    {
        return $exclude === [] ? [] : ['exclude' => Check::fds($exclude)];
    }

    /**
     * ownConnectionState answers exist() for the event's own connection
     * where the bridge cannot: open (not registered before the 101) and
     * close (gone); null means ask.
     */
    private function ownConnectionState(int $fd): ?bool
    {
        $event = $this->router->event();
        if ($event === null || $event->fd() !== $fd || $event->event->type === Event::MESSAGE) {
            return null;
        }
        return $event->event->type === Event::OPEN;
    }

    /** isGoneInThisEvent: in onClose the event's connection takes no more writes. */
    private function isGoneInThisEvent(int $fd): bool
    {
        $event = $this->router->event();
        return $event !== null && $event->fd() === $fd && $event->event->type === Event::CLOSE;
    }
}
