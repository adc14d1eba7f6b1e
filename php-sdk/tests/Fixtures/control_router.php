<?php

/*
 * control_router.php is the router script of `php -S` posing as phpbridge's
 * control API over TCP: it records each request (method, URI, headers,
 * body) in $FAKE_DIR/requests.jsonl and answers as $FAKE_DIR/mode.json says.
 */

declare(strict_types=1);

$dir = (string) getenv('FAKE_DIR');
$body = (string) file_get_contents('php://input');
$headers = [];
foreach (getallheaders() as $name => $value) {
    $headers[strtolower((string) $name)] = $value;
}
file_put_contents("$dir/requests.jsonl", json_encode([
    'method' => $_SERVER['REQUEST_METHOD'],
    'uri' => $_SERVER['REQUEST_URI'],
    'protocol' => $_SERVER['SERVER_PROTOCOL'],
    'headers' => $headers,
    'body' => $body,
]) . "\n", FILE_APPEND | LOCK_EX);

$mode = json_decode((string) @file_get_contents("$dir/mode.json"), true) ?: [];
usleep((int) (($mode['delay_ms'] ?? 0) * 1000));
http_response_code((int) ($mode['status'] ?? 200));
header('Content-Type: application/json');
if (is_string($mode['body'] ?? null)) {
    echo $mode['body'];
    return;
}
$results = [];
foreach ((json_decode($body, true)['actions'] ?? []) as $action) {
    $results[] = ($action['op'] ?? '') === 'push'
        ? ['ok' => true, 'sent' => isset($action['fds']) ? count($action['fds']) : 1]
        : ['ok' => true];
}
$answer = (string) json_encode(['ok' => true, 'results' => $results]);
if (isset($mode['trickle_ms'])) {
    // the answer in small pieces, each well within a per-read timeout
    foreach (str_split(str_repeat(' ', 64) . $answer, 16) as $piece) {
        echo $piece;
        flush();
        usleep((int) ($mode['trickle_ms'] * 1000));
    }
    return;
}
echo $answer;
