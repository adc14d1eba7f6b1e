<?php

declare(strict_types=1);

/*
 * The front controller: phpbridge sends every path that is not a file here,
 * like nginx's try_files $uri $uri/ /index.php?$query_string. The page
 * itself is the static index.html; the one route is /api/announce.
 */

require __DIR__ . '/../bootstrap.php';

header('Content-Type: application/json; charset=utf-8');
header('Cache-Control: no-store');

$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH);
if ($path !== '/api/announce') {
    http_response_code(404);
    echo json_encode(['ok' => false, 'error' => 'not found']);
    return;
}
if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    http_response_code(405);
    header('Allow: POST');
    echo json_encode(['ok' => false, 'error' => 'POST a message field (form or JSON)']);
    return;
}

$input = $_POST;
if (str_starts_with(strtolower($_SERVER['CONTENT_TYPE'] ?? ''), 'application/json')) {
    $json = json_decode((string) file_get_contents('php://input'), true);
    $input = is_array($json) ? $json : [];
}

try {
    // phpbridge passes PHPBRIDGE_CONTROL and PHPBRIDGE_TOKEN with every
    // request, so this needs no configuration.
    $server = PhpBridge\Server::fromEnvironment();
    [$status, $body] = Chat\Announce::handle($server, $input);
} catch (PhpBridge\Exception\PhpBridgeException $e) {
    error_log('announce: ' . $e->getMessage());
    [$status, $body] = [503, ['ok' => false, 'error' => $e->getMessage()]];
}
http_response_code($status);
echo json_encode($body, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES);
