<?php

declare(strict_types=1);

// A front controller in the Laravel/ThinkPHP shape: every URL that is not a
// file in public/ arrives here with its original REQUEST_URI.
$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';

switch (true) {
    case $path === '/':
        header('Content-Type: text/html; charset=utf-8');
        echo <<<'HTML'
<!doctype html>
<html><head><meta charset="utf-8"><title>phpbridge demo</title>
<link rel="stylesheet" href="/assets/app.css"></head>
<body>
<h1>phpbridge demo</h1>
<p>This page comes from PHP-FPM through phpbridge; the stylesheet is a static file.</p>
<ul>
  <li><a href="/hello/world?greeting=Bonjour">/hello/world</a> — routed by the front controller</li>
  <li><a href="/clock">/clock</a> — Server-Sent Events, streamed as PHP flushes</li>
  <li><a href="/info">/info</a> — the CGI variables PHP received</li>
</ul>
<p>WebSocket: <span id="ws">connecting…</span></p>
<script>
const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
ws.onopen = () => ws.send('ping from the browser');
ws.onmessage = (e) => { document.getElementById('ws').textContent = e.data; };
ws.onerror = () => { document.getElementById('ws').textContent = 'not available'; };
</script>
</body></html>
HTML;
        break;

    case preg_match('#^/hello/([^/]+)$#', $path, $m) === 1:
        header('Content-Type: text/plain; charset=utf-8');
        $greeting = $_GET['greeting'] ?? 'Hello';
        echo $greeting, ', ', rawurldecode($m[1]), "!\n";
        break;

    case $path === '/clock':
        header('Content-Type: text/event-stream');
        header('Cache-Control: no-cache');
        for ($i = 0; $i < 10; $i++) {
            echo 'data: ', date('H:i:s'), "\n\n";
            flush();
            sleep(1);
        }
        break;

    case $path === '/info':
        header('Content-Type: application/json');
        $vars = array_filter(
            $_SERVER,
            fn ($k) => !in_array($k, ['PHPBRIDGE_TOKEN', 'HTTP_COOKIE', 'HTTP_AUTHORIZATION'], true),
            ARRAY_FILTER_USE_KEY
        );
        echo json_encode($vars, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
        break;

    default:
        http_response_code(404);
        header('Content-Type: text/plain; charset=utf-8');
        echo "No route for $path\n";
}
