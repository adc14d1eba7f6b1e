<?php

/*
 * fake_control.php is a stand-in for phpbridge's control API, run as a
 * child process by the transport tests: php fake_control.php <address> <dir>
 * with <address> "unix:/path" or "tcp:127.0.0.1:0". It records every
 * request as it came off the wire (FakeControlServer reads them) and
 * answers as <dir>/mode.json says: status, body or automatic results,
 * framing (length, chunked, eof), delay, trickling, or hanging up.
 */

declare(strict_types=1);

[$self, $address, $dir] = $argv + [null, null, null];
if (!is_string($address) || !is_string($dir)) {
    fwrite(STDERR, "usage: php fake_control.php unix:/path|tcp:host:port dir\n");
    exit(2);
}
$target = str_starts_with($address, 'unix:') ? 'unix://' . substr($address, 5) : 'tcp://' . substr($address, 4);
$server = stream_socket_server($target, $errno, $error);
if ($server === false) {
    fwrite(STDERR, "listen $target: $error\n");
    exit(1);
}
file_put_contents("$dir/address.tmp", (string) stream_socket_get_name($server, false));
rename("$dir/address.tmp", "$dir/address");

/**
 * take cuts one complete request (head + Content-Length body) off $buffer.
 *
 * @return array{head: string, body: string}|null
 */
$take = static function (string &$buffer): ?array {
    $end = strpos($buffer, "\r\n\r\n");
    if ($end === false) {
        return null;
    }
    $head = substr($buffer, 0, $end);
    $length = preg_match('/^content-length:\s*(\d+)/mi', $head, $m) === 1 ? (int) $m[1] : 0;
    if (strlen($buffer) < $end + 4 + $length) {
        return null;
    }
    $body = substr($buffer, $end + 4, $length);
    $buffer = (string) substr($buffer, $end + 4 + $length);
    return ['head' => $head, 'body' => $body];
};

/**
 * answer records the request and writes the answer; false closes the connection.
 *
 * @param resource $socket
 * @param array{head: string, body: string} $request
 */
$answer = static function (string $dir, int $connection, $socket, array $request) use (&$results): bool {
    file_put_contents("$dir/requests.jsonl", json_encode([
        'connection' => $connection,
        'head' => $request['head'],
        'body' => $request['body'],
    ]) . "\n", FILE_APPEND | LOCK_EX);
    $mode = json_decode((string) @file_get_contents("$dir/mode.json"), true) ?: [];
    usleep((int) (($mode['delay_ms'] ?? 0) * 1000));
    if (($mode['hangup'] ?? false) === true) {
        return false;
    }
    $status = (int) ($mode['status'] ?? 200);
    $body = $mode['body'] ?? null;
    if (!is_string($body)) {
        $body = json_encode(['ok' => true, 'results' => $results($request['body'])]);
    }
    $framing = $mode['framing'] ?? 'length';
    $head = "HTTP/1.1 $status X\r\nContent-Type: application/json\r\n";
    if ($framing === 'chunked') {
        $chunks = '';
        foreach (str_split($body, 7) as $piece) {
            $chunks .= dechex(strlen($piece)) . ";ext=1\r\n" . $piece . "\r\n";
        }
        $wire = $head . "Transfer-Encoding: chunked\r\n\r\n" . $chunks . "0\r\nX-Trailer: t\r\n\r\n";
    } elseif ($framing === 'eof') {
        $wire = $head . "Connection: close\r\n\r\n" . $body;
    } else {
        $wire = $head . 'Content-Length: ' . strlen($body) . "\r\n\r\n" . $body;
    }
    stream_set_blocking($socket, true);
    if (isset($mode['trickle_ms'])) {
        // an answer in small pieces, each well within a per-read timeout
        foreach (str_split($wire, 16) as $piece) {
            if (@fwrite($socket, $piece) === false) {
                break;
            }
            usleep((int) ($mode['trickle_ms'] * 1000));
        }
    } else {
        fwrite($socket, $wire);
    }
    stream_set_blocking($socket, false);
    return $framing !== 'eof' && stripos($request['head'], "\r\nconnection: close") === false;
};

/**
 * results answers each action the way phpbridge would for connections that
 * all exist: push reports every fd as sent, exist says yes.
 *
 * @return list<array<string, mixed>>
 */
$results = static function (string $body): array {
    $decoded = json_decode($body, true);
    $results = [];
    foreach (($decoded['actions'] ?? []) as $action) {
        $results[] = match ($action['op'] ?? '') {
            'push' => ['ok' => true, 'sent' => isset($action['fds']) ? count($action['fds']) : 1],
            'exist' => ['ok' => true, 'exist' => true, 'established' => true],
            'groupCount' => ['ok' => true, 'count' => 2],
            default => ['ok' => true],
        };
    }
    return $results;
};

/** @var array<int, resource> $clients */
$clients = [];
/** @var array<int, string> $buffers */
$buffers = [];
$next = 1;

while (true) {
    $read = [$server, ...array_values($clients)];
    $write = null;
    $except = null;
    if (@stream_select($read, $write, $except, 1) === false) {
        break;
    }
    foreach ($read as $socket) {
        if ($socket === $server) {
            $client = @stream_socket_accept($server, 0);
            if ($client !== false) {
                $clients[$next] = $client;
                $buffers[$next] = '';
                $next++;
            }
            continue;
        }
        $id = (int) array_search($socket, $clients, true);
        $data = fread($socket, 65536);
        if ($data === false || $data === '') {
            if (feof($socket)) {
                fclose($socket);
                unset($clients[$id], $buffers[$id]);
            }
            continue;
        }
        $buffers[$id] .= $data;
        while (($request = $take($buffers[$id])) !== null) {
            if (!$answer($dir, $id, $socket, $request)) {
                fclose($socket);
                unset($clients[$id], $buffers[$id]);
                break;
            }
        }
    }
}
